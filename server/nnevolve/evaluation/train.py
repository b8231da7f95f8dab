"""Measure one variant inside a worker: build it, count, time, train and score it."""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from nnevolve.error_text import one_line
from nnevolve.genome.model_spec import instantiate, package_context, split_package
from nnevolve.recipe import FUNCTIONAL_LOSSES, Recipe, read_recipe
from nnevolve.evaluation.budget import Budget, EvalResult
from nnevolve.evaluation.device import (TensorSplits, autocast, grad_scaler, is_gpu_out_of_memory,
                                        redrawn, timed, to_device)

if TYPE_CHECKING:
    from nnevolve.datasets import DatasetSplits

LATENCY_BATCH = 32
LATENCY_WARMUP = 3  # untimed forwards first: caches, allocator and lazy kernels settle
LATENCY_MIN_REPEATS = 10
LATENCY_MAX_REPEATS = 200
LATENCY_MAX_SECONDS = 0.5  # timing stops here even when the median is not yet stable
LATENCY_STABLE = 0.02  # stop once the median's standard error is this share of it
SCORE_BATCH = 256  # measured faster per sample on CPU than 1024 (cache-sized activations)
_MEMORY_ERROR_TEXT = ("can't allocate memory", "cannot allocate memory", "out of memory")


class VariantError(Exception):
    """The variant's source does not define a usable model (a failure of the variant)."""


def build_model(source: str, class_name: str) -> nn.Module:
    """Exec the whole file in a fresh module namespace and build the model expression
    ``class_name`` (``Net``, ``VGG('VGG11')``, ``resnet18(num_classes=10)``)."""
    module = types.ModuleType("nnevolve_variant")
    module.__file__ = "<variant>"
    # registered while it runs so dataclasses, typing and pickle can find the module
    sys.modules[module.__name__] = module
    try:
        package, class_name = split_package(class_name)
        with package_context(module.__dict__, package):
            exec(compile(source, "<variant>", "exec"), module.__dict__)  # noqa: S102  (the point of a worker)
        callee = class_name.split("(", 1)[0].strip()
        if not callable(module.__dict__.get(callee)):
            raise VariantError(f"the source defines no class or function {callee}")
        model = instantiate(module.__dict__, class_name)
    finally:
        sys.modules.pop(module.__name__, None)
    if not isinstance(model, nn.Module):
        shown = f"{class_name}()" if class_name.isidentifier() else class_name
        raise VariantError(f"{shown} is a {type(model).__name__}, not a torch.nn.Module")
    return model


def count_params(model: nn.Module) -> int:
    """Trainable parameters: the sum of ``numel`` over parameters that require grad."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass(frozen=True)
class Latency:
    """Forward time of the fixed latency batch: median and spread of `repeats` timed forwards."""

    median_ms: float
    spread_ms: float  # interquartile range / 1.349: a standard deviation robust to outliers
    repeats: int


def measure_latency(model: nn.Module, x: torch.Tensor, precise: bool = True) -> Latency:
    """Time forwards of the same LATENCY_BATCH samples, in eval mode without gradients, after
    LATENCY_WARMUP untimed ones; repeat until the median is stable (its standard error within
    LATENCY_STABLE of it), LATENCY_MAX_REPEATS or LATENCY_MAX_SECONDS. Every variant is timed
    this way, on one thread, right after its validation pass. Not ``precise``: the median of
    LATENCY_MIN_REPEATS forwards (shown, never compared).
    """
    model.eval()
    batch = _latency_batch(x)
    times: list[float] = []
    with torch.no_grad():
        for _ in range(LATENCY_WARMUP):
            model(batch)
        time_call = timed(batch.device)  # synchronised on a GPU: its kernels run asynchronously
        started = time.perf_counter()
        while len(times) < LATENCY_MAX_REPEATS:
            times.append(time_call(lambda: model(batch)))
            if len(times) < LATENCY_MIN_REPEATS:
                continue
            if not precise or _stable(times) or time.perf_counter() - started > LATENCY_MAX_SECONDS:
                break
    return Latency(median_ms=statistics.median(times) * 1000.0,
                   spread_ms=_robust_std(times) * 1000.0, repeats=len(times))


def _robust_std(times: list[float]) -> float:
    quartiles = statistics.quantiles(times, n=4)
    return (quartiles[2] - quartiles[0]) / 1.349


def _stable(times: list[float]) -> bool:
    # the standard error of a median is about 1.25 σ / √n
    return 1.2533 * _robust_std(times) / math.sqrt(len(times)) <= LATENCY_STABLE * statistics.median(times)


def _optimizer(model: nn.Module, budget: Budget, recipe: Recipe | None) -> torch.optim.Optimizer:
    if recipe is not None and recipe.optimizer is not None:
        cls = getattr(torch.optim, recipe.optimizer.short)
        return cls(model.parameters(), **dict(recipe.optimizer.kwargs))
    return torch.optim.Adam(model.parameters(), lr=budget.lr)


def _loss(recipe: Recipe | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if recipe is None or recipe.loss is None:
        return nn.CrossEntropyLoss()
    kwargs = dict(recipe.loss.kwargs)
    if recipe.loss.name in FUNCTIONAL_LOSSES:  # F.nll_loss(output, target), as written
        function = getattr(nn.functional, recipe.loss.short)
        return lambda output, target: function(output, target, **kwargs)
    return getattr(nn, recipe.loss.short)(**kwargs)


def train_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, budget: Budget,
                generator: torch.Generator, recipe: Recipe | None = None,
                fraction: float = 1.0) -> float:
    """The recipe written in the user's code (optimizer, loss, per-epoch scheduler, batch size),
    else Adam + cross-entropy, for ``budget.epochs`` epochs, stopping at ``max_train_seconds``.

    ``fraction`` < 1 (a screening) stops after that share of the budget's optimizer steps and
    of ``max_train_seconds``: the first steps of the same run, so a screened network is the
    full one seen early.
    """
    optimizer = _optimizer(model, budget, recipe)
    loss_fn = _loss(recipe)
    scheduler = None
    if recipe is not None and recipe.scheduler is not None:
        kwargs = dict(recipe.scheduler.kwargs)
        if recipe.scheduler.short == "CosineAnnealingLR":  # T_max=epochs: the epochs trained
            kwargs.setdefault("T_max", max(1, budget.epochs))
        scheduler = getattr(torch.optim.lr_scheduler, recipe.scheduler.short)(optimizer, **kwargs)
    batch_size = (recipe.batch_size if recipe is not None and recipe.batch_size
                  else budget.batch_size)
    scaler = grad_scaler(x.device, budget.amp)  # a pass-through unless float16 on CUDA
    model.train()
    steps_per_epoch = -(-len(y) // batch_size)
    steps_left = max(1, math.ceil(fraction * budget.epochs * steps_per_epoch))
    seconds = fraction * budget.max_train_seconds
    start = time.perf_counter()
    for _ in range(budget.epochs):
        # drawn on the CPU whatever the device, so a GPU shuffles as the CPU does
        order = torch.randperm(len(y), generator=generator).to(x.device)
        for first in range(0, len(y), batch_size):
            batch = order[first:first + batch_size]
            optimizer.zero_grad(set_to_none=True)
            with autocast(x.device, budget.amp):
                loss = loss_fn(model(x[batch]), y[batch])
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if time.perf_counter() - start > seconds:
                return time.perf_counter() - start
            steps_left -= 1
            if steps_left == 0:
                break
        if scheduler is not None:
            scheduler.step()  # once per epoch, as the recipes read here are written
        if steps_left == 0:
            break
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


def evaluate_variant(source: str, class_name: str, splits: DatasetSplits | TensorSplits,
                     budget: Budget, *, seed: int = 0, with_test: bool = False,
                     train_source: str | None = None, fraction: float = 1.0,
                     split_seed: int | None = None) -> EvalResult:
    """Build, count, time, train and score one variant; a variant's own error is a failed result.

    Its recipe is the one written in ``source``, else in its training script: ``train_source``
    when the variant carries its own, else the budget's (the project's ``train_file``).
    ``fraction`` < 1 trains it on that share of the budget's steps only (a screening).
    ``split_seed``: train and validate on the training and validation samples split anew
    with that seed (a confirmation seed); None: on the splits as they are.

    Seeded per call (weights, shuffling), so the same source and seeds give the same accuracy.
    It trains where ``splits`` are: a worker passes them already on its device.
    """
    start = time.perf_counter()
    train_seconds = 0.0
    params: int | None = None
    try:
        _seed_everything(seed)
        data = splits if isinstance(splits, TensorSplits) else to_device(splits, torch.device("cpu"))
        if split_seed is not None:
            data = redrawn(data, split_seed)
        x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val
        model = build_model(source, class_name)  # weights drawn on the CPU, as everywhere
        params = count_params(model)
        model.to(data.device)
        generator = torch.Generator().manual_seed(seed)
        recipe = read_recipe(source)
        script = budget.train_source if train_source is None else train_source
        if recipe.empty and script:  # the variant's, else the project's training script
            recipe = read_recipe(script)
        cpu_started = time.thread_time()
        train_seconds = train_model(model, x_train, y_train, budget, generator,
                                    None if recipe.empty else recipe, fraction)
        # the work done, whatever the machine's load (one thread trains on the CPU)
        train_cpu = time.thread_time() - cpu_started if data.device.type == "cpu" else None
        val_accuracy = accuracy(model, x_val, y_val)
        latency = measure_latency(model, x_val, budget.latency_precise)
        test_accuracy = None
        if with_test and data.x_test is not None and data.y_test is not None:
            test_accuracy = accuracy(model, data.x_test, data.y_test)
    except BaseException as exc:  # the variant's code may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        return EvalResult.failed(failure_reason(exc, budget), params=params,
                                 train_seconds=train_seconds,
                                 total_seconds=time.perf_counter() - start)
    return EvalResult(status="ok", accuracy=val_accuracy, test_accuracy=test_accuracy,
                      params=params, latency_ms=latency.median_ms, train_seconds=train_seconds,
                      total_seconds=time.perf_counter() - start, reason=None,
                      latency_spread_ms=latency.spread_ms, train_cpu_seconds=train_cpu)


def failure_reason(exc: BaseException, budget: Budget) -> str:
    """``out of memory (> N MB)`` for allocation failures (``out of GPU memory (> N MB)`` on
    CUDA), else ``crash: Type: first line``."""
    if is_gpu_out_of_memory(exc):
        return f"out of GPU memory (> {budget.memory_mb} MB)"
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


def warm_up(device: torch.device | None = None) -> None:
    """Pay one-time costs (lazy imports behind the first optimizer; CUDA's kernels and
    libraries) before the first variant."""
    weight = torch.zeros(2, requires_grad=True, device=device)
    optimizer = torch.optim.Adam([weight])
    weight.sum().backward()
    optimizer.step()
    if device is not None and device.type == "cuda":
        image = torch.zeros(1, 1, 4, 4, device=device)
        torch.nn.functional.conv2d(image, torch.zeros(1, 1, 3, 3, device=device)).sum().item()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # a variant may have changed it in an earlier evaluation


def _latency_batch(x_val: torch.Tensor) -> torch.Tensor:
    # always the same LATENCY_BATCH samples, repeated when the split is smaller
    reps = -(-LATENCY_BATCH // len(x_val))
    return x_val.repeat(reps, *([1] * (x_val.dim() - 1)))[:LATENCY_BATCH]
