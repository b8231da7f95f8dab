"""A variant's net changes against the user's network: one short phrase per changed statement.

Derived from the diff (difflib) of the user's source (a run's base) and the variant's source,
not from the variant's lineage: a variant bred through ten edits whose net effect is one
changed line reads as that one line. The diff is taken over statements (logical lines: a call
whose arguments are spread over several lines is one), so a call reformatted over several
lines is one change, and one that computes what it did (a default spelled out, the same code
reformatted) is no phrase at all. Layer lines are put in words through the line types of
:mod:`nnevolve.analysis` (``line 12: Conv2d out_channels 8→16``, ``line 20: F.relu → F.silu``);
other lines as a compact old → new of the text that changed.

A run of inserted (or deleted) statements reads as what it is: a definition spread over
several lines as ``lines 9–20: insert def conv3x3 (from torchvision resnet.py)`` (its origin
when a ``# from ...`` comment leads it, as the gene pool's block operators write them), a
block of layers as ``lines 14–16: insert block nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16),
nn.ReLU() (from torchvision vgg.py)`` (from the line that ends in the ``# block from ...``
comment the block operator writes, over the normalization, activation, pooling and dropout layers after it), consecutive imports as ``lines 4–6: insert 3 imports (Tensor, Callable, Optional)``, any other
statement over several lines as one quoted statement; blank lines in a run are no phrases.
The user's layers a block took the place of read as one phrase too: ``lines 8–11: replace
nn.Conv2d(1, 16, 3, padding=1), nn.ReLU() by block nn.Conv2d(1, 16, kernel_size=11, padding=5),
nn.ReLU(inplace=True) (from torchvision alexnet.py)`` (the changed lines whose first new one
ends in a ``# block from ...`` comment the user's did not).

Line numbers are those of the diff: a replaced or deleted statement is numbered in the user's
file, an inserted one in the variant (the ``-`` and ``+`` sides of a unified diff). A change
to the project's training script names it: ``train.py line 41: SGD lr 0.1→0.03``.
Light: stdlib ``ast``, ``tokenize`` and ``difflib`` only (the editor and ``nnevolve show`` use
it); linear in the sources but for difflib's alignment.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import textwrap
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from nnevolve.analysis import Analysis, LineItem, analyze
from nnevolve.analysis.catalog import DEFAULTS, lookup
from nnevolve.analysis.recovery import parse
from nnevolve.gene_pool.zoo import BLOCK_TYPES

MAX_TEXT = 60  # characters of code a phrase quotes before it elides the rest
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks `ast` and LSP count
_TOKEN = re.compile(r"\w+|\S")  # names, numbers and single punctuation characters
_RECIPE_CLASSES = frozenset({"optimizer", "scheduler"})  # named by their class, like layers
_SIMPLE = re.compile(r"[\w.'\"-]+")  # a number, a name or a short string: no spaces needed
_ORIGIN = re.compile(r"#\s*(from \S.*?)\s*$")  # `# from torchvision resnet.py`
# at the end of an inserted block's first line: `nn.Conv2d(...),  # block from torchvision vgg.py`
_BLOCK = re.compile(r"#\s*block (from \S.*?)\s*$")
_LAYOUT = frozenset({tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                     tokenize.ENDMARKER})
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Change:
    """One changed statement (or run of statements) of a variant against the user's network."""

    kind: str  # "replace" | "insert" | "delete"
    line: int  # 1-based first line: the user's (replace, delete), the variant's (insert)
    old: str  # the text of the user's code that changed ("" for an insert)
    new: str  # the variant's text in its place ("" for a delete)
    # "line 20: F.relu → F.silu", "lines 9–20: insert def conv3x3"; "" when the code does what
    # it did (reformatted, a default spelled out): no phrase is shown for it
    phrase: str
    new_line: int | None = None  # the variant's first line (replace, insert)
    end_line: int = 0  # the last line on `line`'s side (a statement over several lines)
    new_end_line: int | None = None  # the variant's last line (replace, insert)


def source_lines(source: str) -> list[str]:
    """The lines of a source as `ast` numbers them (without their line breaks)."""
    lines = _LINE_BREAK.split(source)
    return lines[:-1] if lines and lines[-1] == "" else lines


def variant_changes(base: str, variant: str, *, base_analysis: Analysis | None = None,
                    file: str | None = None) -> list[str]:
    """The phrases of :func:`diff_changes`, in line order (what every view shows)."""
    return [change.phrase for change in diff_changes(base, variant, base_analysis=base_analysis,
                                                     file=file) if change.phrase]


def diff_changes(
    base: str, variant: str, *, base_analysis: Analysis | None = None, file: str | None = None
) -> list[Change]:
    """Each changed statement of `variant` against `base`, in the order of the diff (with
    those that change nothing the code does, whose phrase is empty).

    `base_analysis` is `analyze(base)` when the caller has it (one base, many variants);
    `file` names the file in each phrase (``train.py line 41: ...``; None: the model file).
    """
    changes = _diff_changes(base, variant, base_analysis)
    if file:
        changes = [replace(change, phrase=f"{file} {change.phrase}") if change.phrase else change
                   for change in changes]
    return changes


def _diff_changes(base: str, variant: str, base_analysis: Analysis | None) -> list[Change]:
    old = _Side(base, base_analysis or analyze(base))
    new = _Side(variant, analyze(variant))
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(None, old.keys, new.keys, autojunk=False)
    for tag, i1, i2, j1, j2 in _slid(matcher.get_opcodes(), old.keys, new.keys,
                                     old.block_origin, new.block_origin):
        if tag == "equal":
            continue
        olds = [i for i in range(i1, i2) if not old.blank(i)]
        news = [j for j in range(j1, j2) if not new.blank(j)]
        if not olds and not news:  # only blank lines: each is a change of its own
            changes += [_whole("delete", old, *old.spans[i]) for i in range(i1, i2)]
            changes += [_whole("insert", new, *new.spans[j]) for j in range(j1, j2)]
            continue
        origin = new.block_origin(news[0]) if news else None
        if olds and origin is not None and old.block_origin(olds[0]) != origin \
                and all(_of_layers(old, i, i2 - 1) for i in olds):
            # a block in place of the user's layers (replace_block): one phrase, the block's
            # lines from its first on, as an inserted block's; the statements after it inserted
            last = news[0]
            while last < news[-1] and _one_layer(new, last + 1, news[-1]):
                last += 1
            changes.append(_block_in_place(old, (old.first(olds[0]), old.last(olds[-1])),
                                           new, (new.first(news[0]), new.last(last)), origin))
            if last < news[-1]:
                changes += _run("insert", new, last + 1, news[-1])
            continue
        paired = min(len(olds), len(news))
        for i, j in zip(olds, news):
            changes += _replaced(old, i, new, j)
        if paired < len(olds):
            changes += _run("delete", old, olds[paired], olds[-1])
        if paired < len(news):
            changes += _run("insert", new, news[paired], news[-1])
    return changes


# -- statements ----------------------------------------------------------------------------------

class _Side:
    """One source as statements (logical lines), its typed calls and its definitions."""

    def __init__(self, source: str, analysis: Analysis) -> None:
        self.lines = source_lines(source)
        self.spans, self.keys = _logical_lines(source, len(self.lines))
        self._items = [item for item in analysis.items if item.type != "container"]
        self._one_line_calls = {item.line for item in self._items if item.line == item.end_line}
        parsed = parse(source)
        tree = parsed.tree if parsed.error is None else None  # a broken file: line by line
        # the statements that start on each line, outermost first
        self.statements: dict[int, list[ast.stmt]] = {}
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.stmt):
                self.statements.setdefault(_first_line(node), []).append(node)
        for nodes in self.statements.values():
            nodes.sort(key=lambda n: -(n.end_lineno or n.lineno))

    def blank(self, index: int) -> bool:
        return self.keys[index] == ()

    def first(self, index: int) -> int:
        return self.spans[index][0]

    def last(self, index: int) -> int:
        return self.spans[index][1]

    def text(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first - 1:last])

    def block_origin(self, index: int) -> str | None:
        """``from torchvision vgg.py`` when logical line `index` is an inserted block's first."""
        found = _BLOCK.search(self.text(*self.spans[index]))
        return found.group(1) if found else None

    def whole_calls(self, line: int) -> bool:
        """Whether a typed call starts and ends on `line` (an element of a list of layers)."""
        return line in self._one_line_calls

    def overlapping(self, first: int, last: int) -> list[LineItem]:
        """The typed calls on lines `first` to `last`."""
        return [item for item in self._items if item.line <= last and item.end_line >= first]

    def call_text(self, item: LineItem) -> str:
        """The call's source (code-point columns, as the analysis gives them)."""
        if item.line == item.end_line:
            return self.lines[item.line - 1][item.col:item.end_col]
        first = self.lines[item.line - 1][item.col:]
        middle = self.lines[item.line:item.end_line - 1]
        last = self.lines[item.end_line - 1][:item.end_col]
        return "\n".join([first, *middle, last])


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def _logical_lines(source: str, count: int) -> tuple[list[tuple[int, int]], list[tuple[str, ...]]]:
    """The (first, last) lines of each statement, a comment or blank line being one of its
    own, and what each says: its indentation and tokens (() for a blank line), so that the
    same statement laid out otherwise compares equal. One line each where `tokenize` fails."""
    spans: list[tuple[int, int]] = []
    keys: list[tuple[str, ...]] = []
    tokens: list[str] = []
    start, depth = 1, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.OP and token.string in {"(", "[", "{"}:
                depth += 1
            elif token.type == tokenize.OP and token.string in {")", "]", "}"}:
                depth = max(depth - 1, 0)
            if token.type not in _LAYOUT:
                if not tokens:
                    tokens.append(str(token.start[1]))  # the indentation
                tokens.append(token.string)
            ends = token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0)
            if ends and token.start[0] >= start:
                spans.append((start, token.start[0]))
                keys.append(tuple(tokens))
                start, tokens = token.start[0] + 1, []
    except (tokenize.TokenError, SyntaxError):
        spans = []
    if not spans or spans[-1][1] > count or start <= count:
        return [(n, n) for n in range(1, count + 1)], [_line_key(line) for line in
                                                        source_lines(source)]
    return spans, keys


def _line_key(line: str) -> tuple[str, ...]:
    stripped = line.strip()
    return (str(len(line) - len(line.lstrip())), stripped) if stripped else ()


def _where(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}–{last}"


def _slid(opcodes: list[tuple[str, int, int, int, int]], old_keys: list, new_keys: list,
          old_origin: Callable[[int], str | None], new_origin: Callable[[int], str | None]
          ) -> list[tuple[str, int, int, int, int]]:
    """The opcodes with each run of inserted (deleted) lines that holds a block's first line
    moved down to start there, where the lines it moves past come again right after it: a
    diff may place such a run either way (``ReLU, [Conv, BN, ReLU]`` or ``[ReLU, Conv, BN],
    ReLU``), and the block reads as one phrase only from its first line on."""
    slid = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        following = opcodes[index + 1] if index + 1 < len(opcodes) else None
        if tag in ("insert", "delete") and following is not None and following[0] == "equal":
            keys, origin, start, end = ((new_keys, new_origin, j1, j2) if tag == "insert"
                                        else (old_keys, old_origin, i1, i2))
            shift = next((k for k in range(end - start) if origin(start + k)), 0)
            if 0 < shift <= following[2] - following[1] and \
                    keys[start:start + shift] == keys[end:end + shift]:
                i1, i2, j1, j2 = i1 + shift, i2 + shift, j1 + shift, j2 + shift
        slid.append((tag, i1, i2, j1, j2))
    return slid


# -- a run of inserted or deleted statements -----------------------------------------------------

def _run(kind: str, side: _Side, start: int, end: int) -> Iterator[Change]:
    """The statements `start` to `end` (indices of logical lines) that `kind` added or took
    away: a definition over several lines and consecutive imports as one change each (with the
    comments that lead them), blank lines as none."""
    index, leading = start, []  # comment lines that may lead the next statement
    while index <= end:
        node = _statement(side, index, end)
        if side.blank(index) or (node is None and _is_comment(side, index)):
            leading += [] if side.blank(index) else [index]
            index += 1
            continue
        last = index if node is None else _index_of(side, node.end_lineno or 0, index, end)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports = [index]
            while (following := _next_import(side, last, end)) is not None:
                imports.append(following)
                last = following
            if len(imports) > 1:
                yield _imports(kind, side, (leading or [index])[0], imports)
                index, leading = last + 1, []
                continue
        if isinstance(node, _DEFINITIONS) and side.last(last) > side.first(index):
            yield _definition(kind, side, leading, index, last, node)
        elif (origin := side.block_origin(index)) is not None:
            yield from (_whole(kind, side, *side.spans[i]) for i in leading)
            while last < end and _one_layer(side, last + 1, end):
                last += 1
            yield _block(kind, side, side.first(index), side.last(last), origin)
        else:
            yield from (_whole(kind, side, *side.spans[i]) for i in leading)
            yield _whole(kind, side, side.first(index), side.last(last))
        index, leading = last + 1, []
    yield from (_whole(kind, side, *side.spans[i]) for i in leading)


def _of_layers(side: _Side, index: int, end: int) -> bool:
    """Whether logical line `index` is a statement of layers (``self.conv1 = nn.Conv2d(...)``,
    ``layers.append(nn.ReLU())``): one a block may take the place of."""
    node = _statement(side, index, end)
    return isinstance(node, (ast.Assign, ast.Expr)) and \
        bool(side.overlapping(side.first(index), side.last(index)))


def _one_layer(side: _Side, index: int, end: int) -> bool:
    """Whether logical line `index` is a statement of one layer (``self.bn5 = nn.BatchNorm2d(64)``,
    ``layers.append(nn.ReLU())``) that does not start a block of its own: the next of a block."""
    node = _statement(side, index, end)
    return isinstance(node, (ast.Assign, ast.Expr)) and side.block_origin(index) is None and \
        _after_the_first(side.overlapping(side.first(index), side.last(index)))


def _after_the_first(items: list[LineItem]) -> bool:
    """Whether `items` is one layer of the kinds a block holds after its first (normalization,
    activation, pooling, dropout): a Linear inserted right after a block is a change of its own."""
    return len(items) == 1 and items[0].type in BLOCK_TYPES


def _block(kind: str, side: _Side, first: int, last: int, origin: str) -> Change:
    """Lines `first` to `last`, a block of layers (``# block from ...`` on its first line)."""
    text = side.text(first, last).strip()
    phrase = f"{_where(first, last)}: {kind} block {_calls(side, first, last)} ({origin})"
    if kind == "delete":
        return Change(kind, first, text, "", phrase, end_line=last)
    return Change(kind, first, "", text, phrase, first, last, last)


def _block_in_place(old: _Side, old_lines: tuple[int, int], new: _Side,
                    new_lines: tuple[int, int], origin: str) -> Change:
    """Lines `old_lines` of the user's code in place of which the variant has a block of layers
    (`new_lines`, ``# block from ...`` on the first), as one change numbered in the user's file."""
    phrase = (f"{_where(*old_lines)}: replace {_calls(old, *old_lines)} by block "
              f"{_calls(new, *new_lines)} ({origin})")
    return Change("replace", old_lines[0], _one_line(old.text(*old_lines)),
                  _one_line(new.text(*new_lines)), phrase, new_lines[0], old_lines[1],
                  new_lines[1])


def _calls(side: _Side, first: int, last: int) -> str:
    """The layer calls on lines `first` to `last`: ``nn.Conv2d(1, 8, 3), nn.ReLU()``."""
    return ", ".join(_quote(_one_line(side.call_text(item)))
                     for item in side.overlapping(first, last))


def _statement(side: _Side, index: int, end: int) -> ast.stmt | None:
    """The outermost statement that starts on logical line `index` and ends by `end`."""
    limit = side.last(end)
    return next((n for n in side.statements.get(side.first(index), ())
                 if (n.end_lineno or n.lineno) <= limit), None)


def _is_comment(side: _Side, index: int) -> bool:
    return side.keys[index][1:2] != () and side.keys[index][1].startswith("#")


def _index_of(side: _Side, line: int, start: int, end: int) -> int:
    """The index of the logical line that ends on `line`, from `start` on."""
    index = start
    while index < end and side.last(index) < line:
        index += 1
    return index


def _next_import(side: _Side, index: int, end: int) -> int | None:
    """The import statement after logical line `index` (past blank lines), if one is next."""
    index += 1
    while index <= end and side.blank(index):
        index += 1
    node = _statement(side, index, end) if index <= end else None
    return index if isinstance(node, (ast.Import, ast.ImportFrom)) and \
        side.last(_index_of(side, node.end_lineno or 0, index, end)) == side.last(index) else None


def _imports(kind: str, side: _Side, first: int, imports: list[int]) -> Change:
    names = [alias.asname or alias.name for i in imports
             for alias in side.statements[side.first(i)][0].names]  # type: ignore[attr-defined]
    where = _where(side.first(first), side.last(imports[-1]))
    phrase = f"{where}: {kind} {len(imports)} imports ({_quote(', '.join(names))})"
    return _change(kind, side, first, imports[-1], phrase)


def _definition(kind: str, side: _Side, leading: list[int], first: int, last: int,
                node: ast.stmt) -> Change:
    word = "class" if isinstance(node, ast.ClassDef) else "def"
    origins = [m.group(1) for i in leading
               if (m := _ORIGIN.fullmatch(side.text(side.first(i), side.last(i)).strip()))]
    origin = f" ({origins[-1]})" if origins else ""
    start = leading[0] if leading else first
    name = node.name  # type: ignore[attr-defined]
    phrase = f"{_where(side.first(start), side.last(last))}: {kind} {word} {name}{origin}"
    return _change(kind, side, start, last, phrase)


def _change(kind: str, side: _Side, first: int, last: int, phrase: str) -> Change:
    first_line, last_line = side.first(first), side.last(last)
    text = side.text(first_line, last_line).strip()
    if kind == "delete":
        return Change(kind, first_line, text, "", phrase, end_line=last_line)
    return Change(kind, first_line, "", text, phrase, first_line, last_line, last_line)


def _whole(kind: str, side: _Side, first: int, last: int) -> Change:
    """Lines `first` to `last` (a statement) inserted or deleted, quoted."""
    text = side.text(first, last)
    shown = (text.strip() if first == last else _one_line(text)).removesuffix(",").rstrip()
    words = _quote(shown) if shown else "a blank line"
    if kind == "delete":
        return Change(kind, first, side.text(first, last).strip(), "",
                      f"{_where(first, last)}: delete {words}", end_line=last)
    return Change(kind, first, "", side.text(first, last).strip(),
                  f"{_where(first, last)}: insert {words}", first, last, last)


# -- one statement -------------------------------------------------------------------------------

def _replaced(old: _Side, i: int, new: _Side, j: int) -> list[Change]:
    """Statement `i` of the user's code in place of which the variant has statement `j`: one
    change per line that differs, or one for the lines that split or join a call's arguments
    (a call reformatted over several lines is one change, none if it computes what it did)."""
    (old_first, old_last), (new_first, new_last) = old.spans[i], new.spans[j]
    if _same_program(old.text(old_first, old_last), new.text(new_first, new_last)):
        return [_statement_change(old, (old_first, old_last), new, (new_first, new_last), "")]
    a, b = old.lines[old_first - 1:old_last], new.lines[new_first - 1:new_last]
    changes = []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    old_origin, new_origin = (lambda i: _element_origin(a[i])), (lambda j: _element_origin(b[j]))
    for tag, i1, i2, j1, j2 in _slid(opcodes, a, b, old_origin, new_origin):
        if tag == "equal":
            continue
        origin = new_origin(j1) if i1 < i2 and j1 < j2 else None
        if origin is not None and old_origin(i1) != origin \
                and all(old.whole_calls(old_first + i) for i in range(i1, i2)) \
                and all(new.whole_calls(new_first + j) for j in range(j1, j2)):
            # whole elements in place of which a block starts (replace_block): one change
            end = _block_end(new, new_first + j1, new_first + j2 - 1)
            changes.append(_block_in_place(old, (old_first + i1, old_first + i2 - 1), new,
                                           (new_first + j1, end), origin))
            changes += _elements("insert", new, end + 1, new_first + j2 - 1)
            continue
        paired = min(i2 - i1, j2 - j1)
        extras = [old.whole_calls(old_first + i) for i in range(i1 + paired, i2)] + \
            [new.whole_calls(new_first + j) for j in range(j1 + paired, j2)]
        if all(extras):  # whole elements (`nn.ReLU(),`) added or taken away: a change each
            changes += [_statement_change(old, (old_first + i1 + k,) * 2, new,
                                          (new_first + j1 + k,) * 2) for k in range(paired)]
            changes += _elements("delete", old, old_first + i1 + paired, old_first + i2 - 1)
            changes += _elements("insert", new, new_first + j1 + paired, new_first + j2 - 1)
            continue
        if i1 == i2 or j1 == j2:  # pieces of a call on lines of their own: with a neighbour
            i1, i2, j1, j2 = (i1 - 1, i2, j1 - 1, j2) if i1 > 0 and j1 > 0 else (i1, i2 + 1,
                                                                               j1, j2 + 1)
        changes.append(_statement_change(old, (old_first + i1, old_first + i2 - 1), new,
                                         (new_first + j1, new_first + j2 - 1)))
    return changes


def _element_origin(line: str) -> str | None:
    found = _BLOCK.search(line)
    return found.group(1) if found else None


def _elements(kind: str, side: _Side, first: int, last: int) -> list[Change]:
    """Lines `first` to `last`, each a whole element of a list of layers, added or taken away:
    a change each, but for a block's (its first line says so), one change from there on."""
    changes: list[Change] = []
    line = first
    while line <= last:
        origin = _element_origin(side.lines[line - 1])
        end = line if origin is None else _block_end(side, line, last)
        changes.append(_whole(kind, side, line, line) if origin is None
                       else _block(kind, side, line, end, origin))
        line = end + 1
    return changes


def _block_end(side: _Side, first: int, last: int) -> int:
    """The last line, by `last`, of the block of layers whose first line is `first`: the lines
    after it that hold one normalization, activation, pooling or dropout layer each."""
    end = first
    while end < last and _element_origin(side.lines[end]) is None and \
            _after_the_first(side.overlapping(end + 1, end + 1)):
        end += 1
    return end


def _statement_change(old: _Side, old_lines: tuple[int, int], new: _Side,
                      new_lines: tuple[int, int], words: str | None = None) -> Change:
    """Lines `old_lines` of the user's code in place of which the variant has `new_lines`, in
    `words` (None: put in words here)."""
    old_text, new_text = old.text(*old_lines), new.text(*new_lines)
    if old_lines[0] == old_lines[1] and new_lines[0] == new_lines[1]:
        old_diff, new_diff = compact_difference(old_text, new_text)
    else:
        old_diff, new_diff = compact_difference(_one_line(old_text), _one_line(new_text))
    if words is None:
        words = _layer_words(old, old_lines, new, new_lines)
    if words is None:
        words = f"{_quote(old_diff) or '∅'} → {_quote(new_diff) or '∅'}"
    phrase = f"{_where(*old_lines)}: {words}" if words else ""
    return Change("replace", old_lines[0], old_diff, new_diff, phrase, new_lines[0],
                  old_lines[1], new_lines[1])


def _same_program(old: str, new: str) -> bool:
    """Whether two statements differ only in layout or in layer settings spelled out at their
    defaults (and so compute the same)."""
    first, second = _normal(old), _normal(new)
    return first is not None and first == second


def _normal(text: str) -> str | None:
    """The statement's syntax tree, its calls' arguments at their defaults left out."""
    text = textwrap.dedent(text)
    # as it is, or a `def ...:` or `if ...:` line without its body
    tree = next((r.tree for r in map(parse, (text, text + " pass")) if r.error is None), None)
    if tree is None:
        return None
    for node in ast.walk(tree):
        entry = lookup(f"torch.nn.{_callee(node)}") if isinstance(node, ast.Call) else None
        if entry is None or not isinstance(node, ast.Call) or len(node.args) > len(entry.args) \
                or any(isinstance(a, ast.Starred) for a in node.args) \
                or any(k.arg is None for k in node.keywords):
            continue
        # a torch layer's arguments by name, in one order, those at their defaults left out
        defaults = DEFAULTS.get(entry.name, {})
        named = [ast.keyword(arg=name, value=value) for name, value in zip(entry.args, node.args)]
        node.args, node.keywords = [], sorted(
            (k for k in [*named, *node.keywords] if defaults.get(k.arg) != ast.unparse(k.value)),
            key=lambda k: k.arg or "")
    return ast.dump(tree)


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


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

def _layer_words(old: _Side, old_lines: tuple[int, int], new: _Side,
                 new_lines: tuple[int, int]) -> str | None:
    """`Conv2d out_channels 8→16`, `F.relu → F.silu`: the typed calls of a changed statement."""
    olds, news = old.overlapping(*old_lines), new.overlapping(*new_lines)
    if not olds or len(olds) != len(news):
        return None
    phrases = []
    for old_item, new_item in zip(olds, news):
        old_call, new_call = old.call_text(old_item), new.call_text(new_item)
        if old_call == new_call:
            continue
        phrase = _call_change(old_item, old_call, new_item, new_call)
        if phrase is None:
            return None
        phrases.append(phrase)
    return "; ".join(p for p in phrases if p) or None


def _call_change(old: LineItem, old_call: str, new: LineItem, new_call: str) -> str | None:
    old_callee, old_args = _split_call(old_call)
    new_callee, new_args = _split_call(new_call)
    if old.name != new.name:
        if old_args == new_args or len(old_call) + len(new_call) > MAX_TEXT:
            return f"{old_callee} → {new_callee}"
        return f"{_one_line(old_call)} → {_one_line(new_call)}"
    changed = _argument_changes(old, old_call, new_call)
    if not changed:
        return None if changed is None else ""  # "": only defaults spelled out
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


def _argument_changes(item: LineItem, old_call: str, new_call: str) -> list[str] | None:
    """`out_channels 8→16` for each argument of the same callee that differs (an argument
    spelled out at its default does not); None when the arguments cannot be bound."""
    old_args, new_args = _bound(item, old_call), _bound(item, new_call)
    if old_args is None or new_args is None:
        return None
    entry = lookup(item.name)
    defaults = DEFAULTS.get(entry.name, {}) if entry is not None else {}
    changed = []
    for name in dict.fromkeys([*old_args, *new_args]):
        before, after = old_args.get(name), new_args.get(name)
        default = defaults.get(name)
        if before != after and (before or default) != (after or default):
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
