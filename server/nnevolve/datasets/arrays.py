"""Turn what a loader found (raw arrays, torch Datasets, PIL images) into model-ready arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnevolve.datasets.errors import DatasetError


def as_images(x: Any, where: str) -> np.ndarray:
    """Return float32 samples shaped ``(N, C, H, W)`` or ``(N, F)``; uint8 pixels scaled to [0, 1].

    ``(N, H, W)`` gets a channel axis; ``(N, H, W, C)`` with C in {1, 3, 4} (and a larger
    second axis) is moved to channels-first, the layout torch layers expect.
    """
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DatasetError(f"{where}: samples must be numeric arrays, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise DatasetError(f"{where}: samples must have shape (N, features) or (N, H, W[, C]), "
                           f"got {arr.shape}")
    if arr.ndim == 3:
        arr = arr[:, None, :, :]
    elif arr.ndim == 4 and arr.shape[3] in (1, 3, 4) and arr.shape[1] not in (1, 3, 4):
        arr = arr.transpose(0, 3, 1, 2)
    scaled = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
    return np.ascontiguousarray(scaled)


def as_labels(y: Any, where: str) -> np.ndarray:
    """Return labels as a 1-D array of class ids (ints, or strings/other values to be encoded)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DatasetError(f"{where}: labels must be a 1-D array of class ids, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0]
            raise DatasetError(f"{where}: labels must be class ids, got a non-integer value {bad}")
        arr = arr.astype(np.int64)
    return arr


def encode_labels(*label_arrays: np.ndarray | None) -> tuple[list[np.ndarray | None], int]:
    """Map labels to int64 ids in ``[0, num_classes)``, shared across all given arrays.

    Non-negative integers are kept as they are (so class 3 stays class 3); anything else
    (strings, negative ids) is encoded in sorted order.
    """
    present = [a for a in label_arrays if a is not None and len(a)]
    joined = np.concatenate(present) if present else np.zeros(0, dtype=np.int64)
    if np.issubdtype(joined.dtype, np.integer) and (joined.size == 0 or joined.min() >= 0):
        num_classes = int(joined.max()) + 1 if joined.size else 0
        return [None if a is None else a.astype(np.int64) for a in label_arrays], num_classes
    classes = np.unique(joined)
    encoded = [None if a is None else np.searchsorted(classes, a).astype(np.int64)
               for a in label_arrays]
    return encoded, len(classes)


def dataset_to_arrays(dataset: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Read every ``(sample, label)`` item of a torch-style Dataset (or an ``(x, y)`` pair) into arrays."""
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        x, y = dataset
        if _is_array_like(x) and _is_array_like(y):
            if len(x) != len(y):
                raise DatasetError(f"{where}: x has {len(x)} samples but y has {len(y)} labels")
            return _to_numpy(x), _to_numpy(y)
    tensors = getattr(dataset, "tensors", None)  # TensorDataset: no need to iterate
    if isinstance(tensors, tuple) and len(tensors) == 2:
        return _to_numpy(tensors[0]), _to_numpy(tensors[1])
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise DatasetError(f"{where}: expected a torch Dataset or an (x, y) pair of arrays, "
                           f"got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise DatasetError(f"{where}: the dataset is empty")
    xs, ys = [], []
    for index in range(len(dataset)):
        item = dataset[index]
        if not (isinstance(item, (tuple, list)) and len(item) >= 2):
            raise DatasetError(f"{where}: item {index} is not a (sample, label) pair")
        xs.append(_to_numpy(item[0]))
        ys.append(np.asarray(_to_numpy(item[1])).reshape(()))
    shapes = {a.shape for a in xs}
    if len(shapes) > 1:
        raise DatasetError(f"{where}: samples have different shapes {sorted(shapes)[:3]}")
    return np.stack(xs), np.stack(ys)


def _is_array_like(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "__len__")


def _to_numpy(value: Any) -> np.ndarray:
    # torch tensors expose .numpy(); detach first in case they require grad
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
