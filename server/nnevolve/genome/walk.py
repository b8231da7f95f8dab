"""One pass over a libcst tree that records each node's position, parent and source order,
and the one ast↔libcst matcher of the engine: nodes are matched by their whole range.

libcst's PositionProvider and a visitor per question each cost a walk of the tree (a visitor
rebuilds every node it passes); recording all three during a single code generation is several
times cheaper and gives the same positions, since it is the same code generation.

A range is (first line, first column, last line, end column): 1-based file lines, 0-based
code-point columns, the syntax of the node without surrounding parentheses or whitespace.
``ast`` gives the same ranges in UTF-8 bytes; :func:`ast_range` converts them. A start alone is
not unique (``f(x).view(-1)`` starts where ``f(x)`` does), a whole range of one node type is.
"""

from __future__ import annotations

import ast
import re
from typing import TypeVar

import libcst as cst
from libcst._nodes.internal import CodegenState

from nnevolve.analysis.literals import SourceText

_NEWLINE = re.compile(r"\r\n?|\n")  # as libcst.metadata.position_provider counts lines
Range = tuple[int, int, int, int]  # start line, start column, end line, end column
_NodeT = TypeVar("_NodeT", bound=cst.CSTNode)


class Positions:
    """Line and column of the nodes of one class (libcst PositionProvider ranges, file lines)."""

    def __init__(self, ranges: dict[cst.CSTNode, Range], offset: int) -> None:
        self._ranges = ranges
        self._offset = offset

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        line, column, _, _ = self._ranges[node]
        return line + self._offset, column

    def end(self, node: cst.CSTNode) -> tuple[int, int]:
        _, _, line, column = self._ranges[node]
        return line + self._offset, column


class NodeWalk:
    """The positions, parents and source order of the nodes under one node (default: the module).

    ``find`` is the matcher: the node of a type that covers exactly a range, such as the range
    of an ast node (:func:`ast_range`) or of an analysis item.
    """

    def __init__(self, module: cst.Module, root: cst.CSTNode | None = None) -> None:
        recorder = _Recorder(module)
        (module if root is None else root)._codegen(recorder)
        self.parents: dict[cst.CSTNode, cst.CSTNode] = recorder.parents
        self.positions = Positions(recorder.ranges, 0)
        self._ranges = recorder.ranges
        self._nodes = recorder.nodes
        self._spans = recorder.spans
        self._by_range: dict[Range, list[cst.CSTNode]] | None = None

    def below(self, node: cst.CSTNode, kind: type[_NodeT]) -> list[_NodeT]:
        """The nodes of type ``kind`` in the subtree of ``node`` (itself included), in source order."""
        first, last = self._spans[node]
        return [n for n in self._nodes[first:last] if isinstance(n, kind)]

    def range_of(self, node: cst.CSTNode) -> Range:
        """The node's range in file lines and code-point columns."""
        return (*self.positions.start(node), *self.positions.end(node))

    def ancestor(self, node: cst.CSTNode, kind: type[_NodeT]) -> _NodeT | None:
        """The nearest enclosing node of type ``kind``, None when there is none."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kind):
            current = self.parents.get(current)
        return current

    def find(self, span: Range, kind: type[_NodeT]) -> _NodeT | None:
        """The node of type ``kind`` whose range is exactly ``span``, None when there is none."""
        if self._by_range is None:
            # nodes sharing a range (a Call and its Arg) are told apart by their type
            self._by_range = {}
            for node in self._nodes:
                self._by_range.setdefault(self.range_of(node), []).append(node)
        return next((n for n in self._by_range.get(span, ()) if isinstance(n, kind)), None)


class ClassWalk(NodeWalk):
    """A walk of one class: its code is generated alone, then shifted to the file's lines."""

    def __init__(self, module: cst.Module, class_node: cst.ClassDef, class_line: int) -> None:
        super().__init__(module, class_node)
        # the class is generated from line 1, where its leading blank lines and decorators start
        offset = class_line - self._ranges[class_node.name][0]
        self.positions = Positions(self._ranges, offset)


def ast_range(node: ast.expr | ast.stmt, text: SourceText) -> Range:
    """The range of an ast node in code-point columns (ast counts UTF-8 bytes)."""
    end_line = node.end_lineno or node.lineno
    return (node.lineno, text.char_col(node.lineno, node.col_offset),
            end_line, text.char_col(end_line, node.end_col_offset or 0))


class _Recorder(CodegenState):
    """Code generation that records where each node is instead of printing it.

    The line and column rules are those of libcst's PositionProvidingCodegenState.
    """

    def __init__(self, module: cst.Module) -> None:
        super().__init__(module.default_indent, module.default_newline)
        self.line = 1
        self.column = 0
        self.ranges: dict[cst.CSTNode, Range] = {}
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.nodes: list[cst.CSTNode] = []  # in the order code generation enters them
        self.spans: dict[cst.CSTNode, tuple[int, int]] = {}  # each subtree's slice of nodes
        self._open: list[tuple[cst.CSTNode, int, int, int]] = []  # node, index, line, column

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if self._open:
            self.parents[node] = self._open[-1][0]
        self._open.append((node, len(self.nodes), self.line, self.column))
        self.nodes.append(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        _, index, line, column = self._open.pop()
        self.spans[node] = (index, len(self.nodes))
        # a syntactic range, recorded while the node generated, excludes its whitespace
        if node not in self.ranges:
            self.ranges[node] = (line, column, self.line, self.column)

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """Records the range a node's syntax covers (a class: cheaper than a generator context)."""

    def __init__(
        self,
        recorder: _Recorder,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.recorder = recorder
        self.node = node
        self.start_node = start_node
        self.end_node = end_node

    def __enter__(self) -> None:
        self.line = self.recorder.line
        self.column = self.recorder.column

    def __exit__(self, *_exc: object) -> None:
        ranges = self.recorder.ranges
        line, column = self.line, self.column
        if self.start_node is not None:
            line, column, _, _ = ranges[self.start_node]
        end_line, end_column = self.recorder.line, self.recorder.column
        if self.end_node is not None:
            _, _, end_line, end_column = ranges[self.end_node]
        ranges[self.node] = (line, column, end_line, end_column)
