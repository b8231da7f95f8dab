"""Operators on configuration data: change a width, a repeat count, a stride or an expansion
factor, swap a block class for another of the same constructor; insert or delete a table entry (another stage, another ``'M'`` pool marker); cross tables between parents.

The edits are made on the source text at the entries' positions: an entry is one token, so
the rest of the file keeps every byte.
"""

from __future__ import annotations

import random

from nnevolve.genome import Genome
from nnevolve.genome.config import ConfigEntry, ConfigList, Span
from nnevolve.operators.common import Edit, Offspring, finish_source

WIDTH_FACTORS = (0.5, 0.75, 1.5, 2.0)


def _offset(source: str, line: int, col: int) -> int:
    """The string index of (1-based line, character column)."""
    lines = source.splitlines(keepends=True)
    return sum(len(text) for text in lines[: line - 1]) + col


def _splice(source: str, span: Span, text: str) -> str:
    start = _offset(source, span[0], span[1])
    end = _offset(source, span[2], span[3])
    return source[:start] + text + source[end:]


def _new_value(entry: ConfigEntry, rng: random.Random) -> int | None:
    value = entry.value
    assert isinstance(value, int)
    if entry.role == "stride":
        return 1 if value == 2 else 2
    if entry.role == "count":
        return value + 1 if value == 1 or rng.random() < 0.5 else value - 1
    if entry.role == "width":
        step = 4 if value >= 16 else 1
        new = max(step, int(round(value * rng.choice(WIDTH_FACTORS) / step)) * step)
        return new if new != value else None
    return None


def mutate_config(g: Genome, rng: random.Random) -> Offspring | None:
    """Change one width, repeat count or stride the model's construction reads."""
    entries = [e for e in g.config[0] if e.role in ("width", "count", "stride", "block")]
    rng.shuffle(entries)
    for entry in entries[:8]:
        if entry.role == "block":  # another block class of the same constructor
            choice = rng.choice(entry.choices)
            summary = f"{entry.table}: block {entry.value}→{choice} at line {entry.line}"
            child = finish_source(g, _splice(g.source, entry.span, choice),
                                  [Edit("mutate_config", summary)])
            if child is not None:
                return child
            continue
        new = _new_value(entry, rng)
        if new is None:
            continue
        what = {"width": "width", "count": "count", "stride": "stride"}[entry.role]
        summary = f"{entry.table} {what} {entry.value}→{new} at line {entry.line}"
        child = finish_source(g, _splice(g.source, entry.span, str(new)),
                              [Edit("mutate_config", summary)])
        if child is not None:
            return child
    return None


def _insertion(cl: ConfigList, rng: random.Random) -> tuple[int, str] | None:
    """(index to insert after, text) for a table that may grow."""
    numeric = [i for i, t in enumerate(cl.texts) if not t.startswith(("'", '"'))]
    if not numeric:
        return None
    after = rng.randrange(len(cl.texts))
    if cl.has_markers and rng.random() < 0.4:
        marker = next(t for t in cl.texts if t.startswith(("'", '"')))
        neighbours = {cl.texts[after], cl.texts[after + 1] if after + 1 < len(cl.texts) else ""}
        if marker not in neighbours:
            return after, marker
    source = min(numeric, key=lambda i: abs(i - after))
    text = cl.texts[source]
    if text.startswith("("):  # a (width, stride) entry: the copy keeps the resolution
        parts = [p.strip() for p in text.strip("()").split(",")]
        if len(parts) >= 2 and parts[-1] in ("1", "2"):
            parts[-1] = "1"
        text = "(" + ", ".join(parts) + ")"
    return after, text


def insert_config(g: Genome, rng: random.Random) -> Offspring | None:
    """Insert an entry into a table: a copy of a stage, or another pool marker."""
    lists = [cl for cl in g.config[1] if not cl.fixed_length]
    rng.shuffle(lists)
    for cl in lists:
        found = _insertion(cl, rng)
        if found is None:
            continue
        after, text = found
        end = cl.elements[after]
        source = _splice(g.source, (end[2], end[3], end[2], end[3]), f", {text}")
        summary = f"{cl.table}: insert {text} after entry {after + 1} at line {end[0]}"
        child = finish_source(g, source, [Edit("insert_config", summary)])
        if child is not None:
            return child
    return None


def delete_config(g: Genome, rng: random.Random) -> Offspring | None:
    """Delete an entry of a table (a stage or a pool marker); a table keeps one number."""
    lists = [cl for cl in g.config[1] if not cl.fixed_length and len(cl.elements) > 1]
    rng.shuffle(lists)
    for cl in lists:
        numeric = [i for i, t in enumerate(cl.texts) if not t.startswith(("'", '"'))]
        choices = [i for i in range(len(cl.texts)) if len(numeric) > 1 or i not in numeric]
        if not choices:
            continue
        i = rng.choice(choices)
        if i + 1 < len(cl.elements):  # up to the next element: its comma goes with it
            span = (*cl.elements[i][:2], *cl.elements[i + 1][:2])
        else:
            span = (*cl.elements[i - 1][2:], *cl.elements[i][2:])
        summary = f"{cl.table}: delete entry {i + 1} ({cl.texts[i]}) at line {cl.elements[i][0]}"
        child = finish_source(g, _splice(g.source, span, ""), [Edit("delete_config", summary)])
        if child is not None:
            return child
    return None


def crossover_config(a: Genome, b: Genome, rng: random.Random) -> Offspring | None:
    """``a`` with one of its tables spliced with ``b``'s table of the same name (one point)."""
    theirs = {cl.table: cl for cl in b.config[1]}
    pairs = [(mine, theirs[mine.table]) for mine in a.config[1]
             if mine.table in theirs and mine.texts != theirs[mine.table].texts]
    if not pairs:
        return None
    mine, other = rng.choice(pairs)
    if mine.fixed_length and len(mine.texts) == len(other.texts):
        cut = rng.randrange(1, len(mine.texts)) if len(mine.texts) > 1 else 0
        texts = list(mine.texts[:cut]) + list(other.texts[cut:])
    elif mine.fixed_length:
        return None
    else:
        cut_a = rng.randrange(len(mine.texts) + 1)
        cut_b = rng.randrange(len(other.texts) + 1)
        texts = list(mine.texts[:cut_a]) + list(other.texts[cut_b:])
        if not any(not t.startswith(("'", '"')) for t in texts):
            return None
    first, last = mine.elements[0], mine.elements[-1]
    span = (first[0], first[1], last[2], last[3])
    summary = f"{mine.table} from the other parent at line {first[0]}: [{', '.join(texts)}]"
    return finish_source(a, _splice(a.source, span, ", ".join(texts)),
                         [Edit("crossover", summary)])
