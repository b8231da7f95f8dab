"""A dataset returned by the user's own Python callable: ``module:pkg.mod:callable``."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nnevolve.datasets.arrays import dataset_to_arrays
from nnevolve.datasets.errors import DatasetError
from nnevolve.error_text import one_line


def load_module_dataset(target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Call ``pkg.mod:callable()`` (or ``pkg.mod.callable``), which returns ``(train, test)``.

    Each part is a torch Dataset of ``(sample, label)`` items or an ``(x, y)`` pair of
    arrays; ``test`` may be None.
    """
    module_name, sep, attribute = target.rpartition(":")
    if not sep:
        module_name, _, attribute = target.rpartition(".")
    if not module_name or not attribute:
        raise DatasetError(f"module dataset '{target}' must look like module:pkg.mod:callable")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001  (user code: any error becomes a DatasetError)
        raise DatasetError(f"cannot import {module_name} for dataset module:{target} "
                           f"({one_line(exc)})") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise DatasetError(f"{module_name} has no callable {attribute} (dataset module:{target})")
    try:
        returned: Any = function()
    except Exception as exc:  # noqa: BLE001  (user code: any error becomes a DatasetError)
        raise DatasetError(f"dataset module:{target} failed: {one_line(exc)}") from None
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        raise DatasetError(f"dataset module:{target} must return (train, test), "
                           f"got {type(returned).__name__}")
    train, test = returned
    x, y = dataset_to_arrays(train, f"module:{target} (train)")
    if test is None:
        return x, y, None, None
    x_test, y_test = dataset_to_arrays(test, f"module:{target} (test)")
    return x, y, x_test, y_test
