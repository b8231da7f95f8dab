"""What names mean at a line of a model class: which are bound, and which hold a known constant."""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

BUILTIN_NAMES = frozenset(dir(builtins))
# attributes every nn.Module has, so `self.training` is always bound
MODULE_ATTRIBUTES = frozenset({"training"})
UNKNOWN = object()  # the value of an expression that is not a constant

_BINARY: dict[type, Callable[[object, object], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CALLS: dict[str, Callable[..., object]] = {
    "int": int,
    "float": float,
    "round": round,
    "max": max,
    "min": min,
    "abs": abs,
}
_MAX_DEPTH = 6


@dataclass
class Scope:
    """The names visible at one line of one method of a class, and their constant values."""

    module_names: set[str]
    module_values: dict[str, ast.expr]
    local_names: set[str] = field(default_factory=set)
    local_values: dict[str, ast.expr] = field(default_factory=dict)
    self_names: set[str] = field(default_factory=set)
    self_values: dict[str, tuple[ast.expr, Scope]] = field(default_factory=dict)

    def is_bound(self, name: str) -> bool:
        """Whether ``name`` can be read at this line without a NameError."""
        return name in self.local_names or name in self.module_names or name in BUILTIN_NAMES

    def has_attribute(self, attr: str) -> bool:
        """Whether ``self.<attr>`` has been set by the time this line runs."""
        return attr in self.self_names or attr in MODULE_ATTRIBUTES

    def value(self, node: ast.expr, depth: int = 0) -> object:
        """The constant value of ``node`` here, or :data:`UNKNOWN`."""
        if depth > _MAX_DEPTH:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.name_value(node.id, depth + 1)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "self" and node.attr in self.self_values:
                expr, scope = self.self_values[node.attr]
                return scope.value(expr, depth + 1)
            return UNKNOWN
        if isinstance(node, ast.Tuple):
            items = [self.value(e, depth + 1) for e in node.elts]
            return UNKNOWN if any(i is UNKNOWN for i in items) else tuple(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.value(node.operand, depth + 1)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner if isinstance(node.op, ast.USub) else inner
            return UNKNOWN
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _apply(
                _BINARY[type(node.op)],
                self.value(node.left, depth + 1),
                self.value(node.right, depth + 1),
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            function = _CALLS.get(node.func.id)
            if function is None or self.is_shadowed(node.func.id):
                return UNKNOWN
            args = [self.value(a, depth + 1) for a in node.args]
            return UNKNOWN if any(a is UNKNOWN for a in args) else _apply(function, *args)
        return UNKNOWN

    def name_value(self, name: str, depth: int = 0) -> object:
        """The constant a plain name holds here, or :data:`UNKNOWN`."""
        if name in self.local_names:
            expr = self.local_values.get(name)
        elif name in self.module_names:
            expr = self.module_values.get(name)
        else:
            return UNKNOWN
        return UNKNOWN if expr is None else self.value(expr, depth)

    def is_shadowed(self, name: str) -> bool:
        return name in self.local_names or name in self.module_names


def _apply(function: Callable[..., object], *args: object) -> object:
    if any(a is UNKNOWN for a in args):
        return UNKNOWN
    # guard against huge numbers from a Pow in hostile code
    if function is operator.pow and any(
        isinstance(a, (int, float)) and abs(a) > 64 for a in args[1:]
    ):
        return UNKNOWN
    try:
        return function(*args)
    except (ArithmeticError, TypeError, ValueError):
        return UNKNOWN


def _stored_names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _module_bindings(tree: ast.Module) -> tuple[set[str], dict[str, ast.expr]]:
    names: set[str] = set()
    values: dict[str, ast.expr] = {}
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
            continue
        _record_assignment(node, names, values)
        # bindings inside top-level if / try / for / with blocks are module-level too
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                stack.append(child)
            elif isinstance(child, ast.ExceptHandler):
                stack.extend(child.body)
    return names, values


def _record_assignment(node: ast.AST, names: set[str], values: dict[str, ast.expr]) -> None:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            names.update(_stored_names(target))
            if isinstance(target, ast.Name):
                values[target.id] = node.value
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        names.update(_stored_names(node.target))
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            values[node.target.id] = node.value
        elif isinstance(node.target, ast.Name):
            values.pop(node.target.id, None)  # `x += 1` makes x no longer a plain constant
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        names.update(_stored_names(node.target))
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                names.update(_stored_names(item.optional_vars))
    elif isinstance(node, ast.NamedExpr):
        names.update(_stored_names(node.target))


def _function_bindings(
    function: ast.FunctionDef | ast.AsyncFunctionDef, before_line: int | None
) -> tuple[set[str], dict[str, ast.expr]]:
    args = function.args
    names: set[str] = set()
    values: dict[str, ast.expr] = {}
    positional = [*args.posonlyargs, *args.args]
    for arg, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults):
        values[arg.arg] = default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
        if kw_default is not None:
            values[arg.arg] = kw_default
    names.update(a.arg for a in [*positional, *args.kwonlyargs])
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    assignments = sorted(
        (
            n
            for n in ast.walk(function)
            if isinstance(n, ast.stmt | ast.comprehension | ast.NamedExpr)
        ),
        key=lambda n: getattr(n, "lineno", 0),
    )
    for node in assignments:
        if node is function or (
            before_line is not None and getattr(node, "lineno", 0) >= before_line
        ):
            continue
        _record_assignment(node, names, values)
    return names, values


def _self_assignments(
    function: ast.FunctionDef | ast.AsyncFunctionDef, before_line: int | None
) -> dict[str, int]:
    """``self.x = ...`` targets of a method, with the line of their first assignment."""
    found: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if (
                        isinstance(sub, ast.Attribute)
                        and isinstance(sub.value, ast.Name)
                        and sub.value.id == "self"
                        and (before_line is None or node.lineno < before_line)
                    ):
                        found.setdefault(sub.attr, node.lineno)
    return found


def class_node(tree: ast.Module, class_name: str) -> ast.ClassDef | None:
    """The top-level class ``class_name`` of ``tree``."""
    return next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None
    )


def scope_at(tree: ast.Module, line: int, class_name: str | None = None) -> Scope:
    """The scope of the code at ``line`` (inside a method of ``class_name`` when given)."""
    module_names, module_values = _module_bindings(tree)
    scope = Scope(module_names, module_values)
    cls = class_node(tree, class_name) if class_name else None
    if cls is None:
        cls = next(
            (
                n
                for n in tree.body
                if isinstance(n, ast.ClassDef) and n.lineno <= line <= (n.end_lineno or n.lineno)
            ),
            None,
        )
    if cls is None:
        function = _enclosing_function(tree.body, line)
        if function is not None:
            scope.local_names, scope.local_values = _function_bindings(function, line)
        return scope
    methods = [n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    scope.self_names.update(m.name for m in methods)
    method = _enclosing_function(methods, line)
    if method is not None:
        scope.local_names, scope.local_values = _function_bindings(method, line)
    for other in methods:
        # in the method being read, only what was set above this line counts
        limit = line if other is method else None
        if other is not method and other.name != "__init__":
            continue
        for attr, attr_line in _self_assignments(other, limit).items():
            scope.self_names.add(attr)
            value = _self_value(other, attr)
            if value is not None and attr not in scope.self_values:
                init_scope = Scope(module_names, module_values)
                init_scope.local_names, init_scope.local_values = _function_bindings(
                    other, attr_line
                )
                scope.self_values[attr] = (value, init_scope)
    return scope


def _enclosing_function(
    nodes: Sequence[ast.stmt], line: int
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            return node
    return None


def _self_value(function: ast.FunctionDef | ast.AsyncFunctionDef, attr: str) -> ast.expr | None:
    """The expression of the only plain assignment ``self.<attr> = <expr>`` of a method."""
    values = [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Attribute)
        and isinstance(node.targets[0].value, ast.Name)
        and node.targets[0].value.id == "self"
        and node.targets[0].attr == attr
    ]
    return values[0] if len(values) == 1 else None
