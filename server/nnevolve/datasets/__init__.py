"""Datasets: load a dataset spec into deterministic train / validation / test splits.

Specs: ``digits`` (scikit-learn, offline, the default), ``mnist``, ``fashion-mnist``,
``cifar10`` (torchvision, downloaded into ``data_dir``), ``idx:DIR``, ``npz:PATH``,
``folder:PATH`` and ``module:pkg.mod:callable``.
"""

from __future__ import annotations

from pathlib import Path

from nnevolve.datasets.errors import DatasetError
from nnevolve.datasets.splits import DatasetSplits, make_splits
from nnevolve.user_cache import user_cache_dir

__all__ = ["SPEC_HELP", "DatasetError", "DatasetSplits", "default_data_dir", "load_dataset"]

SPEC_HELP = ("digits, mnist, fashion-mnist, cifar10, idx:DIR, npz:PATH, folder:PATH "
             "or module:pkg.mod:callable")


def default_data_dir() -> Path:
    """Where downloaded data sets live: ``$XDG_CACHE_HOME/nnevolve/data`` (``~/.cache/...``)."""
    return user_cache_dir() / "data"


def load_dataset(spec: str, *, seed: int = 0, data_dir: Path | None = None,
                 val_fraction: float = 0.2, max_train: int | None = None,
                 max_val: int | None = None) -> DatasetSplits:
    """Load ``spec`` and split it deterministically for ``seed``.

    The validation split is carved from the training data (``val_fraction`` of it);
    a test split exists only where the source has one (torchvision sets, t10k idx files
    next to train ones, ``x_test`` in an .npz, ``train/`` + ``test/`` image folders, or a
    callable's second value). Raises :class:`DatasetError` with a one-line message.
    """
    kind, sep, argument = spec.strip().partition(":")
    kind = kind.lower()
    if sep and not argument:
        raise DatasetError(f"dataset '{spec}' needs a value after '{kind}:'")
    if kind == "digits" and not sep:
        from nnevolve.datasets.digits import load_digits_arrays

        x, y = load_digits_arrays()
        parts: tuple = (x, y, None, None)
    elif kind in ("mnist", "fashion-mnist", "cifar10") and not sep:
        from nnevolve.datasets.torchvision_sets import load_torchvision_set

        parts = load_torchvision_set(kind, Path(data_dir or default_data_dir()).expanduser())
    elif kind == "idx" and sep:
        from nnevolve.datasets.idx import load_idx_folder

        parts = load_idx_folder(_path(argument))
    elif kind == "npz" and sep:
        from nnevolve.datasets.npz import load_npz

        parts = load_npz(_path(argument))
    elif kind == "folder" and sep:
        from nnevolve.datasets.folder import load_image_folder

        parts = load_image_folder(_path(argument))
    elif kind == "module" and sep:
        from nnevolve.datasets.module import load_module_dataset

        parts = load_module_dataset(argument)
    else:
        raise DatasetError(f"unknown dataset '{spec}': use {SPEC_HELP}")
    return make_splits(spec.strip(), *parts, seed=seed, val_fraction=val_fraction,
                       max_train=max_train, max_val=max_val)


def _path(argument: str) -> Path:
    return Path(argument).expanduser()
