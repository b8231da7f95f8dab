"""Parse source text with ``ast``, recovering what parses from a broken file.

A file being edited is often broken: an unclosed ``nn.Linear(84,``, a half-typed ``if``. The
offending line is replaced (first by ``pass`` or ``if True:`` at its indentation, so blocks
stay blocks; then by nothing) and the text parsed again, a bounded number of times. Every
replacement keeps the line count, so the positions of all other lines stay exact.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

from nnevolve.analysis.items import SyntaxProblem

MAX_REPAIRS = 12  # each costs one more parse; a file this broken is not worth more
REPAIR_LINES = 100_000  # and all of them together parse at most about this many lines
_LINE_SPLIT = re.compile(r"(\r\n|\r|\n)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ON_LINE = re.compile(r"on line (\d+)")
_BOM = "\ufeff"
# a line starting with one of these opens a block: its replacement must open one too
_BLOCK_KEYWORDS = frozenset({"def", "class", "if", "elif", "else", "for", "while", "with", "try",
                             "except", "finally", "async", "match", "case"})  # fmt: skip


@dataclass(frozen=True)
class ParseResult:
    """The tree of the text that parsed (the source, or a repaired copy), and what was wrong."""

    tree: ast.Module | None
    text: str  # what ``tree`` was parsed from: same lines and line count as the source
    error: SyntaxProblem | None
    repaired: bool  # True when ``tree`` comes from a repaired copy of a broken source
    bom: bool = False  # a leading byte-order mark was dropped before parsing


def parse(source: str) -> ParseResult:
    """Parse ``source``; on a syntax error, parse what can be recovered. Never raises."""
    bom = source.startswith(_BOM)
    text = source[1:] if bom else source
    problem: SyntaxProblem | None = None
    if "\x00" in text:  # the tokenizer refuses null bytes anywhere; a space keeps the columns
        problem = _problem_at(text, text.index("\x00"), "source contains a null byte")
        text = text.replace("\x00", " ")
    if (surrogate := _SURROGATE.search(text)) is not None:  # text decoded with surrogateescape
        problem = problem or _problem_at(text, surrogate.start(), "source is not valid Unicode")
        text = _SURROGATE.sub("\ufffd", text)
    try:
        return ParseResult(_parse(text), text, problem, problem is not None, bom)
    except SyntaxError as syntax_error:
        error = syntax_error  # the except clause unbinds its own name
        first = problem or _problem_from(error, text)
    except (RecursionError, MemoryError):
        problem = problem or SyntaxProblem(1, 0, 1, 0, "too deeply nested to analyse")
        return ParseResult(None, text, problem, False, bom)
    except ValueError as refused:  # anything else the compiler refuses before tokenizing
        problem = problem or SyntaxProblem(1, 0, 1, 0, str(refused))
        return ParseResult(None, text, problem, False, bom)
    tree, repaired_text = _recover(text, error)
    return ParseResult(tree, repaired_text if tree else text, first, tree is not None, bom)


def _parse(text: str) -> ast.Module:
    """``ast.parse`` without its warnings: an invalid escape or a ``0x1for`` literal warns on
    stderr, and where warnings are errors (``-W error``) a valid file would not parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text)


def _recover(text: str, error: SyntaxError) -> tuple[ast.Module | None, str]:
    """Replace offending lines until the text parses, at most MAX_REPAIRS times."""
    pieces = _LINE_SPLIT.split(text)  # line, break, line, break, ..., line
    line_count = (len(pieces) + 1) // 2
    visits: dict[int, int] = {}
    repairs = max(3, min(MAX_REPAIRS, REPAIR_LINES // line_count))  # a long file gets fewer
    for _ in range(repairs):
        line = _culprit_line(error, line_count)
        if line is None:
            return None, text
        index = 2 * (line - 1)
        visits[line] = visits.get(line, 0) + 1
        current = pieces[index]
        if not current.strip():  # already empty: the cause is above (e.g. a header line)
            line = _previous_code_line(pieces, line)
            if line is None:
                return None, text
            index, current = 2 * (line - 1), pieces[2 * (line - 1)]
            visits[line] = visits.get(line, 0) + 1
        pieces[index] = _replacement(current, visits[line], error, _next_code_line(pieces, line))
        try:
            repaired = "".join(pieces)
            return _parse(repaired), repaired
        except SyntaxError as next_error:
            error = next_error
        except (RecursionError, MemoryError, ValueError):
            return None, text
    return None, text


def _culprit_line(error: SyntaxError, line_count: int) -> int | None:
    """The 1-based line to replace for ``error``."""
    message = error.msg or ""
    if message.startswith("expected an indented block") and (match := _ON_LINE.search(message)):
        return min(int(match.group(1)), line_count)  # the header that has no body
    if error.lineno is None:
        return None
    return min(max(error.lineno, 1), line_count)


def _previous_code_line(pieces: list[str], line: int) -> int | None:
    for earlier in range(line - 1, 0, -1):
        if pieces[2 * (earlier - 1)].strip():
            return earlier
    return None


def _next_code_line(pieces: list[str], line: int) -> str:
    for index in range(2 * line, len(pieces), 2):
        if pieces[index].strip():
            return pieces[index]
    return ""


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def _replacement(line: str, visit: int, error: SyntaxError, next_line: str) -> str:
    """``pass`` (``if True:`` for a header with a block below) at the line's indentation, or nothing."""
    if visit > 1 or isinstance(error, IndentationError):
        return ""  # a wrong indentation stays wrong with any statement on it
    indent = _indent(line)
    code = line.split("#", 1)[0].strip()
    words = code.replace("(", " ").replace(":", " ").split()
    header = code.endswith(":") or (bool(words) and words[0] in _BLOCK_KEYWORDS)
    block_below = len(_indent(next_line)) > len(indent)
    return indent + ("if True:" if header and block_below else "pass")


def _problem_from(error: SyntaxError, text: str) -> SyntaxProblem:
    """A SyntaxProblem from a SyntaxError (whose offsets are 1-based code points)."""
    lines = _LINE_SPLIT.split(text)[::2]
    line = min(max(error.lineno or 1, 1), len(lines))
    col = max((error.offset or 1) - 1, 0) if error.lineno and error.lineno <= len(lines) else 0
    col = min(col, len(lines[line - 1]))
    end_line, end_col = line, col + 1
    if error.end_lineno and error.end_offset and error.end_offset > 0:
        candidate = (min(error.end_lineno, len(lines)), error.end_offset - 1)
        if candidate > (line, col):
            end_line, end_col = candidate
    end_col = min(end_col, len(lines[end_line - 1]))
    if (end_line, end_col) <= (line, col):  # at the end of a line: mark the last character
        col, end_col = max(col - 1, 0), max(col, 1) if lines[line - 1] else 0
    return SyntaxProblem(line, col, end_line, end_col, error.msg or "invalid syntax")


def _problem_at(text: str, index: int, message: str) -> SyntaxProblem:
    """A one-character problem at a string index."""
    before = text[:index]
    line = len(_LINE_SPLIT.split(before)[::2])
    col = index - max(before.rfind("\n"), before.rfind("\r")) - 1
    return SyntaxProblem(line, col, line, col + 1, message)
