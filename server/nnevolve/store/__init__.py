"""The run store: runs, variants and the evaluation cache in one SQLite file."""

from __future__ import annotations

from nnevolve.store.records import MAX_CONFIRM_SEEDS, Evaluation, RunCounts, RunRecord, Variant
from nnevolve.store.run_store import (
    DEFAULT_STORE,
    RunStore,
    default_store_path,
    mean_evaluation,
    new_run_id,
)
from nnevolve.store.schema import SCHEMA_VERSION, StoreError

__all__ = [
    "DEFAULT_STORE",
    "MAX_CONFIRM_SEEDS",
    "SCHEMA_VERSION",
    "Evaluation",
    "RunCounts",
    "RunRecord",
    "RunStore",
    "StoreError",
    "Variant",
    "default_store_path",
    "mean_evaluation",
    "new_run_id",
]
