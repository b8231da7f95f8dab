"""Turn a variant's source into minimal line edits, re-based onto the text the user has now.

A run records the text it started from (its *base*). The variant changes some lines of
the base; the user may have changed other lines since. When the two sets of changes do
not touch, the variant is re-based (a 3-way merge of base / variant / current); when they
do, it is withheld: a stale edit is never offered or applied.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from lsprotocol import types

# LSP separates lines by \n, \r\n or \r only (str.splitlines also splits on \f, \u2028, ...)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Split `text` into lines that keep their line breaks, as LSP counts lines."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class LineEdit:
    """Replace lines [start, end) of a document (0-based) with `new_lines`."""

    start: int
    end: int
    new_lines: tuple[str, ...]


@dataclass(frozen=True)
class Rebased:
    """A variant re-based onto the current text: its edits and the text they produce."""

    edits: tuple[LineEdit, ...]
    source: str


def line_edits(old: str, new: str) -> tuple[LineEdit, ...]:
    """The minimal line edits (difflib opcodes) that turn `old` into `new`."""
    a, b = split_lines(old), split_lines(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return tuple(
        LineEdit(i1, i2, tuple(b[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    )


def _touches(edit: LineEdit, other: LineEdit) -> bool:
    # closed intervals: adjacent changes count as touching, as in git's merge
    return max(edit.start, other.start) <= min(edit.end, other.end)


def rebase(base: str, variant: str, current: str) -> Rebased | None:
    """Re-base the change base → variant onto `current`; None when the changes touch.

    The returned edits apply to `current` and produce exactly `Rebased.source`; when
    `current == base` that is exactly `variant`.
    """
    if current == base:
        return Rebased(line_edits(base, variant), variant)
    if current == variant:  # already applied: nothing to do, nothing withheld
        return Rebased((), current)
    ours = line_edits(base, variant)
    theirs = line_edits(base, current)
    if any(_touches(o, t) for o in ours for t in theirs):
        return None
    # lines outside the user's changes keep their text; only their index shifts
    shift_at: dict[int, int] = {}
    a, c = split_lines(base), split_lines(current)
    matcher = difflib.SequenceMatcher(None, a, c, autojunk=False)
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i1, i2 + 1):
                shift_at.setdefault(k, j1 - i1)
    moved: list[LineEdit] = []
    for edit in ours:
        shift = shift_at.get(edit.start)
        if shift is None or shift_at.get(edit.end) != shift:
            return None
        moved.append(LineEdit(edit.start + shift, edit.end + shift, edit.new_lines))
    return Rebased(tuple(moved), apply_line_edits(current, moved))


def apply_line_edits(text: str, edits: list[LineEdit] | tuple[LineEdit, ...]) -> str:
    """Apply non-overlapping line edits to `text` (used to check and to preview)."""
    lines = split_lines(text)
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: e.start):
        out.extend(lines[pos : edit.start])
        out.extend(edit.new_lines)
        pos = edit.end
    out.extend(lines[pos:])
    return "".join(out)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _position(lines: list[str], index: int) -> types.Position:
    """The LSP position where line `index` starts (or the end of the text past the last)."""
    if index < len(lines) or not lines:
        return types.Position(line=index, character=0)
    last = lines[-1]
    if last.endswith(("\n", "\r")):
        return types.Position(line=len(lines), character=0)
    # the text ends without a line break: its end is on the last line, not past it
    return types.Position(line=len(lines) - 1, character=_utf16_len(last))


def to_text_edits(current: str, edits: tuple[LineEdit, ...]) -> list[types.TextEdit]:
    """LSP text edits for line edits against `current` (UTF-16 columns)."""
    lines = split_lines(current)
    result = []
    for edit in edits:
        # difflib never inserts after a last line without a break: that line differs too
        start, end = _position(lines, edit.start), _position(lines, edit.end)
        new_text = "".join(edit.new_lines)
        result.append(types.TextEdit(range=types.Range(start=start, end=end), new_text=new_text))
    return result


def unified_diff(base: str, variant: str, path: str) -> str:
    """A unified diff of the variant against the base, labelled with the file's path."""
    return "".join(
        difflib.unified_diff(
            split_lines(base), split_lines(variant), fromfile=f"a/{path}", tofile=f"b/{path}"
        )
    )
