"""Argument mutation: change one hyper-parameter of one layer within a sensible range.

Widths (``out_features``/``out_channels``: ×½, ×2, ±25%, within 1..1024), kernel sizes (1, 3,
5, 7, keeping "same" padding when the layer had it), stride and padding, dropout ``p``
(0.0–0.7) and activation parameters (``negative_slope``, ``alpha``). The output layer's width
never changes: it is the number of classes.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

import libcst as cst

from nnevolve.genome import Genome, Site
from nnevolve.genome.scope import UNKNOWN
from nnevolve.operators.common import Edit, Offspring, editable_sites, finish, first_child
from nnevolve.operators.rewrite import Rewrite, insert_element

DESCRIPTION = "Mutate one argument of a layer (width, kernel, stride, padding, p, slope)."
MAX_WIDTH = 1024
# widths and kernels shape a network most; stride and padding changes are rarer steps
KIND_WEIGHTS = {
    "width": 3,
    "kernel": 2,
    "probability": 2,
    "slope": 1,
    "alpha": 1,
    "pool": 1,
    "stride": 1,
    "padding": 1,
}


@dataclass(frozen=True)
class Parameter:
    """One mutable argument of a layer: its keyword, its position, what it means, its default."""

    keyword: str
    position: int
    kind: str  # "width" | "kernel" | "stride" | "padding" | "probability" | "slope" | "alpha" | "pool"
    default: float | int | None = None  # value when the argument is absent (None: must be given)


_CONV = (
    Parameter("out_channels", 1, "width"),
    Parameter("kernel_size", 2, "kernel"),
    Parameter("stride", 3, "stride", 1),
    Parameter("padding", 4, "padding", 0),
)
_POOL = (Parameter("kernel_size", 0, "pool"),)
_DROPOUT = (Parameter("p", 0, "probability", 0.5),)
# layer (last part of its qualified name) → its mutable arguments
PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "Linear": (Parameter("out_features", 1, "width"),),
    "Conv1d": _CONV,
    "Conv2d": _CONV,
    "Conv3d": _CONV,
    "Dropout": _DROPOUT,
    "Dropout1d": _DROPOUT,
    "Dropout2d": _DROPOUT,
    "Dropout3d": _DROPOUT,
    "AlphaDropout": _DROPOUT,
    "LeakyReLU": (Parameter("negative_slope", 0, "slope", 0.01),),
    "ELU": (Parameter("alpha", 0, "alpha", 1.0),),
    "CELU": (Parameter("alpha", 0, "alpha", 1.0),),
    "MaxPool1d": _POOL,
    "MaxPool2d": _POOL,
    "AvgPool1d": _POOL,
    "AvgPool2d": _POOL,
    # functional forms: the tensor is argument 0
    "dropout": (Parameter("p", 1, "probability", 0.5),),
    "dropout2d": (Parameter("p", 1, "probability", 0.5),),
    "leaky_relu": (Parameter("negative_slope", 1, "slope", 0.01),),
    "elu": (Parameter("alpha", 1, "alpha", 1.0),),
    "max_pool2d": (Parameter("kernel_size", 1, "pool"),),
    "avg_pool2d": (Parameter("kernel_size", 1, "pool"),),
}


@dataclass(frozen=True)
class Change:
    """A new value for one parameter, and for padding when a kernel change keeps it "same"."""

    parameter: Parameter
    old: float | int
    new: float | int
    padding: tuple[int, int] | None = None  # (old, new) padding that follows the kernel


def mutate_args(g: Genome, rng: random.Random) -> Offspring | None:
    """``g`` with one argument of one layer changed, or None when nothing can be mutated."""
    options = [(site, p) for site in editable_sites(g) for p in mutable_parameters(g, site)]
    if not options:
        return None
    weights = [KIND_WEIGHTS[p.kind] for _, p in options]

    def attempt() -> Offspring | None:
        site, parameter = rng.choices(options, weights)[0]
        change = propose(g, site, parameter, rng)
        return None if change is None else apply_change(g, site, change)

    return first_child(attempt)


def mutable_parameters(g: Genome, site: Site) -> list[Parameter]:
    """The parameters of ``site`` that may change (never the output layer's width)."""
    parameters = PARAMETERS.get(site.name.rsplit(".", 1)[-1], ())
    output = g.output_site()
    return [
        p
        for p in parameters
        if not (p.kind == "width" and site == output) and current_value(g, site, p) is not None
    ]


def _argument(call: cst.Call, parameter: Parameter) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == parameter.keyword:
            return arg
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[parameter.position] if parameter.position < len(positional) else None


def current_value(g: Genome, site: Site, parameter: Parameter) -> float | int | None:
    """The value of ``parameter`` at ``site`` (its default when absent), None when not a number."""
    call = g.anchor(site).call
    if any(a.star for a in call.args):
        return None
    arg = _argument(call, parameter)
    if arg is None:
        return parameter.default
    try:
        node = ast.parse(cst.Module([]).code_for_node(arg.value).strip(), mode="eval").body
    except SyntaxError:
        return None
    value = g.scope_at(site.line).value(node)
    if value is UNKNOWN or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def propose(g: Genome, site: Site, parameter: Parameter, rng: random.Random) -> Change | None:
    """A new value for ``parameter`` within its sensible range, different from the current one."""
    old = current_value(g, site, parameter)
    if old is None:
        return None
    kind = parameter.kind
    if kind == "width":
        factor = rng.choice((0.5, 0.75, 1.25, 2.0))
        new: float | int = min(MAX_WIDTH, max(1, round(old * factor)))
    elif kind == "kernel":
        new = rng.choice([k for k in (1, 3, 5, 7) if k != old])
        padding = _parameter(site, "padding")
        old_padding = current_value(g, site, padding) if padding else None
        if isinstance(old, int) and old_padding == old // 2:
            return Change(parameter, old, new, (int(old_padding), new // 2))
    elif kind == "stride":
        new = 2 if old == 1 else 1
    elif kind == "padding":
        kernel = _parameter(site, "kernel_size")
        size = current_value(g, site, kernel) if kernel else None
        limit = int(size) // 2 if isinstance(size, int) else 1
        choices = [p for p in range(limit + 1) if p != old]
        if not choices:
            return None
        new = rng.choice(choices)
    elif kind == "probability":
        new = round(min(0.7, max(0.0, old + rng.choice((-0.2, -0.1, -0.05, 0.05, 0.1, 0.2)))), 2)
    elif kind == "slope":
        new = round(min(0.5, max(0.001, old * rng.choice((0.5, 2.0)))), 4)
    elif kind == "alpha":
        new = round(min(2.0, max(0.1, old * rng.choice((0.5, 2.0)))), 3)
    else:  # pooling window
        new = 3 if old == 2 else 2
    if new == old:
        return None
    return Change(parameter, old, new)


def _parameter(site: Site, keyword: str) -> Parameter | None:
    parameters = PARAMETERS.get(site.name.rsplit(".", 1)[-1], ())
    return next((p for p in parameters if p.keyword == keyword), None)


def apply_change(g: Genome, site: Site, change: Change) -> Offspring | None:
    """``g`` with ``change`` written into the call at ``site``."""
    edits = [(change.parameter, change.new)]
    padding = _parameter(site, "padding")
    if change.padding is not None and padding is not None:
        edits.append((padding, change.padding[1]))
    rewrite = Rewrite(g)
    rewrite.replace_node(g.anchor(site).call, lambda node: _set_arguments(node, edits))
    layer = site.name.rsplit(".", 1)[-1]
    summary = f"{layer} {change.parameter.keyword} {_text(change.old)}→{_text(change.new)}"
    if change.padding is not None:
        summary += f" (padding {change.padding[0]}→{change.padding[1]})"
    return finish(g, rewrite, [Edit("mutate_args", f"{summary} at line {site.line}")])


def _text(value: float) -> str:
    return repr(value)


def _set_arguments(node: cst.CSTNode, edits: list[tuple[Parameter, float | int]]) -> cst.Call:
    assert isinstance(node, cst.Call)
    call = node
    for parameter, value in edits:
        literal = cst.parse_expression(repr(value))
        arg = _argument(call, parameter)
        if arg is not None:
            call = call.with_changes(
                args=[a.with_changes(value=literal) if a is arg else a for a in call.args]
            )
            continue
        keyword = cst.Arg(
            value=literal,
            keyword=cst.Name(parameter.keyword),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
        if call.args:
            args = insert_element(
                list(call.args), len(call.args), literal, call.whitespace_before_args
            )
            args[-1] = keyword.with_changes(
                comma=args[-1].comma, whitespace_after_arg=args[-1].whitespace_after_arg
            )
        else:
            args = [keyword]
        call = call.with_changes(args=args)
    return call
