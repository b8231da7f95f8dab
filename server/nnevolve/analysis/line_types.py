"""``analyze()``: every line-typed call of a Python file, in one walk over its ``ast``.

Fast enough for every keystroke of an editor: one parse, one iterative walk that keeps only
calls, imports and classes, and a dict lookup per call (measured at a small fraction of the
``ast.parse`` time itself; see benchmarks/bench_analysis.py).
"""

from __future__ import annotations

import ast
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from nnevolve.analysis.catalog import CatalogEntry
from nnevolve.analysis.details import describe
from nnevolve.analysis.imports import TORCH_ROOT, TorchNames
from nnevolve.analysis.items import Analysis, LineItem
from nnevolve.analysis.literals import SourceText, module_constants
from nnevolve.analysis.recovery import parse

logger = logging.getLogger(__name__)

_SKIPPED_FIELDS = ("ctx", "type_comment", "kind")


def _child_fields() -> dict[type, tuple[str, ...]]:
    """For each node class, the fields that can hold nodes (leaves and contexts left out)."""
    fields: dict[type, tuple[str, ...]] = {}
    for name in dir(ast):
        cls = getattr(ast, name)
        if isinstance(cls, type) and issubclass(cls, ast.AST) and cls._fields:
            kept = tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS)
            if kept and cls not in (ast.Constant, ast.Name, ast.alias):
                fields[cls] = kept
    return fields


_CHILD_FIELDS = _child_fields()


def _walk(tree: ast.Module) -> tuple[list[ast.Call], list[ast.stmt], list[ast.ClassDef]]:
    """One pass over the tree: its calls, its imports and its classes.

    An explicit stack and a precomputed field table are several times faster than
    ``ast.walk`` (which asks every node for all of its fields through a generator).
    """
    calls: list[ast.Call] = []
    imports: list[ast.stmt] = []
    classes: list[ast.ClassDef] = []
    fields = _CHILD_FIELDS
    call_cls, import_cls, from_cls, class_cls = ast.Call, ast.Import, ast.ImportFrom, ast.ClassDef
    stack: list[object] = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        cls = node.__class__
        if cls is call_cls:
            calls.append(node)  # type: ignore[arg-type]
        elif cls is import_cls or cls is from_cls:
            imports.append(node)  # type: ignore[arg-type]
            continue
        elif cls is class_cls:
            classes.append(node)  # type: ignore[arg-type]
        names = fields.get(cls)
        if names is None:
            continue  # a leaf, None, a str, an int
        for name in names:
            value = getattr(node, name, None)
            if value.__class__ is list:
                extend(value)
            elif value is not None:
                push(value)
    return calls, imports, classes


def _torch_names(
    tree: ast.Module, imports: list[ast.stmt], classes: list[ast.ClassDef]
) -> TorchNames:
    """Resolve the file's imports, module-level rebindings and torch-layer subclasses."""
    names = TorchNames()
    module_level = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    events = sorted([*imports, *module_level], key=lambda s: (s.lineno, s.col_offset))
    for statement in events:  # in file order: a later binding wins
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.add_import(statement)
        else:
            names.add_module_statement(statement)
    if names.bindings or names.star_modules:
        names.add_subclasses(classes)
    return names


def _items(tree: ast.Module, text: SourceText) -> list[LineItem]:
    calls, imports, classes = _walk(tree)
    names = _torch_names(tree, imports, classes)
    if not (names.bindings or names.star_modules):
        return []  # nothing in this file comes from torch
    tagged: dict[int, tuple[ast.Call, CatalogEntry]] = {}
    for call in calls:
        entry = names.entry(call.func)
        if entry is not None:
            tagged[id(call)] = (call, entry)
    if not tagged:
        return []
    constants = module_constants(tree.body)
    described: dict[int, tuple[str, int | None]] = {}

    def description(call: ast.Call, entry: CatalogEntry) -> tuple[str, int | None]:
        key = id(call)
        if key not in described:
            described[key] = describe(entry, call, constants, text, params_of)
        return described[key]

    def params_of(node: ast.expr) -> int | None:  # a container's element
        found = tagged.get(id(node))
        return None if found is None else description(*found)[1]

    items = []
    for call, entry in tagged.values():
        detail, params = description(call, entry)
        end_line = call.end_lineno or call.lineno
        items.append(
            LineItem(
                line=call.lineno,
                col=text.char_col(call.lineno, call.col_offset),
                end_line=end_line,
                end_col=text.char_col(end_line, call.end_col_offset or 0),
                type=entry.type,
                name=entry.name,
                detail=detail,
                params=params,
            )
        )
    items.sort(key=lambda item: (item.line, item.col))
    return items


def _analyze(source: str) -> Analysis:
    """The analysis proper; may raise on a bug, which ``analyze`` turns into an empty result."""
    if not isinstance(source, str):
        source = bytes(source).decode("utf-8", "surrogateescape")
    parsed = parse(source)
    error = parsed.error
    if parsed.bom and error is not None and error.line == 1:
        error = replace(error, col=error.col + 1, end_col=error.end_col + (error.end_line == 1))
    if parsed.tree is None:
        return Analysis((), error, False)
    if TORCH_ROOT not in parsed.text:
        # every binding to torch needs an import that spells "torch": nothing can be tagged
        return Analysis((), error, parsed.repaired)
    items = _items(parsed.tree, SourceText(parsed.text, first_line_shift=int(parsed.bom)))
    return Analysis(tuple(items), error, parsed.repaired)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building and walking a tree.

    A parse allocates hundreds of thousands of AST nodes, which set off full collections that
    each traverse all of them again (measured: up to half the time on a 20,000-line file).
    AST nodes hold no reference cycles, so reference counting alone frees them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyze(source: str) -> Analysis:
    """Every line-typed item of ``source`` and its first syntax problem, if any.

    Uses the stdlib ``ast`` only (never imports torch) and never raises: a broken file gives
    the items of the parts that parse, flagged ``stale``, plus the error's position.
    """
    try:
        with _collector_paused():
            return _analyze(source)
    except Exception:  # an editor must survive a bug here; the tests call _analyze directly
        logger.exception("line-type analysis failed")
        return Analysis((), None, False)
