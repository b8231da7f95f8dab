"""Literal argument values (with constant folding) and the source text around them."""

from __future__ import annotations

import ast
import bisect
import operator
import re
from collections.abc import Callable, Mapping

UNKNOWN = object()  # "not a literal": a name, a call, an expression we do not fold
_MAX_DEPTH = 32  # folding deeper expressions than this is not worth a RecursionError
_MAX_MAGNITUDE = 10**18  # bigger numbers are not layer sizes; refusing them bounds the work
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks of Python's tokenizer (not \f, \v)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _wide_characters(text: str) -> tuple[list[int], list[int]]:
    """Byte offsets of ``text``'s multi-byte UTF-8 characters, and the extra bytes up to each."""
    starts: list[int] = []
    extra: list[int] = []
    total = 0
    for match in _NON_ASCII.finditer(text):
        starts.append(match.start() + total)
        total += len(match.group().encode("utf-8", "surrogatepass")) - 1
        extra.append(total)
    return starts, extra

_BINARY: dict[type, Callable[[object, object], object]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}  # fmt: skip
_NUMBER = (int, float)


def fold(node: ast.expr, constants: Mapping[str, object], depth: int = 0) -> object:
    """The value of a literal expression (``16 * 5 * 5``, ``(3, 3)``, ``-1``, ``1e-3``), else UNKNOWN.

    Names are looked up in ``constants`` (the file's module-level constants).
    """
    cls = node.__class__
    if cls is ast.Constant:
        value = node.value  # type: ignore[attr-defined]
        return UNKNOWN if isinstance(value, (bytes, complex)) or value is ... else value
    if depth > _MAX_DEPTH:
        return UNKNOWN
    if cls is ast.Name:
        return constants.get(node.id, UNKNOWN)  # type: ignore[attr-defined]
    if cls is ast.UnaryOp:
        value = fold(node.operand, constants, depth + 1)  # type: ignore[attr-defined]
        op = node.op.__class__  # type: ignore[attr-defined]
        if isinstance(value, _NUMBER):
            if op is ast.USub:
                return -value
            if op is ast.UAdd:
                return value
        return UNKNOWN
    if cls is ast.BinOp:
        left = fold(node.left, constants, depth + 1)  # type: ignore[attr-defined]
        right = fold(node.right, constants, depth + 1)  # type: ignore[attr-defined]
        return _binary(node.op.__class__, left, right)  # type: ignore[attr-defined]
    if cls is ast.Tuple or cls is ast.List:
        values = tuple(fold(e, constants, depth + 1) for e in node.elts)  # type: ignore[attr-defined]
        return UNKNOWN if any(v is UNKNOWN for v in values) else values
    return UNKNOWN


def _binary(op: type, left: object, right: object) -> object:
    function = _BINARY.get(op)
    # only numbers: "a" * 10**9 or [0] * 10**9 would be a denial of service
    if function is None or not (isinstance(left, _NUMBER) and isinstance(right, _NUMBER)):
        return UNKNOWN
    if op is ast.Pow and (abs(right) > 64 or abs(left) > _MAX_MAGNITUDE):
        return UNKNOWN
    try:
        value = function(left, right)
    except (ArithmeticError, ValueError):  # 1 / 0, 0 ** -1
        return UNKNOWN
    if isinstance(value, complex) or (isinstance(value, _NUMBER) and abs(value) > _MAX_MAGNITUDE):
        return UNKNOWN
    return value


def module_constants(body: list[ast.stmt]) -> dict[str, object]:
    """UPPER_CASE names assigned exactly once at module level to a literal value.

    Only that naming convention is trusted: a lower-case module name is too often shadowed by
    a parameter of the same name (``def __init__(self, hidden=64)``).
    """
    constants: dict[str, object] = {}
    seen: set[str] = set()
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        elif isinstance(stmt, ast.AugAssign):
            targets, value = [stmt.target], None
        else:
            continue
        for target in targets:
            if target.__class__ is not ast.Name:
                continue
            name = target.id
            if name in seen:
                constants.pop(name, None)  # assigned twice: not a constant
                continue
            seen.add(name)
            if value is not None and name.isupper():
                folded = fold(value, constants)
                if folded is not UNKNOWN:
                    constants[name] = folded
    return constants


def format_value(value: object) -> str:
    """A literal as the detail shows it: ``0.001``, ``(2, 2)``, ``False``, ``'tanh'``."""
    if isinstance(value, tuple):
        inner = ", ".join(format_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


class SourceText:
    """The parsed text's lines, for code-point columns and short source segments.

    ``ast`` reports columns in UTF-8 bytes; editors and libcst count code points.
    """

    MAX_SEGMENT = 24  # longer expressions are shown as "…" in a detail

    def __init__(self, text: str, first_line_shift: int = 0) -> None:
        self._text = text
        self._ascii = text.isascii()
        self._lines: list[str] | None = None
        self._shift = first_line_shift  # a BOM stripped before parsing sits before line 1
        self._wide: dict[int, tuple[list[int], list[int]]] = {}

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _LINE_BREAK.split(self._text)
        return self._lines

    def _char(self, index: int, byte_col: int) -> int:
        """The code-point column of a UTF-8 byte column on the 0-based line ``index``."""
        if self._ascii:
            return byte_col
        wide = self._wide.get(index)
        if wide is None:
            # once per line, not per item: a 5 MB one-line file has 100,000 items
            wide = self._wide[index] = _wide_characters(self.lines[index])
        starts, extra = wide
        before = bisect.bisect_left(starts, byte_col)  # multi-byte characters before the column
        return byte_col - (extra[before - 1] if before else 0)

    def char_col(self, line: int, byte_col: int) -> int:
        """The code-point column of a UTF-8 byte column on a 1-based line."""
        col = self._char(line - 1, byte_col) if 1 <= line <= len(self.lines) else byte_col
        return col + self._shift if line == 1 else col

    def segment(self, node: ast.expr) -> str:
        """The node's source text when short and on one line, else "…"."""
        line = node.lineno
        end_line, end = node.end_lineno, node.end_col_offset
        if line != end_line or end is None or not 1 <= line <= len(self.lines):
            return "…"
        text = self.lines[line - 1]
        start = node.col_offset
        if end - start > 4 * self.MAX_SEGMENT:  # over the limit in code points too
            return "…"
        segment = text[self._char(line - 1, start) : self._char(line - 1, end)]
        return segment if len(segment) <= self.MAX_SEGMENT else "…"
