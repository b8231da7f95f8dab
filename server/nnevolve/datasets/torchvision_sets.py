"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision, downloaded once into a data folder."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np

from nnevolve.datasets.errors import DatasetError
from nnevolve.error_text import one_line

# spec -> (torchvision class name, folder torchvision keeps the files in, below data_dir)
TORCHVISION_SETS = {
    "mnist": ("MNIST", "MNIST/raw"),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py"),
}


def load_torchvision_set(spec: str, data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x, y, x_test, y_test)`` as uint8 images (N, C, H, W) and labels.

    torchvision downloads the files into ``data_dir`` the first time (a no-op when they are
    there already); its progress messages go to stderr so a language server's stdout stays clean.
    """
    import torchvision.datasets

    class_name, folder = TORCHVISION_SETS[spec]
    dataset_class = getattr(torchvision.datasets, class_name)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(sys.stderr):
            train = dataset_class(str(data_dir), train=True, download=True)
            test = dataset_class(str(data_dir), train=False, download=True)
    except Exception as exc:  # noqa: BLE001  (network errors, corrupt archives, unwritable folders)
        raise DatasetError(f"could not load {spec} into {data_dir} ({one_line(exc)}); without "
                           f"a network, copy torchvision's files into {data_dir / folder}") from None
    return (*_images_and_labels(train), *_images_and_labels(test))


def _images_and_labels(dataset: object) -> tuple[np.ndarray, np.ndarray]:
    # read the arrays torchvision keeps, instead of one PIL image per item
    data = dataset.data  # type: ignore[attr-defined]
    images = data.numpy() if hasattr(data, "numpy") else np.asarray(data)
    if images.ndim == 3:  # MNIST-like (N, H, W)
        images = images[:, None, :, :]
    else:  # CIFAR keeps (N, H, W, C)
        images = images.transpose(0, 3, 1, 2)
    targets = dataset.targets  # type: ignore[attr-defined]
    labels = targets.numpy() if hasattr(targets, "numpy") else np.asarray(targets)
    return np.ascontiguousarray(images), labels.astype(np.int64)
