"""The training recipe written in the user's code: optimizer, loss, scheduler, batch size.

Read the way people write it (``optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)``,
``criterion = nn.CrossEntropyLoss(label_smoothing=0.1)`` or ``F.nll_loss(output, target)``,
``scheduler = lr_scheduler.StepLR(optimizer, step_size=1)``, ``DataLoader(..., batch_size=128)``,
a Lightning-style ``configure_optimizers``), from the model file or a training script. Every
variant is trained with it (:mod:`nnevolve.evaluation.train`); where the file has none, the
built-in recipe (Adam, cross-entropy, the ``lr`` and ``batch_size`` settings) applies. What the
engine cannot honour (gradient clipping, mixup, a second optimizer...) is named in ``ignored``.
Only literal arguments are read: the recipe never runs the user's code. No torch here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nnevolve.analysis import Analysis, analyze

# functional losses the engine can call as ``loss(output, target, **kwargs)``
FUNCTIONAL_LOSSES = frozenset({"torch.nn.functional.cross_entropy",
                               "torch.nn.functional.nll_loss"})
# class losses the engine can build and call on (logits, class indices)
CLASS_LOSSES = frozenset({"torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss"})
# positional arguments after the parameters / the optimizer, by class
_POSITIONAL = {
    "torch.optim.SGD": ("lr", "momentum", "dampening", "weight_decay", "nesterov"),
    "torch.optim.Adam": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    "torch.optim.AdamW": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    "torch.optim.RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum"),
    "torch.optim.Adagrad": ("lr", "lr_decay", "weight_decay"),
    "torch.optim.lr_scheduler.StepLR": ("step_size", "gamma"),
    "torch.optim.lr_scheduler.MultiStepLR": ("milestones", "gamma"),
    "torch.optim.lr_scheduler.ExponentialLR": ("gamma",),
    "torch.optim.lr_scheduler.CosineAnnealingLR": ("T_max", "eta_min"),
}
# schedulers stepped once per epoch without a metric
EPOCH_SCHEDULERS = frozenset({"torch.optim.lr_scheduler.StepLR",
                              "torch.optim.lr_scheduler.MultiStepLR",
                              "torch.optim.lr_scheduler.ExponentialLR",
                              "torch.optim.lr_scheduler.CosineAnnealingLR",
                              "torch.optim.lr_scheduler.LinearLR",
                              "torch.optim.lr_scheduler.ConstantLR",
                              "torch.optim.lr_scheduler.PolynomialLR"})
# training-loop calls that change what the recipe means and are not honoured
_NOT_HONOURED = {"clip_grad_norm_": "gradient clipping", "clip_grad_value_": "gradient clipping",
                 "mixup": "mixup", "cutmix": "cutmix", "GradScaler": "a gradient scaler",
                 "autocast": "mixed precision (use the amp setting)",
                 "swa_utils": "weight averaging"}


@dataclass(frozen=True)
class RecipeCall:
    """One recipe call: its qualified callee, literal arguments and where it is written."""

    name: str  # e.g. "torch.optim.SGD"
    kwargs: tuple[tuple[str, object], ...]
    line: int
    end_line: int

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs)
        return f"{self.short}({args})"


@dataclass(frozen=True)
class Recipe:
    """The training set-up read from a file (each part None when the file has none)."""

    optimizer: RecipeCall | None = None
    loss: RecipeCall | None = None
    scheduler: RecipeCall | None = None
    batch_size: int | None = None
    batch_line: int | None = None
    ignored: tuple[str, ...] = field(default=())  # "line 51: gradient clipping is not honoured"

    @property
    def empty(self) -> bool:
        return (self.optimizer is None and self.loss is None and self.scheduler is None
                and self.batch_size is None)

    def lines(self) -> list[int]:
        found = [c.line for c in (self.optimizer, self.loss, self.scheduler) if c is not None]
        if self.batch_line is not None:
            found.append(self.batch_line)
        return sorted(found)

    def describe(self) -> str:
        """``SGD(lr=0.1, momentum=0.9) · CrossEntropyLoss() · StepLR(step_size=1) · batch 128``."""
        parts = [c.describe() for c in (self.optimizer, self.loss, self.scheduler) if c]
        if self.batch_size is not None:
            parts.append(f"batch {self.batch_size}")
        where = ", ".join(map(str, self.lines()))
        return " · ".join(parts) + (f" (lines {where})" if where else "")


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _UNREAD


_UNREAD = object()


def call_at(tree: ast.Module, line: int, name_tail: str) -> ast.Call | None:
    """The call on ``line`` whose callee's last name is ``name_tail``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno == line:
            func = node.func
            tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if tail == name_tail:
                return node
    return None


def _read_call(tree: ast.Module, name: str, line: int, skip: int) -> tuple[RecipeCall, list[str]]:
    """The literal arguments of a recipe call; positional ones after the first ``skip``."""
    call = call_at(tree, line, name.rsplit(".", 1)[-1])
    kwargs: dict[str, object] = {}
    unread: list[str] = []
    if call is not None:
        positional = _POSITIONAL.get(name, ())
        for index, arg in enumerate(call.args[skip:]):
            if index < len(positional):
                value = _literal(arg)
                if value is _UNREAD:
                    unread.append(positional[index])
                else:
                    kwargs[positional[index]] = value
        for keyword in call.keywords:
            if keyword.arg is None:
                continue
            value = _literal(keyword.value)
            if value is _UNREAD:
                unread.append(keyword.arg)
            else:
                kwargs[keyword.arg] = value
    end = (call.end_lineno or line) if call is not None else line
    notes = [f"line {line}: {name.rsplit('.', 1)[-1]} argument {a} is not a literal; "
             "the engine uses the default" for a in unread]
    return RecipeCall(name, tuple(kwargs.items()), line, end), notes


def read_recipe(source: str, analysis: Analysis | None = None) -> Recipe:
    """The recipe written in ``source`` (empty when it has none; never raises)."""
    if "optim" not in source and "loss" not in source.lower() and "batch_size" not in source:
        return Recipe()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Recipe()
    items = (analysis or analyze(source)).items
    notes: list[str] = []
    optimizer = loss = scheduler = None
    optimizers = [i for i in items if i.type == "optimizer" and i.name.startswith("torch.optim.")
                  and not i.name.startswith("torch.optim.lr_scheduler")]
    if optimizers:
        optimizer, more = _read_call(tree, optimizers[0].name, optimizers[0].line, 1)
        notes += more
        notes += [f"line {i.line}: a second optimizer ({i.name.rsplit('.', 1)[-1]}) is not "
                  "honoured" for i in optimizers[1:]]
    losses = [i for i in items if i.type == "loss"]
    usable = [i for i in losses if i.name in CLASS_LOSSES or i.name in FUNCTIONAL_LOSSES]
    if usable:
        first = usable[0]
        loss, more = _read_call(tree, first.name, first.line,
                                2 if first.name in FUNCTIONAL_LOSSES else 0)
        notes += more
    elif losses:
        notes.append(f"line {losses[0].line}: the loss {losses[0].name.rsplit('.', 1)[-1]} is "
                     "not one the engine trains classifiers with; cross-entropy is used")
    schedulers = [i for i in items if i.type == "scheduler"]
    if schedulers:
        first = schedulers[0]
        if first.name in EPOCH_SCHEDULERS:
            scheduler, more = _read_call(tree, first.name, first.line, 1)
            notes += more
        else:
            notes.append(f"line {first.line}: the scheduler {first.name.rsplit('.', 1)[-1]} is "
                         "not honoured (only schedulers stepped once per epoch are)")
    batch_size = batch_line = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "DataLoader"
                                           or getattr(node.func, "id", None) == "DataLoader"):
            for keyword in node.keywords:
                value = _literal(keyword.value) if keyword.arg == "batch_size" else None
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    if batch_size is None or node.lineno < (batch_line or 10**9):
                        batch_size, batch_line = value, node.lineno
    for node in ast.walk(tree):
        name = (node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                else node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                else None)
        if name in _NOT_HONOURED:
            notes.append(f"line {node.lineno}: {_NOT_HONOURED[name]} is not honoured")
    return Recipe(optimizer, loss, scheduler, batch_size, batch_line, tuple(dict.fromkeys(notes)))
