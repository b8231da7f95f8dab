"""What the analysis returns: typed items, the syntax problem, and the whole result."""

from __future__ import annotations

from dataclasses import asdict, dataclass

LINE_TYPES = ("connection", "activation", "normalization", "pooling", "dropout",
              "reshape", "container", "optimizer", "loss", "scheduler")  # fmt: skip
TYPE_LABELS = {
    "connection": "connection layer",
    "activation": "activation function",
    "normalization": "normalization layer",
    "pooling": "pooling layer",
    "dropout": "dropout layer",
    "reshape": "reshape",
    "container": "container",
    "optimizer": "optimizer",
    "loss": "loss function",
    "scheduler": "learning-rate scheduler",
}


@dataclass(frozen=True)
class LineItem:
    """One line-typed call: its exact range, type, qualified callee and a detail in words.

    Lines are 1-based; columns are 0-based and count code points (not bytes).
    """

    line: int
    col: int
    end_line: int
    end_col: int
    type: str
    name: str
    detail: str
    params: int | None

    def to_json(self) -> dict[str, object]:
        """The item as a JSON-ready dict (keys: line, end_line, col, end_col, type, name, detail, params)."""
        data = asdict(self)
        return {key: data[key] for key in
                ("line", "end_line", "col", "end_col", "type", "name", "detail", "params")}  # fmt: skip


@dataclass(frozen=True)
class SyntaxProblem:
    """Where a file stops being Python: 1-based lines, 0-based code-point columns."""

    line: int
    col: int
    end_line: int
    end_col: int
    message: str


@dataclass(frozen=True)
class Analysis:
    """Every typed item of a file, and its first syntax problem if any.

    ``stale`` is True when the items come from recovering a broken file (the offending lines
    blanked out); a broken file that could not be recovered has no items and ``stale`` False.
    """

    items: tuple[LineItem, ...]
    error: SyntaxProblem | None
    stale: bool = False


def item_at(analysis: Analysis, line: int, col: int) -> LineItem | None:
    """The innermost item whose range contains the 1-based ``line`` and 0-based ``col``.

    A layer inside ``nn.Sequential(...)`` wins over the Sequential around it.
    """
    best: LineItem | None = None
    for item in analysis.items:
        if item.line > line:
            break  # items are sorted by start
        if (item.line, item.col) <= (line, col) < (item.end_line, item.end_col) and (
            best is None or (item.line, item.col) >= (best.line, best.col)
        ):
            best = item
    return best
