"""Measure one variant inside a worker: build it, count, time, train and score it."""

from __future__ import annotations

import random
import statistics
import sys
import time
import types
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from nnevolve.datasets.errors import one_line
from nnevolve.evaluation.budget import Budget, EvalResult

if TYPE_CHECKING:
    from nnevolve.datasets import DatasetSplits

LATENCY_BATCH = 32
LATENCY_TIMED = 6  # forwards whose median is the latency
SCORE_BATCH = 256  # measured faster per sample on CPU than 1024 (cache-sized activations)
_MEMORY_ERROR_TEXT = ("can't allocate memory", "cannot allocate memory", "out of memory")


class VariantError(Exception):
    """The variant's source does not define a usable model (a failure of the variant)."""


def build_model(source: str, class_name: str) -> nn.Module:
    """Exec the whole file in a fresh module namespace and instantiate ``class_name()``."""
    module = types.ModuleType("nnevolve_variant")
    module.__file__ = "<variant>"
    # registered while it runs so dataclasses, typing and pickle can find the module
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, "<variant>", "exec"), module.__dict__)  # noqa: S102  (the point of a worker)
        cls = module.__dict__.get(class_name)
        if not isinstance(cls, type):
            raise VariantError(f"the source defines no class {class_name}")
        model = cls()
    finally:
        sys.modules.pop(module.__name__, None)
    if not isinstance(model, nn.Module):
        raise VariantError(f"{class_name}() is a {type(model).__name__}, not a torch.nn.Module")
    return model


def count_params(model: nn.Module) -> int:
    """Trainable parameters: the sum of ``numel`` over parameters that require grad."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Validation accuracy and latency (median forward time of a batch of LATENCY_BATCH) in one
    pass: the first batches of the validation split are of that size and timed, the rest go
    through in larger batches (cheaper per sample), so latency costs no forwards of its own.
    The first timed batch is left out (one-time costs of eval mode); a split too small for
    LATENCY_TIMED batches is topped up with a fixed batch.
    """
    model.eval()
    correct, times, first = 0, [], 0
    with torch.no_grad():
        while first < len(y):
            timing = len(times) <= LATENCY_TIMED
            size = LATENCY_BATCH if timing else SCORE_BATCH
            batch = x[first:first + size]
            start = time.perf_counter()
            logits = model(batch)
            elapsed = time.perf_counter() - start
            if timing and len(batch) == LATENCY_BATCH:
                times.append(elapsed)
            correct += int((logits.argmax(dim=1) == y[first:first + size]).sum())
            first += size
        fixed = _latency_batch(x)
        while len(times) <= LATENCY_TIMED:
            start = time.perf_counter()
            model(fixed)
            times.append(time.perf_counter() - start)
    return correct / max(1, len(y)), statistics.median(times[1:]) * 1000.0


def train_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, budget: Budget,
                generator: torch.Generator) -> float:
    """Adam + cross-entropy for ``budget.epochs`` epochs, stopping at ``max_train_seconds``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for _ in range(budget.epochs):
        order = torch.randperm(len(y), generator=generator)
        for first in range(0, len(y), budget.batch_size):
            batch = order[first:first + budget.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
            if time.perf_counter() - start > budget.max_train_seconds:
                return time.perf_counter() - start
    return time.perf_counter() - start


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of samples whose highest output is the true class."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for first in range(0, len(y), SCORE_BATCH):
            logits = model(x[first:first + SCORE_BATCH])
            correct += int((logits.argmax(dim=1) == y[first:first + SCORE_BATCH]).sum())
    return correct / max(1, len(y))


def evaluate_variant(source: str, class_name: str, splits: DatasetSplits, budget: Budget, *,
                     seed: int = 0, with_test: bool = False) -> EvalResult:
    """Build, count, time, train and score one variant; a variant's own error is a failed result.

    Seeded per call (weights, shuffling), so the same source and seed give the same accuracy.
    """
    start = time.perf_counter()
    train_seconds = 0.0
    params: int | None = None
    try:
        _seed_everything(seed)
        x_train, y_train = _tensors(splits.x_train, splits.y_train)
        x_val, y_val = _tensors(splits.x_val, splits.y_val)
        model = build_model(source, class_name)
        params = count_params(model)
        generator = torch.Generator().manual_seed(seed)
        train_seconds = train_model(model, x_train, y_train, budget, generator)
        val_accuracy, latency = score(model, x_val, y_val)
        test_accuracy = None
        if with_test and splits.x_test is not None and splits.y_test is not None:
            test_accuracy = accuracy(model, *_tensors(splits.x_test, splits.y_test))
    except BaseException as exc:  # the variant's code may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        return EvalResult.failed(failure_reason(exc, budget), params=params,
                                 train_seconds=train_seconds,
                                 total_seconds=time.perf_counter() - start)
    return EvalResult(status="ok", accuracy=val_accuracy, test_accuracy=test_accuracy,
                      params=params, latency_ms=latency, train_seconds=train_seconds,
                      total_seconds=time.perf_counter() - start, reason=None)


def failure_reason(exc: BaseException, budget: Budget) -> str:
    """``out of memory (> N MB)`` for allocation failures, else ``crash: Type: first line``."""
    if is_out_of_memory(exc):
        return out_of_memory_reason(budget)
    return f"crash: {one_line(exc)[:300]}"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for MemoryError and torch's failed-allocation RuntimeErrors."""
    message = str(exc).lower()
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and any(text in message for text in _MEMORY_ERROR_TEXT))


def out_of_memory_reason(budget: Budget) -> str:
    return f"out of memory (> {budget.memory_mb} MB)"


def warm_up() -> None:
    """Pay one-time costs (lazy imports behind the first optimizer) before the first variant."""
    weight = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([weight])
    weight.sum().backward()
    optimizer.step()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # a variant may have changed it in an earlier evaluation


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y))


def _latency_batch(x_val: torch.Tensor) -> torch.Tensor:
    # always the same LATENCY_BATCH samples, repeated when the split is smaller
    reps = -(-LATENCY_BATCH // len(x_val))
    return x_val.repeat(reps, *([1] * (x_val.dim() - 1)))[:LATENCY_BATCH]
