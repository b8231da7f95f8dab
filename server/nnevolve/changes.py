"""A variant's net changes against the user's network: one short phrase per changed line.

Derived from the line diff (difflib) of the user's source (a run's base) and the variant's
source, not from the variant's lineage: a variant bred through ten edits whose net effect
is one changed line reads as that one line. Layer lines are put in words through the line
types of :mod:`nnevolve.analysis` (``line 12: Conv2d out_channels 8→16``, ``line 20: F.relu →
F.silu``); other lines as a compact old → new of the text that changed.

Line numbers are those of the diff: a replaced or deleted line is numbered in the user's file,
an inserted line in the variant (the ``-`` and ``+`` sides of a unified diff). A change to the
project's training script names it: ``train.py line 41: SGD lr 0.1→0.03``.
Light: stdlib ``ast`` and ``difflib`` only (the editor and ``nnevolve show`` use it).
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, replace

from nnevolve.analysis import Analysis, LineItem, analyze
from nnevolve.analysis.catalog import lookup

MAX_TEXT = 60  # characters of code a phrase quotes before it elides the rest
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks `ast` and LSP count
_TOKEN = re.compile(r"\w+|\S")  # names, numbers and single punctuation characters
_RECIPE_CLASSES = frozenset({"optimizer", "scheduler"})  # named by their class, like layers
_SIMPLE = re.compile(r"[\w.'\"-]+")  # a number, a name or a short string: no spaces needed


@dataclass(frozen=True)
class Change:
    """One changed line of a variant against the user's network."""

    kind: str  # "replace" | "insert" | "delete"
    line: int  # 1-based: the user's line (replace, delete), the variant's line (insert)
    old: str  # the text of the user's line that changed ("" for an insert)
    new: str  # the variant's text in its place ("" for a delete)
    phrase: str  # "line 20: F.relu → F.silu"
    new_line: int | None = None  # the variant's line (replace, insert)


def source_lines(source: str) -> list[str]:
    """The lines of a source as `ast` numbers them (without their line breaks)."""
    lines = _LINE_BREAK.split(source)
    return lines[:-1] if lines and lines[-1] == "" else lines


def variant_changes(base: str, variant: str, *, base_analysis: Analysis | None = None,
                    file: str | None = None) -> list[str]:
    """The phrases of :func:`diff_changes`, in line order (what every view shows)."""
    return [change.phrase for change in diff_changes(base, variant, base_analysis=base_analysis,
                                                     file=file)]


def diff_changes(
    base: str, variant: str, *, base_analysis: Analysis | None = None, file: str | None = None
) -> list[Change]:
    """Each changed line of `variant` against `base`, in the order of the diff.

    `base_analysis` is `analyze(base)` when the caller has it (one base, many variants);
    `file` names the file in each phrase (``train.py line 41: ...``; None: the model file).
    """
    changes = _diff_changes(base, variant, base_analysis)
    if file:
        changes = [replace(change, phrase=f"{file} {change.phrase}") for change in changes]
    return changes


def _diff_changes(base: str, variant: str, base_analysis: Analysis | None) -> list[Change]:
    a, b = source_lines(base), source_lines(variant)
    old_items = _Items(base_analysis or analyze(base), a)
    new_items = _Items(analyze(variant), b)
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        for k in range(paired):
            changes.append(_replaced(i1 + k + 1, j1 + k + 1, old_items, new_items))
        for i in range(i1 + paired, i2):
            changes.append(_whole_line("delete", i + 1, a[i]))
        for j in range(j1 + paired, j2):
            changes.append(_whole_line("insert", j + 1, b[j]))
    return changes


# -- one line ------------------------------------------------------------------------------------

def _whole_line(kind: str, line: int, text: str) -> Change:
    shown = text.strip().removesuffix(",").rstrip()
    words = _quote(shown) if shown else "a blank line"
    if kind == "delete":
        return Change(kind, line, text.strip(), "", f"line {line}: delete {words}")
    return Change(kind, line, "", text.strip(), f"line {line}: insert {words}", line)


def _replaced(old_line: int, new_line: int, old_items: _Items, new_items: _Items) -> Change:
    old_text, new_text = old_items.lines[old_line - 1], new_items.lines[new_line - 1]
    old, new = compact_difference(old_text, new_text)
    words = _layer_words(old_items, old_line, new_items, new_line)
    if words is None:
        words = f"{_quote(old) or '∅'} → {_quote(new) or '∅'}"
    return Change("replace", old_line, old, new, f"line {old_line}: {words}", new_line)


def compact_difference(old: str, new: str) -> tuple[str, str]:
    """The part of two lines that differs, token-aligned (`F.relu(x)`, `F.silu(x)` → `relu`,
    `silu`); a pure insertion or deletion keeps one neighbouring token so no side is empty."""
    ta, tb = list(_TOKEN.finditer(old)), list(_TOKEN.finditer(new))
    matcher = difflib.SequenceMatcher(None, [t.group() for t in ta], [t.group() for t in tb],
                                      autojunk=False)
    differing = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not differing:  # only the spacing changed
        return old.strip(), new.strip()
    i1, j1 = differing[0][1], differing[0][3]
    i2, j2 = differing[-1][2], differing[-1][4]
    if i1 == i2 or j1 == j2:  # one side would be empty: show a neighbour on both
        if i1 > 0 and j1 > 0:
            i1, j1 = i1 - 1, j1 - 1
        elif i2 < len(ta) and j2 < len(tb):
            i2, j2 = i2 + 1, j2 + 1
    return _span(old, ta, i1, i2), _span(new, tb, j1, j2)


def _span(text: str, tokens: list[re.Match[str]], start: int, end: int) -> str:
    if start >= end:
        return ""
    return text[tokens[start].start():tokens[end - 1].end()]


def _quote(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


# -- layer lines in words ------------------------------------------------------------------------

class _Items:
    """The typed calls of one source that cover each line (containers left out)."""

    def __init__(self, analysis: Analysis, lines: list[str]) -> None:
        self.lines = lines
        self._items = [item for item in analysis.items if item.type != "container"]

    def covering(self, line: int) -> list[LineItem]:
        return [item for item in self._items if item.line <= line <= item.end_line]

    def text(self, item: LineItem) -> str:
        """The call's source (code-point columns, as the analysis gives them)."""
        if item.line == item.end_line:
            return self.lines[item.line - 1][item.col:item.end_col]
        first = self.lines[item.line - 1][item.col:]
        middle = self.lines[item.line:item.end_line - 1]
        last = self.lines[item.end_line - 1][:item.end_col]
        return "\n".join([first, *middle, last])


def _layer_words(old_items: _Items, old_line: int, new_items: _Items, new_line: int) -> str | None:
    """`Conv2d out_channels 8→16`, `F.relu → F.silu`: the typed calls of a changed line."""
    olds, news = old_items.covering(old_line), new_items.covering(new_line)
    if not olds or len(olds) != len(news):
        return None
    phrases = []
    for old, new in zip(olds, news):
        old_call, new_call = old_items.text(old), new_items.text(new)
        if old_call == new_call:
            continue
        phrase = _call_change(old, old_call, new, new_call)
        if phrase is None:
            return None
        phrases.append(phrase)
    return "; ".join(phrases) or None


def _call_change(old: LineItem, old_call: str, new: LineItem, new_call: str) -> str | None:
    old_callee, old_args = _split_call(old_call)
    new_callee, new_args = _split_call(new_call)
    if old.name != new.name:
        if old_args == new_args or len(old_call) + len(new_call) > MAX_TEXT:
            return f"{old_callee} → {new_callee}"
        return f"{_one_line(old_call)} → {_one_line(new_call)}"
    changed = _argument_changes(old, old_call, new_call)
    if not changed:
        return None
    entry = lookup(old.name)
    # a layer by its class name (`Conv2d`), a function as the file calls it (`F.relu`); an
    # optimizer or scheduler by its class name (`SGD lr 0.1→0.03`)
    short = (entry.short if entry is not None and entry.is_module
             else old.name.rsplit(".", 1)[-1] if old.type in _RECIPE_CLASSES else old_callee)
    return f"{short} " + ", ".join(changed)


def _split_call(call: str) -> tuple[str, str]:
    """`nn.Conv2d(8, 16, 3)` → (`nn.Conv2d`, `(8, 16, 3)`)."""
    head, paren, rest = call.partition("(")
    return head.strip(), paren + rest


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _argument_changes(item: LineItem, old_call: str, new_call: str) -> list[str]:
    """`out_channels 8→16` for each argument of the same callee that differs."""
    old_args, new_args = _bound(item, old_call), _bound(item, new_call)
    if old_args is None or new_args is None:
        return []
    changed = []
    for name in dict.fromkeys([*old_args, *new_args]):
        before, after = old_args.get(name), new_args.get(name)
        if before != after:
            before, after = before or "default", after or "default"
            # `8→16` stays compact; `8 * 4 * 4 → 256`, `self.fc1(x) → x` need the spaces
            arrow = "→" if _SIMPLE.fullmatch(before) and _SIMPLE.fullmatch(after) else " → "
            changed.append(f"{name} {before}{arrow}{after}")
    return changed


def _bound(item: LineItem, call: str) -> dict[str, str] | None:
    """The call's arguments by parameter name (positional ones named through the catalog)."""
    try:
        node = ast.parse(call.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call):
        return None
    entry = lookup(item.name)
    names = entry.args if entry is not None else ()
    bound: dict[str, str] = {}
    for index, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            return None  # positions past a *args are unknown
        bound[names[index] if index < len(names) else f"argument {index + 1}"] = ast.unparse(arg)
    for keyword in node.keywords:
        if keyword.arg is None:
            return None
        bound[keyword.arg] = ast.unparse(keyword.value)
    return bound
