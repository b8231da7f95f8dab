"""Which names of a file stand for which torch objects, read from its imports.

``import torch.nn as nn`` binds ``nn`` to ``torch.nn``; ``from torch.nn import Conv2d as C``
binds ``C`` to ``torch.nn.Conv2d``; a later ``def C(...)`` or ``from mylib import C`` at module
level unbinds it again. Only torch bindings are kept: anything else is never tagged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from nnevolve.analysis.catalog import CatalogEntry, lookup

TORCH_ROOT = "torch"


def dotted_parts(expr: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but a chain of names."""
    parts: list[str] = []
    while expr.__class__ is ast.Attribute:
        parts.append(expr.attr)
        expr = expr.value
    if expr.__class__ is not ast.Name:
        return None
    parts.append(expr.id)
    parts.reverse()
    return parts


def _is_torch(qualified: str) -> bool:
    return qualified == TORCH_ROOT or qualified.startswith(TORCH_ROOT + ".")


def torch_bindings(statements: Iterable[ast.stmt]) -> dict[str, str]:
    """The names the import statements among ``statements`` bind to torch objects.

    ``import torch.nn as nn`` gives ``{"nn": "torch.nn"}``, ``import torch.nn`` gives
    ``{"torch": "torch"}``, ``from torch.nn import Conv2d as C`` gives ``{"C": "torch.nn.Conv2d"}``.
    Statements are read in order: a later import of the same name from elsewhere (a relative
    one included) unbinds it. Statements other than imports, and star imports, are skipped;
    nested imports (in ``try``, ``if``, functions) only count when passed in themselves.
    """
    names = TorchNames()
    for statement in statements:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.add_import(statement)
    return names.bindings


def resolve_name(expr: ast.expr, bindings: Mapping[str, str]) -> str | None:
    """The qualified name a dotted expression stands for through ``bindings``, if any.

    With ``{"nn": "torch.nn"}``, ``nn.Linear`` gives ``"torch.nn.Linear"``; a name that is not
    bound, or an expression that is not a chain of names (``f().x``), gives None.
    """
    parts = dotted_parts(expr)
    if parts is None:
        return None
    head = bindings.get(parts[0])
    return None if head is None else ".".join([head, *parts[1:]])


class TorchNames:
    """The file's names bound to torch objects, and how to resolve a callee through them."""

    def __init__(self) -> None:
        self.bindings: dict[str, str] = {}  # local name -> qualified torch name
        self.star_modules: list[str] = []  # torch modules imported with `*`
        self.local_classes: dict[str, CatalogEntry] = {}  # same-file subclasses of torch layers

    # -- building ------------------------------------------------------------------------
    def bind(self, name: str, qualified: str | None) -> None:
        """Bind ``name`` to a qualified name; a non-torch target unbinds it."""
        if qualified is not None and _is_torch(qualified):
            self.bindings[name] = qualified
        else:
            self.bindings.pop(name, None)
        self.local_classes.pop(name, None)

    def add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """Record what an import statement binds."""
        if node.__class__ is ast.Import:
            for alias in node.names:
                if alias.asname:
                    self.bind(alias.asname, alias.name)
                else:  # `import torch.nn` binds `torch`
                    root = alias.name.split(".", 1)[0]
                    self.bind(root, root)
            return
        module = node.module  # type: ignore[union-attr]
        if node.level or not module:  # type: ignore[union-attr]
            for alias in node.names:  # a relative import never reaches torch
                self.bind(alias.asname or alias.name, None)
            return
        for alias in node.names:
            if alias.name == "*":
                if _is_torch(module):
                    self.star_modules.append(module)
            else:
                self.bind(alias.asname or alias.name, f"{module}.{alias.name}")

    def add_module_statement(self, node: ast.stmt) -> None:
        """Let a module-level def, class or assignment rebind the names it defines."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.bind(node.name, None)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            # `Conv = nn.Conv2d` makes an alias; any other value shadows the name
            qualified = self.qualified(value) if value is not None else None
            for target in targets:
                if target.__class__ is ast.Name:
                    self.bind(target.id, qualified)

    def add_subclasses(self, classes: Iterable[ast.ClassDef]) -> None:
        """Give each class that derives from a tagged torch class its base's entry."""
        pending = list(classes)
        changed = True
        while pending and changed:  # a subclass of a subclass needs a second pass
            changed = False
            for node in list(pending):
                base = next((e for e in map(self.entry, node.bases) if e is not None), None)
                if base is not None:
                    self.local_classes[node.name] = _subclass_entry(node, base)
                    pending.remove(node)
                    changed = True

    # -- resolving -------------------------------------------------------------------------
    def qualified(self, expr: ast.expr) -> str | None:
        """The qualified torch name a dotted expression stands for, if any."""
        found = resolve_name(expr, self.bindings)
        if found is not None or not self.star_modules:
            return found
        parts = dotted_parts(expr)
        if parts is None:
            return None
        for module in self.star_modules:
            candidate = ".".join([module, *parts])
            if lookup(candidate) is not None:
                return candidate
        return None

    def entry(self, func: ast.expr) -> CatalogEntry | None:
        """The catalog entry of a callee expression, or None when it is not a torch layer."""
        cls = func.__class__
        if cls is ast.Name:
            name = func.id  # type: ignore[attr-defined]
            local = self.local_classes.get(name)
            if local is not None:
                return local
            if name not in self.bindings and not self.star_modules:
                return None
        elif cls is ast.Attribute:
            head = func
            while head.__class__ is ast.Attribute:
                head = head.value
            if head.__class__ is not ast.Name or (
                head.id not in self.bindings and not self.star_modules
            ):
                return None  # the common case: self.conv1(x), x.view(...), print(...)
        else:
            return None
        qualified = self.qualified(func)
        return lookup(qualified) if qualified is not None else None


def _subclass_entry(node: ast.ClassDef, base: CatalogEntry) -> CatalogEntry:
    """The entry of a same-file class deriving from ``base``: its type, under its own name.

    A class that keeps its base's constructor keeps its signature and formulas too.
    """
    own_init = any(
        isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "__init__"
        for stmt in node.body
    )
    return CatalogEntry(
        type=base.type,
        name=node.name,
        short=node.name,
        args=() if own_init else base.args,
        hidden=base.hidden,
        formula=None if own_init else base.formula,
        is_module=base.is_module,
        base=base.base or base.short,
    )
