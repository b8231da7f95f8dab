"""A NumPy ``.npz`` file with arrays ``x``, ``y`` and optionally ``x_test``, ``y_test``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from nnevolve.datasets.errors import DatasetError


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return ``(x, y, x_test, y_test)``; the test pair is None when the file has none."""
    if not path.is_file():
        raise DatasetError(f"dataset file {path} does not exist")
    try:
        # allow_pickle=False: an .npz from elsewhere must not run code when loaded
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            missing = {"x", "y"} - names
            if missing:
                raise DatasetError(f"{path} has no array {' or '.join(sorted(missing))} "
                                   f"(found: {', '.join(sorted(names)) or 'nothing'})")
            has_test = {"x_test", "y_test"} <= names
            if not has_test and names & {"x_test", "y_test"}:
                raise DatasetError(f"{path} has only one of x_test / y_test")
            return (data["x"], data["y"], data["x_test"] if has_test else None,
                    data["y_test"] if has_test else None)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path} is not a readable .npz file ({exc})") from None
