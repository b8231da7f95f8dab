"""MNIST-format idx files (``train-images-idx3-ubyte[.gz]`` ...), parsed with numpy."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from nnevolve.datasets.errors import DatasetError

# idx type byte -> numpy dtype (big-endian where it matters)
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: Path) -> np.ndarray:
    """Read one idx file (gzip-compressed or not, told apart by content) into an array."""
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path} is not a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is not an idx file (truncated header)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(f"{path} is not a valid idx file (header says {expected} bytes of "
                           f"data for shape {shape}, found {len(raw) - header})")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, prefix: str, kind: str) -> Path | None:
    # accepts train-images-idx3-ubyte, train-images.idx3-ubyte, ... with or without .gz
    matches = sorted(p for p in folder.glob(f"{prefix}-{kind}*idx*-ubyte*") if p.is_file())
    return matches[0] if matches else None


def _pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray] | None:
    images, labels = _find(folder, prefix, "images"), _find(folder, prefix, "labels")
    if images is None and labels is None:
        return None
    if images is None or labels is None:
        missing = f"{prefix}-images-idx3-ubyte" if images is None else f"{prefix}-labels-idx1-ubyte"
        raise DatasetError(f"dataset folder {folder} has no {missing}[.gz] to go with its "
                           f"other {prefix} file")
    x, y = read_idx(images), read_idx(labels)
    if len(x) != len(y):
        raise DatasetError(f"{images.name} has {len(x)} images but {labels.name} has {len(y)} labels")
    return x, y


def load_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return ``(x, y, x_test, y_test)``; with only one of train-*/t10k-* it is the train part."""
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist")
    train, test = _pair(folder, "train"), _pair(folder, "t10k")
    if train is None and test is None:
        raise DatasetError(f"dataset folder {folder} has no idx files "
                           "(expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])")
    if train is None:  # only the test files: they become the data the validation split is carved from
        return test[0], test[1], None, None
    return train[0], train[1], *(test if test is not None else (None, None))
