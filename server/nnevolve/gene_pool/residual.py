"""Residual blocks as genes: ``nn.Module`` classes whose ``forward`` adds a shortcut
(torchvision's ``BasicBlock`` and ``Bottleneck``, a workspace's own), taken with the helper
functions and imports they need so that another file can hold them.

A class is taken when it is self-contained: every name it uses is a builtin, a parameter or
local of its own, a function or class of its file (taken along), or an import from torch or
the standard library (``typing``, ``math``, ...). A relative import (torchvision's
``Conv2dNormActivation`` for MobileNet's inverted residual) or one of another package would
make the receiving file depend on the zoo, so such a class is left out. It must be built as
``Block(in_channels, planes)`` with ``planes × expansion`` output channels and keep the size at
its default stride.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass

from nnevolve.gene_pool.zoo import provenance
from nnevolve.genome.model_classes import module_subclasses

ALLOWED_IMPORTS = frozenset({"torch", "typing", "math", "functools", "collections",
                             "itertools", "numbers"})
MAX_HELPERS = 6  # functions and classes taken along with a block
MAX_SOURCE = 12_000  # characters of a block with its helpers


@dataclass(frozen=True)
class ResidualBlock:
    """A residual block class with the definitions it needs, and where it comes from."""

    name: str  # the class, as its source defines it
    source: str  # the helper definitions then the class, as written in their file
    imports: tuple[str, ...]  # import statements for the names the source uses
    expansion: int  # output channels = planes × expansion
    origin: str

    @property
    def provenance(self) -> str:
        """``from torchvision resnet.py``, ``from models/net.py``."""
        return provenance(self.origin) or f"from {self.origin}"


def harvest_residual_blocks(source: str) -> Iterator[tuple[str, str, tuple[str, ...], int]]:
    """``(name, source, imports, expansion)`` of each self-contained residual block class."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return
    top = {node.name: node for node in tree.body
           if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    imported = _imports(tree)
    for cls in module_subclasses(tree):
        if cls.decorator_list or not _is_residual(cls) or _expansion(cls) is None:
            continue
        needed = _needed(cls, top, imported)
        if needed is None:
            continue
        helpers, imports = needed
        parts = [ast.get_source_segment(source, node) or "" for node in [*helpers, cls]]
        text = "\n\n\n".join(parts)
        if all(parts) and len(text) <= MAX_SOURCE:
            yield cls.name, text, tuple(imports), _expansion(cls) or 1


def _is_residual(cls: ast.ClassDef) -> bool:
    """A ``forward`` that adds (``out += identity``, ``x + self.block(x)``) and an
    ``__init__(self, in_channels, planes, ...)`` whose other parameters have defaults, with a
    stride (if any) of 1 by default."""
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    forward, init = methods.get("forward"), methods.get("__init__")
    if forward is None or init is None:
        return False
    adds = any(isinstance(n, (ast.AugAssign, ast.BinOp)) and isinstance(n.op, ast.Add)
               for n in ast.walk(forward))
    args = init.args
    positional = [*args.posonlyargs, *args.args][1:]
    required = len(positional) - len(args.defaults)
    if not adds or required != 2 or args.vararg or any(
            d is None for d in args.kw_defaults):
        return False
    defaults = dict(zip([a.arg for a in positional][required:], args.defaults))
    stride = defaults.get("stride")
    return stride is None or (isinstance(stride, ast.Constant) and stride.value == 1)


def _expansion(cls: ast.ClassDef) -> int | None:
    """The class's ``expansion`` (1 when it has none); None when it is not a literal."""
    for node in cls.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            else getattr(node, "target", None) if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "expansion":
            value = node.value  # type: ignore[union-attr]
            ok = isinstance(value, ast.Constant) and isinstance(value.value, int)
            return value.value if ok and value.value >= 1 else None  # type: ignore[union-attr]
    return 1


def _imports(tree: ast.Module) -> dict[str, str | None]:
    """The names a module's top-level imports bind: the import statement that binds each
    (None for a relative import or one of a package outside ALLOWED_IMPORTS)."""
    found: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                allowed = alias.name.split(".")[0] in ALLOWED_IMPORTS
                bound = alias.asname or alias.name.split(".")[0]
                spelled = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                found[bound] = spelled if allowed else None
        elif isinstance(node, ast.ImportFrom):
            allowed = node.level == 0 and (node.module or "").split(".")[0] in ALLOWED_IMPORTS
            for alias in node.names:
                spelled = f"from {node.module} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else "")
                found[alias.asname or alias.name] = spelled if allowed else None
    return found


def _needed(cls: ast.ClassDef, top: dict[str, ast.FunctionDef | ast.ClassDef],
            imported: dict[str, str | None]
            ) -> tuple[list[ast.FunctionDef | ast.ClassDef], list[str]] | None:
    """The file's definitions (in file order) and the imports ``cls`` needs; None when it
    needs anything else."""
    helpers: list[ast.FunctionDef | ast.ClassDef] = []
    imports: list[str] = []
    pending, seen = [cls], {cls.name}
    while pending:
        node = pending.pop()
        for name in sorted(free_names(node)):
            if name in seen:
                continue
            seen.add(name)
            if name in top and not top[name].decorator_list:
                helpers.append(top[name])
                pending.append(top[name])
            elif imported.get(name) is not None:
                imports.append(imported[name])  # type: ignore[arg-type]
            else:
                return None  # a module-level value, a relative or foreign import
        if len(helpers) > MAX_HELPERS:
            return None
    helpers.sort(key=lambda n: n.lineno)
    return helpers, sorted(set(imports))


def free_names(node: ast.AST) -> set[str]:
    """Names ``node`` reads that it does not bind itself and that are not builtins."""
    bound: set[str] = set()
    loads: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (loads if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and sub is not node:
            bound.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        bound.add(node.name)
    return loads - bound - set(dir(builtins))
