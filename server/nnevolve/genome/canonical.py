"""Layer calls in a file-independent form (``nn.Linear(4, 5)``, ``F.relu(x)``) and back again.

The canonical form spells torch.nn as ``nn``, torch.nn.functional as ``F`` and torch as
``torch``, whatever aliases the file it came from used. :func:`render` turns a canonical call
into the spelling of a receiving file and says which imports that file still needs.
"""

from __future__ import annotations

import ast
import math

import libcst as cst

from nnevolve.genome.imports import alias_for, torch_aliases
from nnevolve.genome.scope import BUILTIN_NAMES, MODULE_ATTRIBUTES, UNKNOWN, Scope

# canonical prefix → (qualified module, import statement that binds the prefix)
PREFIXES = {
    "nn": ("torch.nn", "import torch.nn as nn"),
    "F": ("torch.nn.functional", "import torch.nn.functional as F"),
    "torch": ("torch", "import torch"),
}
FUNCTIONAL_DATA = "x"  # the placeholder for the tensor argument of a stored functional call


def canonical_callee(qualified: str) -> str | None:
    """``torch.nn.Conv2d`` → ``nn.Conv2d``, ``torch.nn.functional.relu`` → ``F.relu``."""
    parts = qualified.split(".")
    if parts[0] != "torch" or len(parts) < 2:
        return None
    if parts[1:3] == ["nn", "functional"] and len(parts) > 3:
        return "F." + parts[-1]
    if parts[1] == "nn" and len(parts) > 2:
        # torch.nn.modules.conv.Conv2d is torch.nn.Conv2d
        return "nn." + parts[-1]
    return qualified


def is_functional(code: str) -> bool:
    """Whether a canonical call is a function on a tensor (``F.relu(x)``) rather than a layer."""
    callee = code.split("(", 1)[0]
    return callee.startswith(("F.", "torch.")) and callee.rsplit(".", 1)[-1][:1].islower()


def canonicalize(call: cst.Call, qualified: str) -> cst.Call | None:
    """``call`` with its callee in canonical spelling, or None when it is not a torch callee."""
    callee = canonical_callee(qualified)
    if callee is None:
        return None
    return call.with_changes(func=cst.parse_expression(callee))


def bind_constants(
    call: cst.Call, scope: Scope, receiver: Scope | None = None
) -> tuple[cst.Call, list[str]]:
    """Replace the names of ``call``'s arguments that ``receiver`` lacks by their constant values.

    ``scope`` is where the call came from. With no ``receiver`` every name is replaced. An
    argument whose names all became constants is folded (``2*p`` with ``p = 16`` → ``32``).
    Returns the new call and the names (``p``, ``self.hidden``) that could not be bound.
    """
    new_args = []
    unbound: list[str] = []
    for arg in call.args:
        value, missing, changed = _bind_expression(arg.value, scope, receiver)
        unbound.extend(missing)
        if changed and not missing:
            folded = _fold(value, scope)
            value = folded if folded is not None else value
        new_args.append(arg.with_changes(value=value))
    return call.with_changes(args=new_args), unbound


def _bind_expression(
    expr: cst.BaseExpression, scope: Scope, receiver: Scope | None
) -> tuple[cst.BaseExpression, list[str], bool]:
    binder = _Binder(scope, receiver)
    result = expr.visit(binder)
    assert isinstance(result, cst.BaseExpression)
    return result, binder.unbound, binder.changed


def _literal(value: object) -> cst.BaseExpression | None:
    if isinstance(value, float) and math.isfinite(value):
        # a folded ``1 - 0.9997`` reads 0.0003, not 0.00029999999999996696
        value = float(f"{value:.12g}")
    if isinstance(value, (bool, int, float, str, tuple)) or value is None:
        try:
            text = repr(value)
            return cst.parse_expression(f"({text})" if text.startswith("-") else text)
        except cst.ParserSyntaxError:  # e.g. repr of inf / nan
            return None
    return None


def _fold(expr: cst.BaseExpression, scope: Scope) -> cst.BaseExpression | None:
    """``2*16`` → ``32``; None when the expression is not made of constants only."""
    if isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString, cst.Name)):
        return None
    try:
        node = ast.parse(cst.Module([]).code_for_node(expr), mode="eval").body
    except SyntaxError:
        return None
    value = scope.value(node)
    return None if value is UNKNOWN else _literal(value)


class _Binder(cst.CSTTransformer):
    """Replaces free names (and ``self.x``) that the receiver lacks by their constants."""

    def __init__(self, scope: Scope, receiver: Scope | None) -> None:
        self.scope = scope
        self.receiver = receiver
        self.unbound: list[str] = []
        self.changed = False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return False  # children are visited by hand below: `.attr` is never a free name

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if not (isinstance(original_node.value, cst.Name) and original_node.value.value == "self"):
            value = original_node.value.visit(self)
            assert isinstance(value, cst.BaseExpression)
            return updated_node.with_changes(value=value)
        attr = original_node.attr.value
        if attr in MODULE_ATTRIBUTES or (
            self.receiver is not None and self.receiver.has_attribute(attr)
        ):
            return updated_node
        node = ast.Attribute(value=ast.Name("self", ast.Load()), attr=attr, ctx=ast.Load())
        return self._constant(f"self.{attr}", node, updated_node)

    def visit_Arg(self, node: cst.Arg) -> bool:
        return False  # a keyword is a parameter name, never a free name

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        value = original_node.value.visit(self)
        assert isinstance(value, cst.BaseExpression)
        return updated_node.with_changes(value=value)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        name = original_node.value
        if name in ("True", "False", "None"):
            return updated_node
        if self.receiver is not None and self.receiver.is_bound(name):
            return updated_node
        if self.receiver is None and name in BUILTIN_NAMES and not self.scope.is_shadowed(name):
            return updated_node
        return self._constant(name, ast.Name(name, ast.Load()), updated_node)

    def _constant(
        self, label: str, node: ast.expr, fallback: cst.BaseExpression
    ) -> cst.BaseExpression:
        value = self.scope.value(node)
        # a None default (`classes=None`) marks a value the caller must give, not a constant
        literal = None if value is None else _literal(value)
        if literal is None:
            self.unbound.append(label)
            return fallback
        self.changed = True
        return literal


def render(call: cst.Call, tree: ast.Module) -> tuple[cst.Call, list[str]]:
    """``call`` (canonical) in the spelling of the file ``tree``, and the imports it still needs.

    ``nn.Linear(4, 5)`` stays ``nn.Linear(4, 5)`` in a file with ``from torch import nn``, becomes
    ``torch.nn.Linear(4, 5)`` in a file with only ``import torch``, and asks for
    ``import torch.nn as nn`` in a file with neither.
    """
    root, rest = _split_callee(call.func)
    if root not in PREFIXES:
        return call, []
    qualified, statement = PREFIXES[root]
    alias = alias_for(torch_aliases(tree), qualified)
    if alias is None:
        if root in _module_level_names(tree):
            raise ValueError(f"the name {root!r} is taken in the receiving file")
        return call, [statement]
    return call.with_changes(func=cst.parse_expression(".".join([alias, *rest]))), []


def _split_callee(func: cst.BaseExpression) -> tuple[str, list[str]]:
    parts: list[str] = []
    while isinstance(func, cst.Attribute):
        parts.append(func.attr.value)
        func = func.value
    return (func.value if isinstance(func, cst.Name) else ""), list(reversed(parts))


def _module_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.alias):
                names.add(sub.asname or sub.name.split(".")[0])
    return names
