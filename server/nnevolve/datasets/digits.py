"""scikit-learn's digits: 1,797 8×8 grey images of 10 digits, bundled with scikit-learn (offline)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Return images shaped (N, 1, 8, 8) scaled to [0, 1] and their labels."""
    bunch = load_digits()
    # pixel values are 0..16 in this data set
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return images, bunch.target.astype(np.int64)
