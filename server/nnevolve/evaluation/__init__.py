"""Evaluation: measure variants (parameters, latency, accuracy after a fixed budget) in workers."""

from __future__ import annotations

from nnevolve.evaluation.budget import Budget, EvalResult
from nnevolve.evaluation.pool import EvaluationPool, WorkerStartError, default_workers

__all__ = ["Budget", "EvalResult", "EvaluationPool", "WorkerStartError", "default_workers"]
