"""Operators on the training recipe written in the model file: the learning rate on a log scale,
momentum, weight decay, label smoothing, the batch size, a per-epoch scheduler's step and decay,
and the optimizer class (replaced with sensible arguments for the new class: SGD gets a
momentum, AdamW a weight decay).

Edits are made on the source text at the literal's position, like the configuration operators.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

from nnevolve.genome import Genome
from nnevolve.genome.config import Span, span_of
from nnevolve.operators.common import Edit, Offspring, finish_source
from nnevolve.operators.config import _splice
from nnevolve.recipe import call_at, read_recipe

LR_FACTORS = (0.1, 0.3, 3.0, 10.0)
MOMENTA = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
SMOOTHING = (0.0, 0.05, 0.1, 0.2)
GAMMAS = (0.1, 0.5, 0.7, 0.9, 0.95)
# the optimizers a recipe may move between, each with the arguments it is written with
OPTIMIZERS = {
    "SGD": "lr=0.05, momentum=0.9",
    "Adam": "lr=0.001",
    "AdamW": "lr=0.001, weight_decay=0.01",
    "RMSprop": "lr=0.001",
}
_ROLES = {"lr": "lr", "momentum": "momentum", "weight_decay": "weight_decay",
          "label_smoothing": "label_smoothing", "batch_size": "batch_size",
          "step_size": "step_size", "gamma": "gamma", "T_max": "step_size"}


@dataclass(frozen=True)
class RecipeEntry:
    """A literal argument of a recipe call."""

    call: str  # "SGD", "CrossEntropyLoss", "StepLR", "DataLoader"
    name: str  # the keyword, e.g. "lr"
    span: Span
    value: object
    line: int


def recipe_entries(g: Genome) -> tuple[list[RecipeEntry], list[tuple[ast.Call, str]]]:
    """The recipe's literal keyword arguments in the file, and its optimizer calls."""
    recipe = read_recipe(g.source, g.analysis)  # the genome's analysis: no second pass
    if recipe.empty:
        return [], []
    lines = g.source.splitlines()
    wanted = {c.line: c.short for c in (recipe.optimizer, recipe.loss, recipe.scheduler) if c}
    entries: list[RecipeEntry] = []
    optimizers: list[tuple[ast.Call, str]] = []
    for node in ast.walk(g.tree):
        if not isinstance(node, ast.Call):
            continue
        tail = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        is_recipe = wanted.get(node.lineno) == tail
        if not (is_recipe or (tail == "DataLoader" and node.lineno == recipe.batch_line)):
            continue
        if recipe.optimizer is not None and node.lineno == recipe.optimizer.line and is_recipe:
            optimizers.append((node, tail))
        for keyword in node.keywords:
            if keyword.arg in _ROLES and isinstance(keyword.value, ast.Constant) and isinstance(
                    keyword.value.value, (int, float)) and not isinstance(keyword.value.value, bool):
                entries.append(RecipeEntry(tail, keyword.arg, span_of(keyword.value, lines),
                                           keyword.value.value, node.lineno))
    return entries, optimizers


def _round(value: float) -> float:
    return float(f"{value:.2g}")


def _new_value(entry: RecipeEntry, rng: random.Random) -> object | None:
    role, value = _ROLES[entry.name], entry.value
    assert isinstance(value, (int, float))
    if role == "lr":
        return _round(value * rng.choice(LR_FACTORS))
    if role == "weight_decay":
        return 5e-4 if value == 0 else (0.0 if rng.random() < 0.3 else _round(value * rng.choice((0.1, 10.0))))
    if role == "momentum":
        return rng.choice([m for m in MOMENTA if m != value])
    if role == "label_smoothing":
        return rng.choice([s for s in SMOOTHING if s != value])
    if role == "gamma":
        return rng.choice([g for g in GAMMAS if g != value])
    if role == "batch_size":
        return max(8, int(value) * 2 if rng.random() < 0.5 else int(value) // 2)
    if role == "step_size":
        return max(1, int(value) + rng.choice((-1, 1)))
    return None


def _optimizer_swap(g: Genome, call: ast.Call, current: str,
                    rng: random.Random) -> tuple[Span, str, str] | None:
    """Replace the optimizer call by another class with its usual arguments."""
    if not call.args:
        return None
    others = [name for name in OPTIMIZERS if name != current]
    new = rng.choice(others)
    lines = g.source.splitlines()
    prefix = ast.get_source_segment(g.source, call.func) or current
    prefix = prefix[: len(prefix) - len(current)] if prefix.endswith(current) else ""
    params = ast.get_source_segment(g.source, call.args[0]) or "model.parameters()"
    text = f"{prefix}{new}({params}, {OPTIMIZERS[new]})"
    return span_of(call, lines), text, f"optimizer {current} → {new}"


def mutate_recipe(g: Genome, rng: random.Random) -> Offspring | None:
    """One change to the training recipe written in the file, or None when it writes none."""
    entries, optimizers = recipe_entries(g)
    options: list[tuple[str, object]] = [("entry", e) for e in entries]
    options += [("optimizer", o) for o in optimizers]
    for call, name in optimizers:  # SGD without momentum: the classic fix
        if name == "SGD" and not any(k.arg == "momentum" for k in call.keywords) and len(
                call.args) < 3:
            options.append(("momentum", (call, name)))
    rng.shuffle(options)
    for kind, item in options[:6]:
        if kind == "entry":
            assert isinstance(item, RecipeEntry)
            new = _new_value(item, rng)
            if new is None or new == item.value:
                continue
            source = _splice(g.source, item.span, repr(new))
            summary = f"{item.call} {item.name} {item.value!r} → {new!r} at line {item.line}"
        elif kind == "optimizer":
            call, name = item  # type: ignore[misc]
            swap = _optimizer_swap(g, call, name, rng)
            if swap is None:
                continue
            span, text, words = swap
            source = _splice(g.source, span, text)
            summary = f"{words} at line {call.lineno}"
        else:
            call, name = item  # type: ignore[misc]
            lines = g.source.splitlines()
            end = span_of(call, lines)
            close = (end[2], end[3] - 1, end[2], end[3] - 1)  # before the closing parenthesis
            source = _splice(g.source, close, ", momentum=0.9")
            summary = f"SGD momentum 0 → 0.9 at line {call.lineno}"
        child = finish_source(g, source, [Edit("mutate_recipe", summary)])
        if child is not None:
            return child
    return None


def crossover_recipe(a: Genome, b: Genome, rng: random.Random) -> Offspring | None:
    """``a`` with one recipe line (optimizer, loss or scheduler call) written as ``b`` has it."""
    mine, theirs = read_recipe(a.source, a.analysis), read_recipe(b.source, b.analysis)
    pairs = [(x, y) for x, y in ((mine.optimizer, theirs.optimizer), (mine.loss, theirs.loss),
                                 (mine.scheduler, theirs.scheduler)) if x and y]
    rng.shuffle(pairs)
    lines_a = a.source.splitlines()
    for x, y in pairs:
        node_a = call_at(a.tree, x.line, x.short)
        node_b = call_at(b.tree, y.line, y.short)
        if node_a is None or node_b is None:
            continue
        text_b = ast.get_source_segment(b.source, node_b)
        if not text_b or text_b == ast.get_source_segment(a.source, node_a):
            continue
        source = _splice(a.source, span_of(node_a, lines_a), text_b)
        summary = f"crossover: line {x.line} {x.describe()} → {y.describe()} (recipe from parent B)"
        child = finish_source(a, source, [Edit("crossover", summary)])
        if child is not None:
            return child
    return None
