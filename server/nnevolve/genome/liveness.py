"""Which lines and configuration entries of a file the chosen model actually uses.

The static check builds the model and runs one forward pass; while it does, :class:`LineTrace`
records the lines of the file that run and :func:`track_config` wraps the file's configuration
tables (``cfg = {'VGG11': [64, 'M', ...]}``, ``cfg = [64, (128, 2), ...]``) so that every entry
read is recorded. The result, a :class:`Liveness`, decides the genome's sites: a layer line in a
branch never taken, a block class never built or a config entry never read is not a site.
No torch here.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

Position = tuple[int, int]  # 1-based line, 0-based character column


@dataclass(frozen=True)
class Liveness:
    """What one build and forward pass of the model used."""

    built_lines: frozenset[int]  # lines that ran while the model was built
    forward_lines: frozenset[int]  # lines that ran in the forward pass
    used_calls: frozenset[Position]  # constructor calls whose layers computed in the forward pass
    config_reads: frozenset[Position]  # configuration entries read while building
    instances: tuple[tuple[Position, int], ...] = ()  # constructor call → layers it built

    def instances_of(self, position: Position) -> int:
        return dict(self.instances).get(position, 0)

    @property
    def lines(self) -> frozenset[int]:
        return self.built_lines | self.forward_lines


# -- configuration tables ----------------------------------------------------------------------

Layout = Any  # Position for a leaf; list[Layout] for a list/tuple; dict[key, Layout] for a dict


@dataclass(frozen=True)
class ConfigTable:
    """A literal table of ints and strings that drives construction."""

    owner: str | None  # class whose body defines it; None at module level
    name: str  # the name it is bound to
    node: ast.expr  # the literal (stdlib ast of the file)
    layout: Layout  # where each entry is, mirroring the literal's structure
    entries: tuple[Position, ...]  # every leaf entry, in source order


def char_col(lines: list[str], line: int, byte_col: int) -> int:
    """The character column of an ast (UTF-8 byte) column."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _layout(node: ast.expr, lines: list[str]) -> Layout | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, str):
        return (node.lineno, char_col(lines, node.lineno, node.col_offset))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(
            node.operand, ast.Constant) and type(node.operand.value) is int:
        return (node.lineno, char_col(lines, node.lineno, node.col_offset))
    if isinstance(node, (ast.List, ast.Tuple)):
        children = [_layout(e, lines) for e in node.elts]
        return None if any(c is None for c in children) else children
    if isinstance(node, ast.Dict):
        out: dict[object, Layout] = {}
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and type(key.value) in (int, str)):
                return None
            child = _layout(value, lines)
            if child is None:
                return None
            out[key.value] = child
        return out
    return None


def _leaves(layout: Layout) -> list[Position]:
    if isinstance(layout, tuple):
        return [layout]
    children = layout.values() if isinstance(layout, dict) else layout
    return [leaf for child in children for leaf in _leaves(child)]


def _has_int(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Constant) and type(n.value) is int for n in ast.walk(node))


def _table(owner: str | None, statement: ast.stmt, lines: list[str]) -> ConfigTable | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None
    if not isinstance(target, ast.Name) or not isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
        return None
    layout = _layout(value, lines)
    if layout is None or not _has_int(value):
        return None
    leaves = _leaves(layout)
    if not leaves:
        return None
    return ConfigTable(owner, target.id, value, layout, tuple(sorted(leaves)))


def config_tables(tree: ast.Module, source: str) -> list[ConfigTable]:
    """Module-level and class-level literal tables of ints (and strings) in the file."""
    lines = source.splitlines()
    found: list[ConfigTable] = []
    for statement in tree.body:
        table = _table(None, statement, lines)
        if table is not None:
            found.append(table)
        if isinstance(statement, ast.ClassDef):
            for inner in statement.body:
                table = _table(statement.name, inner, lines)
                if table is not None:
                    found.append(table)
    return found


# -- runtime: recording reads --------------------------------------------------------------


def _wrap(value: object, layout: Layout, reads: set[Position]) -> object:
    if isinstance(layout, tuple):
        return value
    if isinstance(value, dict) and isinstance(layout, dict):
        return _TrackedDict(value, layout, reads)
    if isinstance(value, (list, tuple)) and isinstance(layout, list) and len(value) == len(layout):
        children = [_wrap(v, child, reads) for v, child in zip(value, layout)]
        if isinstance(value, list):
            return _TrackedList(children, layout, reads)
        return _TrackedTuple(children, layout, reads)
    return value


def _mark(layout: Layout, reads: set[Position]) -> None:
    if isinstance(layout, tuple):
        reads.add(layout)


class _TrackedList(list):  # type: ignore[type-arg]
    """A config list that records which entries are read."""

    def __init__(self, items: list[object], layout: list[Layout], reads: set[Position]) -> None:
        super().__init__(items)
        self._layout, self._reads = layout, reads

    def _touch(self, index: int | slice) -> None:
        if isinstance(index, slice):
            for i in range(*index.indices(len(self._layout))):
                _mark(self._layout[i], self._reads)
        elif -len(self._layout) <= index < len(self._layout):
            _mark(self._layout[index], self._reads)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        if isinstance(index, (int, slice)):
            self._touch(index)
        return list.__getitem__(self, index)

    def __iter__(self) -> Iterator[object]:
        for i in range(list.__len__(self)):
            self._touch(i)
            yield list.__getitem__(self, i)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        self._touch(slice(None))  # a copy reads everything
        return (list, (list(list.__iter__(self)),))


class _TrackedTuple(tuple):  # type: ignore[type-arg]
    """A config tuple that records which entries are read."""

    def __new__(cls, items: list[object], layout: list[Layout], reads: set[Position]):  # type: ignore[no-untyped-def]
        made = super().__new__(cls, items)
        made._layout, made._reads = layout, reads  # type: ignore[attr-defined]
        return made

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        if isinstance(index, (int, slice)):
            _TrackedList._touch(self, index)  # type: ignore[arg-type]
        return tuple.__getitem__(self, index)

    def __iter__(self) -> Iterator[object]:
        for i in range(tuple.__len__(self)):
            _TrackedList._touch(self, i)  # type: ignore[arg-type]
            yield tuple.__getitem__(self, i)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        _TrackedList._touch(self, slice(None))  # type: ignore[arg-type]
        return (tuple, (tuple(tuple.__iter__(self)),))


class _TrackedDict(dict):  # type: ignore[type-arg]
    """A config dict that records which values are read."""

    def __init__(self, items: dict[object, object], layout: dict[object, Layout],
                 reads: set[Position]) -> None:
        super().__init__({k: _wrap(v, layout[k], reads) if k in layout else v
                          for k, v in items.items()})
        self._layout, self._reads = layout, reads

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        if key in self._layout:
            _mark(self._layout[key], self._reads)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        return self[key] if key in self else default

    def values(self):  # type: ignore[no-untyped-def]
        return [self[k] for k in dict.keys(self)]

    def items(self):  # type: ignore[no-untyped-def]
        return [(k, self[k]) for k in dict.keys(self)]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (dict, ({k: self[k] for k in dict.keys(self)},))


def track_config(namespace: dict[str, object], tables: list[ConfigTable],
                 reads: set[Position]) -> None:
    """Replace the file's config tables (module and class attributes) by recording copies.

    A table whose value no longer equals its literal (changed while the file ran) is left alone.
    """
    for table in tables:
        try:
            literal = ast.literal_eval(table.node)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if table.owner is None:
            holder: Any = namespace
            current = namespace.get(table.name)
        else:
            holder = namespace.get(table.owner)
            current = getattr(holder, "__dict__", {}).get(table.name)
        if current is None or current != literal or type(current) is not type(literal):
            continue
        wrapped = _wrap(current, table.layout, reads)
        if table.owner is None:
            namespace[table.name] = wrapped
        else:
            try:
                setattr(holder, table.name, wrapped)
            except (AttributeError, TypeError):
                continue


class LineTrace:
    """Records the lines of one file (by its code objects' file name) that run."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: set[int] = set()
        self._previous: Callable[..., Any] | None = None

    def _global(self, frame: FrameType, event: str, _arg: object):  # type: ignore[no-untyped-def]
        if frame.f_code.co_filename != self.filename:
            return None  # no line events for torch's own code: cheap
        self.lines.add(frame.f_lineno)
        return self._local

    def _local(self, frame: FrameType, event: str, _arg: object):  # type: ignore[no-untyped-def]
        if event == "line":
            self.lines.add(frame.f_lineno)
        return self._local

    def __enter__(self) -> LineTrace:
        self._previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *_exc: object) -> None:
        sys.settrace(self._previous)
