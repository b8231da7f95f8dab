"""Property: repair never turns a width expression that referred to a name into a literal.

Generated layer stacks (an optional convolutional stem, then Linears) write each width argument as a literal, a module constant, a local
name, a constructor argument, an attribute, or a product / sum / floor division of one of
those with a literal, whose values are randomly broken. Whatever the repair does, every name
and attribute a width argument referred to is still in that argument, the repaired model
builds and runs, and a rejection names the expression it would not rewrite.
"""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnevolve.repair import repair
from repair_support import DIGITS, run_for_real

LAYERS_WITH_WIDTHS = ("nn.Conv2d", "nn.BatchNorm2d", "nn.Linear", "nn.BatchNorm1d")
FORMS = ("literal", "constant", "local", "argument", "attribute", "product", "sum", "floordiv")


@st.composite
def width_expression(draw: st.DrawFn, index: int, value: int) -> tuple[str, list[str]]:
    """``(expression, definitions)``: code that evaluates to ``value`` and the lines it needs.

    A definition is ``"module: ..."``, ``"init: ..."`` or ``"arg: ..."`` (where it goes).
    """
    form = draw(st.sampled_from(FORMS))
    name = f"w{index}"
    if form == "literal":
        return str(value), []
    if form == "constant":
        return name.upper(), [f"module: {name.upper()} = {value}"]
    if form == "local":
        return name, [f"init: {name} = {value}"]
    if form == "argument":
        return name, [f"arg: {name}={value}"]
    if form == "attribute":
        return f"self.{name}", [f"init: self.{name} = {value}"]
    factor = draw(st.sampled_from([1, 2, 4]))
    if form == "product" and value % factor == 0:
        return f"{factor} * self.{name}", [f"init: self.{name} = {value // factor}"]
    if form == "sum" and value > factor:
        return f"{name.upper()} + {factor}", [f"module: {name.upper()} = {value - factor}"]
    return f"{name} // {factor}", [f"arg: {name}={value * factor}"]


@st.composite
def layer_stack(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A model source and the width expression of each layer (first argument), in call order."""
    expressions: list[str] = []
    definitions: list[str] = []
    layers: list[str] = []
    index = iter(range(1, 100))

    def width(wanted: int, broken: list[int]) -> str:
        # random breakage: about half the widths disagree with the tensor they receive
        expr, needs = draw(width_expression(next(index), draw(st.sampled_from(
            [wanted, wanted, *broken]))))
        expressions.append(expr)
        definitions.extend(needs)
        return expr

    channels, size = 1, 8  # digits (1, 8, 8)
    for _ in range(draw(st.integers(0, 2))):  # an optional convolutional stem
        out = draw(st.sampled_from([4, 8, 12]))
        layers.append(f"nn.Conv2d({width(channels, [2, 3, 8])}, {out}, 3, padding=1)")
        if draw(st.booleans()):
            layers.append(f"nn.BatchNorm2d({width(out, [2, 6, 16])})")
        layers.append("nn.ReLU()")
        if draw(st.booleans()):
            layers.append("nn.MaxPool2d(2)")
            size //= 2
        channels = out
    layers.append("nn.Flatten()")
    wanted = channels * size * size
    widths = [draw(st.sampled_from([8, 12, 16, 24, 32])) for _ in range(draw(st.integers(1, 3)))]
    for i, out in enumerate([*widths, 10]):
        layers.append(f"nn.Linear({width(wanted, [4, 8, 16, 20, 48, 96])}, {out})")
        if i < len(widths):
            if draw(st.booleans()):
                layers.append(f"nn.BatchNorm1d({width(out, [6, 40])})")
            layers.append("nn.ReLU()")
        wanted = out
    module_lines = [d.split(": ", 1)[1] for d in definitions if d.startswith("module: ")]
    init_lines = [d.split(": ", 1)[1] for d in definitions if d.startswith("init: ")]
    arguments = "".join(", " + d.split(": ", 1)[1] for d in definitions if d.startswith("arg: "))
    body = "\n".join(f"        {line}" for line in init_lines)
    stack = ",\n            ".join(layers)
    source = (
        "import torch.nn as nn\n\n"
        + "".join(f"{line}\n" for line in module_lines)
        + "\n\nclass Net(nn.Module):\n"
        + f"    def __init__(self{arguments}):\n"
        + "        super().__init__()\n"
        + (body + "\n" if body else "")
        + f"        self.net = nn.Sequential(\n            {stack})\n\n"
        + "    def forward(self, x):\n"
        + "        return self.net(x)\n")
    return source, expressions


def _names(expression: str) -> set[str]:
    """The names and dotted attributes an expression refers to (``self.w1``, ``W2``)."""
    tree = ast.parse(expression, mode="eval")
    dotted = {ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    inner = {ast.unparse(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    plain = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return dotted | (plain - inner)


def _width_arguments(source: str) -> list[str]:
    """The first argument of each layer call that has a width, in call order."""
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
             and ast.unparse(n.func) in LAYERS_WITH_WIDTHS]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    return [ast.unparse(c.args[0]) for c in calls]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layer_stack())
def test_repair_keeps_every_name_a_width_referred_to(stack):
    source, expressions = stack
    result = repair(source, "Net", *DIGITS)
    if not result.ok:
        # only an expression that refers to a name may stop the repair, and the reason says so
        assert "` at line " in result.reason, result.reason
        refused = result.reason.split("`")[1]
        assert _names(refused), result.reason
        return
    repaired = _width_arguments(result.source)
    assert len(repaired) == len(expressions)
    for before, after in zip(expressions, repaired):
        assert _names(before) <= _names(after), (before, after)
    run_for_real(result.source, "Net", *DIGITS)
