"""Operators on the training recipe, in the model file or in the project's training script: the
learning rate on a log scale, momentum, weight decay, Adam's betas, label smoothing, the batch
size, a per-epoch scheduler's step and decay, the optimizer class (replaced with sensible
arguments for the new class: SGD gets a momentum, AdamW a weight decay), and the scheduler
itself (inserted with its ``scheduler.step()`` per epoch where the loop allows, deleted with
it, or replaced by another per-epoch scheduler).

The recipe is edited where it is written: the model file when it writes one, else the training
script (``train_file``), whose new text travels with the variant (``Offspring.train_source``).
Edits are made on the source text at the literal's position, like the configuration operators.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from nnevolve.analysis import Analysis, analyze, torch_bindings
from nnevolve.genome import Genome, normalize_source
from nnevolve.genome.config import Span, span_of
from nnevolve.operators.common import Edit, Offspring, finish_source
from nnevolve.operators.config import _splice
from nnevolve.recipe import Recipe, RecipeCall, call_at, read_recipe

LR_FACTORS = (0.1, 0.3, 3.0, 10.0)
MOMENTA = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
SMOOTHING = (0.0, 0.05, 0.1, 0.2)
GAMMAS = (0.1, 0.5, 0.7, 0.9, 0.95)
BETAS = ((0.9, 0.999), (0.9, 0.99), (0.8, 0.999), (0.95, 0.999), (0.5, 0.999))
# the optimizers a recipe may move between, each with the arguments it is written with
OPTIMIZERS = {
    "SGD": "lr=0.05, momentum=0.9",
    "Adam": "lr=0.001",
    "AdamW": "lr=0.001, weight_decay=0.01",
    "RMSprop": "lr=0.001",
}
# the per-epoch schedulers a recipe may gain or move between, with their usual arguments
# ("{epochs}": the epoch loop's count, as the file writes it)
SCHEDULERS = {
    "CosineAnnealingLR": "T_max={epochs}",
    "StepLR": "step_size=1, gamma=0.7",
    "ExponentialLR": "gamma=0.9",
}
_ROLES = {"lr": "lr", "momentum": "momentum", "weight_decay": "weight_decay",
          "label_smoothing": "label_smoothing", "batch_size": "batch_size",
          "step_size": "step_size", "gamma": "gamma", "T_max": "step_size", "betas": "betas"}
_ADAMS = frozenset({"Adam", "AdamW"})
_SCHEDULER_NAME = "scheduler"  # the name an inserted scheduler is bound to


class _Parsed(Protocol):
    source: str
    tree: ast.Module
    analysis: Analysis


@dataclass
class RecipeText:
    """A file that writes the training recipe: the model file (``label`` "") or the project's
    training script (``label`` its file name, which edit summaries name)."""

    source: str
    tree: ast.Module
    analysis: Analysis
    label: str = ""

    @classmethod
    def of(cls, g: _Parsed, label: str = "") -> RecipeText:
        return cls(g.source, g.tree, g.analysis, label)

    @classmethod
    def parse(cls, source: str, label: str) -> RecipeText | None:
        """A training script's text, None when it does not parse."""
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return cls(source, tree, analyze(source), label)

    @cached_property
    def recipe(self) -> Recipe:
        return read_recipe(self.source, self.analysis)  # the file's analysis: no second pass

    def at(self, line: int) -> str:
        """``at line 41`` in the model file, ``at train.py line 41`` in the training script."""
        return f"at {self.label} line {line}" if self.label else f"at line {line}"


@dataclass(frozen=True)
class RecipeEntry:
    """A literal argument of a recipe call."""

    call: str  # "SGD", "CrossEntropyLoss", "StepLR", "DataLoader"
    name: str  # the keyword, e.g. "lr"
    span: Span
    value: object
    line: int


def _number(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _entry_value(keyword: ast.keyword) -> object | None:
    """The literal a recipe entry holds: a number, or betas' pair of numbers."""
    value = keyword.value
    if keyword.arg == "betas":
        if isinstance(value, ast.Tuple) and len(value.elts) == 2 and all(
                _number(e) for e in value.elts):
            return tuple(e.value for e in value.elts)  # type: ignore[attr-defined]
        return None
    return value.value if _number(value) else None  # type: ignore[attr-defined]


def recipe_entries(g: _Parsed) -> tuple[list[RecipeEntry], list[tuple[ast.Call, str]]]:
    """The recipe's literal keyword arguments in the file, and its optimizer calls."""
    recipe = g.recipe if isinstance(g, RecipeText) else read_recipe(g.source, g.analysis)
    if recipe.empty:
        return [], []
    lines = g.source.splitlines()
    wanted = {c.line: c.short for c in (recipe.optimizer, recipe.loss, recipe.scheduler) if c}
    entries: list[RecipeEntry] = []
    optimizers: list[tuple[ast.Call, str]] = []
    for node in ast.walk(g.tree):
        if not isinstance(node, ast.Call):
            continue
        tail = _tail(node)
        is_recipe = wanted.get(node.lineno) == tail
        if not (is_recipe or (tail == "DataLoader" and node.lineno == recipe.batch_line)):
            continue
        if recipe.optimizer is not None and node.lineno == recipe.optimizer.line and is_recipe:
            optimizers.append((node, tail))
        for keyword in node.keywords:
            value = _entry_value(keyword) if keyword.arg in _ROLES else None
            if value is not None:
                entries.append(RecipeEntry(tail, str(keyword.arg), span_of(keyword.value, lines),
                                           value, node.lineno))
    return entries, optimizers


def _tail(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _round(value: float) -> float:
    return float(f"{value:.2g}")


def _new_value(entry: RecipeEntry, rng: random.Random) -> object | None:
    role, value = _ROLES[entry.name], entry.value
    if role == "betas":
        return rng.choice([b for b in BETAS if b != value])
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


def _spelling(text: RecipeText, call: ast.Call, current: str, new: str,
              module: str) -> str | None:
    """How the file can name the class ``new`` of ``module`` (e.g. ``torch.optim``) where it
    calls ``current``: through the same prefix, a name it imports, or None."""
    written = ast.get_source_segment(text.source, call.func) or current
    if written.endswith(f".{current}"):
        return written[: len(written) - len(current)] + new
    return _name_for(text, f"{module}.{new}")


def _name_for(text: RecipeText, qualified: str) -> str | None:
    """The shortest expression the file's imports give for ``qualified``, or None."""
    bindings = torch_bindings(ast.walk(text.tree))  # type: ignore[arg-type]
    spelled = []
    for name, target in bindings.items():
        if qualified == target:
            spelled.append(name)
        elif qualified.startswith(target + "."):
            spelled.append(name + qualified[len(target):])
    return min(spelled, key=len) if spelled else None


def _optimizer_swap(text: RecipeText, call: ast.Call, current: str,
                    rng: random.Random) -> tuple[Span, str, str] | None:
    """Replace the optimizer call by another class with its usual arguments."""
    if not call.args:
        return None
    new = rng.choice([name for name in OPTIMIZERS if name != current])
    callee = _spelling(text, call, current, new, "torch.optim")
    if callee is None:
        return None
    params = ast.get_source_segment(text.source, call.args[0]) or "model.parameters()"
    return (span_of(call, text.source.splitlines()), f"{callee}({params}, {OPTIMIZERS[new]})",
            f"optimizer {current} → {new}")


def _keyword_added(text: RecipeText, call: ast.Call, keyword: str) -> str:
    """The source with ``, keyword`` written before the call's closing parenthesis."""
    end = span_of(call, text.source.splitlines())
    return _splice(text.source, (end[2], end[3] - 1, end[2], end[3] - 1), f", {keyword}")


def mutate_recipe_text(text: RecipeText, rng: random.Random) -> tuple[str, Edit] | None:
    """One change to the recipe written in ``text``: its new source and the edit; or None."""
    entries, optimizers = recipe_entries(text)
    options: list[tuple[str, object]] = [("entry", e) for e in entries]
    options += [("optimizer", o) for o in optimizers]
    for call, name in optimizers:
        keywords = {k.arg for k in call.keywords}
        if name == "SGD" and "momentum" not in keywords and len(call.args) < 3:
            options.append(("momentum", call))  # SGD without momentum: the classic fix
        if name in _ADAMS and "betas" not in keywords and len(call.args) < 3:
            options.append(("betas", call))
    options += [(kind, None) for kind in ("insert_scheduler", "delete_scheduler",
                                          "replace_scheduler")]
    rng.shuffle(options)
    for kind, item in options[:8]:
        changed = _one_change(text, kind, item, rng)
        if changed is None:
            continue
        source, summary = changed
        if _differs(text.source, source):
            return source, Edit("mutate_recipe", summary)
    return None


def _one_change(text: RecipeText, kind: str, item: object,
                rng: random.Random) -> tuple[str, str] | None:
    if kind == "entry":
        assert isinstance(item, RecipeEntry)
        new = _new_value(item, rng)
        if new is None or new == item.value:
            return None
        shown = f"{item.value!r} → {new!r}"
        return (_splice(text.source, item.span, repr(new)),
                f"{item.call} {item.name} {shown} {text.at(item.line)}")
    if kind == "optimizer":
        call, name = item  # type: ignore[misc]
        swap = _optimizer_swap(text, call, name, rng)
        if swap is None:
            return None
        span, code, words = swap
        return _splice(text.source, span, code), f"{words} {text.at(call.lineno)}"
    if kind == "momentum":
        assert isinstance(item, ast.Call)
        return (_keyword_added(text, item, "momentum=0.9"),
                f"SGD momentum 0 → 0.9 {text.at(item.lineno)}")
    if kind == "betas":
        assert isinstance(item, ast.Call)
        betas = rng.choice(BETAS[1:])
        return (_keyword_added(text, item, f"betas={betas!r}"),
                f"{_tail(item)} betas (0.9, 0.999) → {betas!r} {text.at(item.lineno)}")
    if kind == "insert_scheduler":
        return insert_scheduler(text, rng)
    if kind == "delete_scheduler":
        return delete_scheduler(text)
    return replace_scheduler(text, rng)


def _differs(old: str, new: str) -> bool:
    """Whether ``new`` parses and is another program than ``old``."""
    try:
        return normalize_source(new) != normalize_source(old)
    except Exception:  # noqa: BLE001 - GenomeError, or a tree too deep to unparse
        return False


# -- the scheduler: inserted, deleted, replaced ------------------------------------------------

@dataclass(frozen=True)
class _Loop:
    """Where a scheduler steps: the epoch loop around the batch loop that steps the optimizer."""

    epochs: str  # the loop's count as written (``epochs`` in ``for _ in range(epochs)``)
    last_line: int  # the last line of the epoch loop's body
    indent: str  # the indentation of its body's statements


def _assignment(tree: ast.Module, call: ast.Call) -> ast.Assign | None:
    """The statement ``name = <call>`` that binds ``call`` to a plain name."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and node.value is call and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            return node
    return None


def _is_step(node: ast.AST, name: str) -> bool:
    """Whether ``node`` is the call ``<name>.step(...)``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "step" and isinstance(node.func.value, ast.Name)
            and node.func.value.id == name)


def _steps(node: ast.AST, name: str) -> bool:
    """Whether ``node`` calls ``<name>.step()`` somewhere inside."""
    return any(_is_step(n, name) for n in ast.walk(node))


def _epoch_loop(text: RecipeText, optimizer: str, after: int) -> _Loop | None:
    """The ``for`` loop after line ``after`` whose body holds a batch loop stepping
    ``optimizer`` (the shape ``for epoch in range(E): for x, y in loader: ...``)."""
    lines = text.source.splitlines()
    for node in ast.walk(text.tree):
        if not (isinstance(node, ast.For) and node.lineno > after and not node.orelse):
            continue
        inner = [s for s in node.body if isinstance(s, (ast.For, ast.While))
                 and _steps(s, optimizer)]
        if not inner or _steps(node.iter, optimizer):
            continue
        count = node.iter
        if not (isinstance(count, ast.Call) and isinstance(count.func, ast.Name)
                and count.func.id == "range" and len(count.args) == 1 and not count.keywords):
            continue
        last = node.body[-1]
        first = node.body[0]
        indent = lines[first.lineno - 1][: first.col_offset]
        if indent.strip():  # a body on the loop's own line: nowhere to add a statement
            continue
        epochs = ast.get_source_segment(text.source, count.args[0]) or ""
        return _Loop(epochs, last.end_lineno or last.lineno, indent)
    return None


def _insert_lines(source: str, after: dict[int, str]) -> str:
    """``source`` with each text of ``after`` (a whole line) inserted after its line number."""
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    for line in sorted(after, reverse=True):
        lines.insert(line, after[line] + "\n")
    return "".join(lines)


def _names(tree: ast.Module) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def insert_scheduler(text: RecipeText, rng: random.Random) -> tuple[str, str] | None:
    """A recipe without a scheduler gets one after its optimizer line, and its ``step()``
    once per epoch at the end of the epoch loop; None when the loop shape does not allow it."""
    recipe = text.recipe
    if recipe.scheduler is not None or recipe.optimizer is None:
        return None
    if any(item.type == "scheduler" for item in text.analysis.items):
        return None  # one the engine does not honour is there already
    call = call_at(text.tree, recipe.optimizer.line, recipe.optimizer.short)
    statement = _assignment(text.tree, call) if call is not None else None
    if statement is None or _SCHEDULER_NAME in _names(text.tree):
        return None
    optimizer = statement.targets[0].id  # type: ignore[attr-defined]
    loop = _epoch_loop(text, optimizer, statement.end_lineno or statement.lineno)
    if loop is None:
        return None
    name = rng.choice(list(SCHEDULERS))
    callee = _name_for(text, f"torch.optim.lr_scheduler.{name}")
    if callee is None:
        return None
    arguments = SCHEDULERS[name].format(epochs=loop.epochs)
    indent = text.source.splitlines()[statement.lineno - 1][: statement.col_offset]
    line = f"{indent}{_SCHEDULER_NAME} = {callee}({optimizer}, {arguments})"
    source = _insert_lines(text.source, {statement.end_lineno or statement.lineno: line,
                                         loop.last_line: f"{loop.indent}{_SCHEDULER_NAME}.step()"})
    return source, (f"insert scheduler {name}({arguments}) {text.at(statement.lineno + 1)}, "
                    "stepped once per epoch")


def _alone(lines: list[str], statement: ast.stmt) -> bool:
    """Whether ``statement`` has its lines to itself (nothing else before or after it)."""
    first, last = lines[statement.lineno - 1], lines[(statement.end_lineno or statement.lineno) - 1]
    after = last[statement.end_col_offset or 0:].strip()
    return not first[: statement.col_offset].strip() and (not after or after.startswith("#"))


def _bodies(tree: ast.Module) -> list[list[ast.stmt]]:
    found = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                found.append(body)
        for handler in getattr(node, "handlers", []):
            found.append(handler.body)
    return found


def delete_scheduler(text: RecipeText) -> tuple[str, str] | None:
    """The scheduler line and every ``scheduler.step()`` removed; None when the scheduler is
    used otherwise (its removal would break the script) or shares its lines."""
    scheduler = text.recipe.scheduler
    if scheduler is None:
        return None
    call = call_at(text.tree, scheduler.line, scheduler.short)
    statement = _assignment(text.tree, call) if call is not None else None
    if statement is None:
        return None
    name = statement.targets[0].id  # type: ignore[attr-defined]
    steps = [s for s in ast.walk(text.tree)
             if isinstance(s, ast.Expr) and _is_step(s.value, name)]
    removed = [statement, *steps]
    references = sum(isinstance(n, ast.Name) and n.id == name for n in ast.walk(text.tree))
    if references != len(removed):  # read elsewhere (returned, get_last_lr, a second binding)
        return None
    lines = text.source.splitlines(keepends=True)
    if not all(_alone(text.source.splitlines(), s) for s in removed):
        return None
    ids = {id(s) for s in removed}
    if any(all(id(s) in ids for s in body) for body in _bodies(text.tree)):
        return None  # a block would be left empty
    gone = {n for s in removed for n in range(s.lineno, (s.end_lineno or s.lineno) + 1)}
    source = "".join(line for number, line in enumerate(lines, start=1) if number not in gone)
    return source, f"delete scheduler {scheduler.describe()} {text.at(scheduler.line)}"


def replace_scheduler(text: RecipeText, rng: random.Random) -> tuple[str, str] | None:
    """The scheduler call replaced by another per-epoch scheduler with its usual arguments."""
    scheduler = text.recipe.scheduler
    if scheduler is None:
        return None
    call = call_at(text.tree, scheduler.line, scheduler.short)
    if call is None or not call.args:
        return None
    statement = _assignment(text.tree, call)
    loop = None
    if statement is not None:
        optimizer = ast.get_source_segment(text.source, call.args[0]) or ""
        loop = _epoch_loop(text, optimizer, statement.end_lineno or statement.lineno)
    choices = [n for n in SCHEDULERS if n != scheduler.short
               and (loop is not None or "{epochs}" not in SCHEDULERS[n])]
    if not choices:
        return None
    new = rng.choice(choices)
    callee = _spelling(text, call, scheduler.short, new, "torch.optim.lr_scheduler")
    if callee is None:
        return None
    arguments = SCHEDULERS[new].format(epochs=loop.epochs if loop else "")
    first = ast.get_source_segment(text.source, call.args[0]) or "optimizer"
    source = _splice(text.source, span_of(call, text.source.splitlines()),
                     f"{callee}({first}, {arguments})")
    return source, f"scheduler {scheduler.short} → {new}({arguments}) {text.at(scheduler.line)}"


# -- a genome's recipe ----------------------------------------------------------------------------

def recipe_file(g: Genome, train: RecipeText | None = None) -> RecipeText | None:
    """Where ``g``'s recipe is written: its own file when it writes one, else the training
    script ``train`` (as the engine trains it); None when neither does."""
    own = RecipeText.of(g)
    if not own.recipe.empty:
        return own
    return train if train is not None and not train.recipe.empty else None


def _offspring(g: Genome, text: RecipeText, source: str, edit: Edit) -> Offspring | None:
    if not text.label:  # the model file
        return finish_source(g, source, [edit])
    return Offspring(g.source, (edit,), train_source=source)


def mutate_recipe(g: Genome, rng: random.Random,
                  train: RecipeText | None = None) -> Offspring | None:
    """One change to the training recipe, where it is written (the model file, else the
    training script ``train``); None when neither writes one."""
    text = recipe_file(g, train)
    changed = mutate_recipe_text(text, rng) if text is not None else None
    return _offspring(g, text, *changed) if changed is not None and text is not None else None


def crossover_recipe(a: Genome, b: Genome, rng: random.Random,
                     train_a: RecipeText | None = None,
                     train_b: RecipeText | None = None) -> Offspring | None:
    """``a`` with one recipe line (optimizer, loss or scheduler call) written as ``b`` has it
    (in the model file, or in each parent's training script)."""
    mine, theirs = recipe_file(a, train_a), recipe_file(b, train_b)
    if mine is None or theirs is None or bool(mine.label) != bool(theirs.label):
        return None
    pairs: list[tuple[RecipeCall, RecipeCall]] = [
        (x, y) for x, y in ((mine.recipe.optimizer, theirs.recipe.optimizer),
                            (mine.recipe.loss, theirs.recipe.loss),
                            (mine.recipe.scheduler, theirs.recipe.scheduler)) if x and y]
    rng.shuffle(pairs)
    lines_a = mine.source.splitlines()
    for x, y in pairs:
        node_a = call_at(mine.tree, x.line, x.short)
        node_b = call_at(theirs.tree, y.line, y.short)
        if node_a is None or node_b is None:
            continue
        text_b = ast.get_source_segment(theirs.source, node_b)
        if not text_b or text_b == ast.get_source_segment(mine.source, node_a):
            continue
        source = _splice(mine.source, span_of(node_a, lines_a), text_b)
        where = f"{mine.label} line {x.line}" if mine.label else f"line {x.line}"
        summary = f"crossover: {where} {x.describe()} → {y.describe()} (recipe from parent B)"
        if not _differs(mine.source, source):
            continue
        child = _offspring(a, mine, source, Edit("crossover", summary))
        if child is not None:
            return child
    return None
