"""An image-folder tree (``PATH/<class>/<image>``, or ``PATH/train/...`` + ``PATH/test/...``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnevolve.datasets.errors import DatasetError

_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def load_image_folder(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return ``(x, y, x_test, y_test)`` as uint8 arrays and class ids (torchvision's ImageFolder order).

    All images get the size of the first one when their sizes differ (native size otherwise);
    they are grey (1 channel) when every image is grey, RGB (3 channels) otherwise.
    """
    if not path.is_dir():
        raise DatasetError(f"image folder {path} does not exist")
    train_dir, test_dir = path / "train", path / "test"
    if _has_subfolders(train_dir) and _has_subfolders(test_dir):
        train, test = _samples(train_dir), _samples(test_dir)
        if train[1] != test[1]:
            raise DatasetError(f"{train_dir} and {test_dir} have different class folders")
        x, x_test = _read_images([p for p, _ in train[0]], [p for p, _ in test[0]])
        return (x, np.array([c for _, c in train[0]]), x_test,
                np.array([c for _, c in test[0]]))
    samples, _ = _samples(path)
    (x,) = _read_images([p for p, _ in samples])
    return x, np.array([c for _, c in samples]), None, None


def _has_subfolders(folder: Path) -> bool:
    # a two-class tree whose classes happen to be named train/test holds images, not folders
    return folder.is_dir() and any(p.is_dir() for p in folder.iterdir())


def _samples(root: Path) -> tuple[list[tuple[str, int]], list[str]]:
    from torchvision.datasets import ImageFolder

    try:
        found = ImageFolder(str(root))
    except (FileNotFoundError, RuntimeError) as exc:
        raise DatasetError(f"image folder {root}: {str(exc).splitlines()[0]}") from None
    return found.samples, found.classes


def _read_images(*groups: list[str]) -> list[np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    opened: list[list[Image.Image]] = []
    for group in groups:
        images = []
        for name in group:
            try:
                with Image.open(name) as image:
                    image.load()
                    images.append(image.copy())
            except (UnidentifiedImageError, OSError) as exc:
                raise DatasetError(f"cannot read image {name} ({exc})") from None
        opened.append(images)
    everything = [image for images in opened for image in images]
    size = everything[0].size
    mode = "L" if all(image.mode in _GREY_MODES for image in everything) else "RGB"
    return [np.stack([np.asarray(_conform(image, mode, size)) for image in images])
            for images in opened]


def _conform(image: object, mode: str, size: tuple[int, int]) -> object:
    from PIL import Image

    converted = image.convert(mode)
    return converted if converted.size == size else converted.resize(size, Image.BILINEAR)
