"""Configuration data of a model as sites: table entries and literal arguments of block calls.

``cfg = {'VGG11': [64, 'M', 128, ...]}``, a MobileNet ``cfg = [64, (128, 2), ...]`` table, the
``[2, 2, 2, 2]`` of ``ResNet(BasicBlock, [2, 2, 2, 2])`` in a factory and the ``128`` of
``self._make_layer(block, 128, num_blocks[1], stride=2)`` drive how the model is built. Each
entry has a role that decides how it may change: a ``width``, a repeat ``count``, a ``stride``,
or a ``marker`` string such as ``'M'`` (a pooling stage). Positions are 1-based lines and
0-based character columns, as libcst and the genome's sites count them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from nnevolve.genome.liveness import Liveness, char_col, config_tables

Span = tuple[int, int, int, int]  # line, column, end line, end column (characters)
WIDTH_MIN = 8  # ints at least this large are widths; smaller ones are counts or factors


@dataclass(frozen=True)
class ConfigEntry:
    """One int or string a model's construction reads."""

    table: str  # where it is, in words: "cfg['VGG11']", "ResNet argument 2", "_make_layer"
    span: Span
    value: int | str
    role: str  # "width" | "count" | "stride" | "marker" | "block"
    list_index: int | None = None  # the ConfigList that holds it as a direct element, if any
    choices: tuple[str, ...] = ()  # "block": the file's classes that could take its place

    @property
    def line(self) -> int:
        return self.span[0]


@dataclass(frozen=True)
class ConfigList:
    """A literal list of entries (or of tuples of entries) that may grow and shrink."""

    table: str
    span: Span  # the list literal, brackets included
    elements: tuple[Span, ...]  # each element (an entry or a tuple), in order
    texts: tuple[str, ...]  # each element's source text
    has_markers: bool  # holds strings such as 'M' besides numbers
    fixed_length: bool  # read by position (stage counts): elements may change but not move


def span_of(node: ast.AST, lines: list[str]) -> Span:
    """An ast node's span in 1-based lines and character columns."""
    end_line = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    return (node.lineno, char_col(lines, node.lineno, node.col_offset),  # type: ignore[attr-defined]
            end_line, char_col(lines, end_line, node.end_col_offset or 0))  # type: ignore[attr-defined]


def _int(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _role(value: int | str, stride_like: bool) -> str | None:
    if isinstance(value, str):
        return "marker"
    if stride_like:
        return "stride"
    if value >= WIDTH_MIN:
        return "width"
    if value >= 1:
        return "count"
    return None


def _stride_positions(elements: list[ast.expr]) -> set[int]:
    """Tuple positions that hold only 1s and 2s across a list of tuples: strides."""
    tuples = [e for e in elements if isinstance(e, ast.Tuple)]
    if len(tuples) < 2:
        return set()
    width = min(len(t.elts) for t in tuples)
    return {p for p in range(1, width)
            if all(_int(t.elts[p]) in (1, 2) for t in tuples)}


class _Collector:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.source_lines = self.lines
        self.entries: list[ConfigEntry] = []
        self.lists: list[ConfigList] = []

    def text(self, span: Span) -> str:
        line, col, end_line, end_col = span
        if line == end_line:
            return self.lines[line - 1][col:end_col]
        parts = [self.lines[line - 1][col:], *self.lines[line:end_line - 1],
                 self.lines[end_line - 1][:end_col]]
        return "\n".join(parts)

    def literal(self, node: ast.expr, table: str, *, fixed_length: bool = False) -> None:
        """Entries of a literal (recursively), and the lists among them."""
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant):
                    self.literal(value, f"{table}[{key.value!r}]", fixed_length=fixed_length)
            return
        if not isinstance(node, (ast.List, ast.Tuple)):
            return
        strides = _stride_positions(node.elts)
        index = None
        if isinstance(node, ast.List) and node.elts:
            index = len(self.lists)
            self.lists.append(ConfigList(
                table, span_of(node, self.lines), tuple(span_of(e, self.lines) for e in node.elts),
                tuple(self.text(span_of(e, self.lines)) for e in node.elts),
                any(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts),
                fixed_length or all(_int(e) is not None and _int(e) < WIDTH_MIN  # stage counts
                                    for e in node.elts)))
        for element in node.elts:
            if isinstance(element, ast.Tuple):
                for position, inner in enumerate(element.elts):
                    self.leaf(inner, table, position in strides, None)
            elif isinstance(element, (ast.List, ast.Dict)):
                self.literal(element, table, fixed_length=fixed_length)
            else:
                self.leaf(element, table, False, index)

    def leaf(self, node: ast.expr, table: str, stride_like: bool, list_index: int | None) -> None:
        if isinstance(node, ast.Constant) and type(node.value) in (int, str):
            role = _role(node.value, stride_like)
            if role is not None:
                self.entries.append(ConfigEntry(table, span_of(node, self.lines), node.value, role,
                                                list_index))


def _same_file_callee(call: ast.Call, definitions: set[str]) -> str | None:
    """``Block`` / ``ResNet`` / ``_make_layer`` when the call builds with code of the file."""
    func = call.func
    if isinstance(func, ast.Name) and func.id in definitions:
        return func.id
    if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "self" and func.attr.startswith("_")):
        return func.attr  # a helper method: `self._make_layer(block, 128, ...)`
    return None


def config_entries(tree: ast.Module, source: str, owners: Iterable[str],
                   live: Liveness | None) -> tuple[list[ConfigEntry], list[ConfigList]]:
    """The configuration entries the model reads (all those it may read, without ``live``)."""
    collector = _Collector(source)
    owner_names = set(owners)
    definitions = {n.name: n for n in tree.body
                   if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    used_names = {n.id for name in owner_names if name in definitions
                  for n in ast.walk(definitions[name]) if isinstance(n, ast.Name)}
    used_names |= {n.attr for name in owner_names if name in definitions
                   for n in ast.walk(definitions[name]) if isinstance(n, ast.Attribute)}
    reads = live.config_reads if live is not None else None
    # tables: module-level and class-level literals
    for table in config_tables(tree, source):
        if table.owner is not None and table.owner not in owner_names:
            continue
        if reads is None and table.name not in used_names:
            continue
        collector.literal(table.node, table.name)
    # literal arguments of calls to the file's classes, functions and helper methods
    lines_run = live.built_lines if live is not None else None
    for name in owner_names:
        node = definitions.get(name)
        if node is None:
            continue
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            callee = _same_file_callee(call, set(definitions))
            if callee is None or (lines_run is not None and call.lineno not in lines_run):
                continue
            for position, arg in enumerate(call.args):
                label = f"{callee} argument {position + 1}"
                if isinstance(arg, ast.List):
                    collector.literal(arg, label, fixed_length=True)
                else:
                    collector.leaf(arg, label, False, None)
            for keyword in call.keywords:
                if keyword.arg is None:
                    continue
                label = f"{callee} {keyword.arg}="
                if isinstance(keyword.value, ast.List):
                    collector.literal(keyword.value, label, fixed_length=True)
                else:
                    collector.leaf(keyword.value, label, "stride" in keyword.arg, None)
    entries = collector.entries
    if reads is not None:  # call arguments were filtered by the lines that ran, above
        entries = [e for e in entries
                   if (e.span[0], e.span[1]) in reads or not _in_table(e, tree)]
    entries += _class_constants(tree, owner_names, collector.lines)
    entries += _block_arguments(tree, owner_names, definitions, lines_run, collector.lines)
    entries.sort(key=lambda e: e.span)
    lists = [cl for cl in collector.lists
             if any(_within(e.span, cl.span) for e in entries)]
    return entries, lists


def _within(inner: Span, outer: Span) -> bool:
    return outer[:2] <= inner[:2] and inner[2:] <= outer[2:]


def _in_table(entry: ConfigEntry, tree: ast.Module) -> bool:
    """Whether an entry sits in a module- or class-level table (whose reads are tracked)."""
    line = entry.span[0]
    for statement in tree.body:
        nodes = [statement] + (list(statement.body) if isinstance(statement, ast.ClassDef) else [])
        for node in nodes:
            if (isinstance(node, (ast.Assign, ast.AnnAssign))
                    and node.lineno <= line <= (node.end_lineno or node.lineno)):
                return True
    return False


def _class_constants(tree: ast.Module, owners: set[str], lines: list[str]) -> list[ConfigEntry]:
    """Int class attributes of the model's block classes (``expansion = 4``): one edit there
    changes every instance of the block consistently."""
    found = []
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name in owners):
            continue
        for statement in node.body:
            if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                    and _int(statement.value) is not None):
                value = _int(statement.value)
                role = _role(value, False) if value is not None else None
                if role is not None:
                    found.append(ConfigEntry(f"{node.name}.{statement.targets[0].id}",
                                             span_of(statement.value, lines), value, role))
    return found


def _init_parameters(cls: ast.ClassDef) -> tuple[str, ...] | None:
    for statement in cls.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            return tuple(a.arg for a in statement.args.args[1:])
    return None


def _block_arguments(tree: ast.Module, owners: set[str],
                     definitions: dict[str, ast.ClassDef | ast.FunctionDef],
                     lines_run: frozenset[int] | None, lines: list[str]) -> list[ConfigEntry]:
    """Block classes passed by name to the model's code (``ResNet(BasicBlock, [2, 2, 2, 2])``):
    another class of the file with the same constructor parameters may take their place."""
    classes = {name: node for name, node in definitions.items() if isinstance(node, ast.ClassDef)}
    signatures = {name: _init_parameters(node) for name, node in classes.items()}
    found = []
    for owner in owners:
        node = definitions.get(owner)
        if node is None:
            continue
        for call in ast.walk(node):
            if not isinstance(call, ast.Call) or (lines_run is not None
                                                  and call.lineno not in lines_run):
                continue
            callee = _same_file_callee(call, set(definitions))
            if callee is None:
                continue
            for position, arg in enumerate(call.args):
                if not (isinstance(arg, ast.Name) and arg.id in classes):
                    continue
                signature = signatures.get(arg.id)
                choices = tuple(other for other, params in signatures.items()
                                if other != arg.id and params is not None and params == signature)
                if choices:
                    found.append(ConfigEntry(f"{callee} argument {position + 1}",
                                             span_of(arg, lines), arg.id, "block", None, choices))
    return found
