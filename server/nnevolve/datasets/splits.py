"""Deterministic train / validation / test splits, their fingerprint, and their on-disk copy."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from nnevolve.datasets.arrays import as_images, as_labels, encode_labels
from nnevolve.datasets.errors import DatasetError

_ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


@dataclass
class DatasetSplits:
    """A dataset ready for training: float32 samples, int64 labels, three splits."""

    spec: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    input_shape: tuple[int, ...]
    num_classes: int
    fingerprint: str

    def describe(self) -> str:
        """One line for progress displays: ``digits: 1437 train / 360 val, (1, 8, 8), 10 classes``."""
        test = f" / {len(self.y_test)} test" if self.y_test is not None else ""
        return (f"{self.spec}: {len(self.y_train)} train / {len(self.y_val)} val{test}, "
                f"input {self.input_shape}, {self.num_classes} classes")


def make_splits(spec: str, x: object, y: object, x_test: object = None, y_test: object = None, *,
                seed: int, val_fraction: float, max_train: int | None,
                max_val: int | None) -> DatasetSplits:
    """Carve a validation split from ``(x, y)`` and build a :class:`DatasetSplits`.

    The split is stratified when every class allows it and seeded by ``seed``; the
    train and validation parts are then cut to ``max_train`` / ``max_val``. Indices are
    chosen before any float conversion, so large uint8 sets are only converted once.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    for name, limit in (("max_train", max_train), ("max_val", max_val)):
        if limit is not None and limit < 1:
            raise DatasetError(f"{name} must be at least 1, got {limit}")
    x_all, y_all = np.asarray(x), as_labels(y, spec)
    if len(x_all) != len(y_all):
        raise DatasetError(f"{spec}: {len(x_all)} samples but {len(y_all)} labels")
    if len(y_all) < 2:
        raise DatasetError(f"{spec}: {len(y_all)} samples; at least 2 are needed to carve a "
                           "validation split")
    n_val = min(len(y_all) - 1, max(1, round(len(y_all) * val_fraction)))
    train_idx, val_idx = _split_indices(y_all, n_val, seed)
    train_idx, val_idx = train_idx[:max_train], val_idx[:max_val]

    labels_test = None
    if x_test is not None and y_test is not None:
        labels_test = as_labels(y_test, f"{spec} (test split)")
        if len(np.asarray(x_test)) != len(labels_test):
            raise DatasetError(f"{spec}: the test split has {len(np.asarray(x_test))} samples but "
                               f"{len(labels_test)} labels")
    (y_tr, y_va, y_te), num_classes = encode_labels(y_all[train_idx], y_all[val_idx], labels_test)
    if num_classes < 2:
        raise DatasetError(f"{spec}: found {num_classes} class; at least 2 are needed")
    x_tr = as_images(x_all[train_idx], spec)
    x_va = as_images(x_all[val_idx], spec)
    x_te = as_images(x_test, f"{spec} (test split)") if labels_test is not None else None
    if x_te is not None and x_te.shape[1:] != x_tr.shape[1:]:
        raise DatasetError(f"{spec}: test samples have shape {x_te.shape[1:]}, training samples "
                           f"{x_tr.shape[1:]}")
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_val": x_va, "y_val": y_va,
              "x_test": x_te, "y_test": y_te}
    return DatasetSplits(spec=spec, **arrays, input_shape=tuple(int(d) for d in x_tr.shape[1:]),
                         num_classes=num_classes, fingerprint=_fingerprint(arrays, seed))


def _split_indices(y: np.ndarray, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    indices = np.arange(len(y))
    try:
        train, val = train_test_split(indices, test_size=n_val, random_state=seed, stratify=y)
    except ValueError:  # a class with a single sample, or fewer validation slots than classes
        train, val = train_test_split(indices, test_size=n_val, random_state=seed)
    return np.asarray(train), np.asarray(val)


def _fingerprint(arrays: dict[str, np.ndarray | None], seed: int) -> str:
    # hash the data itself: an edited file or another seed/size gives a new id, a moved one does not
    digest = hashlib.blake2b(f"nnevolve-splits-v1;seed={seed}".encode(), digest_size=16)
    for name in _ARRAYS:
        arr = arrays[name]
        shape = "none" if arr is None else f"{arr.dtype.str}{arr.shape}"
        digest.update(f";{name}={shape}".encode())
        if arr is not None:
            digest.update(np.ascontiguousarray(arr).data)
    return digest.hexdigest()


def save_splits(splits: DatasetSplits, folder: Path) -> None:
    """Write the splits as ``.npy`` files plus ``meta.json`` (for worker processes to map)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in _ARRAYS:
        arr = getattr(splits, name)
        if arr is not None:
            np.save(folder / f"{name}.npy", arr)
    meta = {"spec": splits.spec, "input_shape": list(splits.input_shape),
            "num_classes": splits.num_classes, "fingerprint": splits.fingerprint}
    (folder / "meta.json").write_text(json.dumps(meta))


def open_saved_splits(folder: Path) -> DatasetSplits:
    """Map splits written by :func:`save_splits` (copy-on-write, shared pages between workers)."""
    meta = json.loads((folder / "meta.json").read_text())
    arrays = {name: (np.load(folder / f"{name}.npy", mmap_mode="c")
                     if (folder / f"{name}.npy").exists() else None) for name in _ARRAYS}
    return DatasetSplits(spec=meta["spec"], **arrays, input_shape=tuple(meta["input_shape"]),
                         num_classes=meta["num_classes"], fingerprint=meta["fingerprint"])


def redraw_indices(y_train: np.ndarray, y_val: np.ndarray,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Another train / validation split of the same samples, seeded by ``seed``: indices into
    the training samples followed by the validation ones, with the same sizes (stratified
    when every class allows it). A confirmation seed measures a network on its own split, so
    a mean over seeds averages the luck of the validation split too."""
    return _split_indices(np.concatenate([np.asarray(y_train), np.asarray(y_val)]), len(y_val),
                          seed)

