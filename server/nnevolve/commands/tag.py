"""``nnevolve tag FILE``: the line type of every layer line of a Python file."""

from __future__ import annotations

import argparse
import io
import json
import sys
import tokenize
from pathlib import Path
from typing import Any

from nnevolve.analysis import TYPE_LABELS, Analysis, LineItem, analyze

PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
EXIT_BAD_FILE = 2
TYPE_STYLES = {
    "connection": "bold cyan", "activation": "bold magenta", "normalization": "green",
    "pooling": "blue", "dropout": "yellow", "reshape": "white", "container": "bright_black",
    "optimizer": "bold red", "loss": "red", "scheduler": "bright_red",
}  # fmt: skip


class NotPythonSource(Exception):
    """The file cannot be tagged: missing, unreadable, or not Python source text."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "tag",
        help="print the line type of each layer line of a Python file",
        description="Print every line-typed call of a Python file (connection layer, "
        "activation, normalization, pooling, dropout, reshape, container, optimizer, loss, "
        "scheduler) with its detail and parameter count.",
    )
    parser.add_argument("file", type=Path, help="a Python source file")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of {line, end_line, col, end_col, type, name, detail, params} "
        "(lines 1-based, columns 0-based)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        source = read_python_source(args.file)
    except NotPythonSource as refused:
        if args.json:  # a script reads one JSON document whatever happened
            print(json.dumps({"error": f"nnevolve tag: {refused}"}))
        print(f"nnevolve tag: {refused}", file=sys.stderr)
        return EXIT_BAD_FILE
    analysis = analyze(source)
    if args.json:
        print(json.dumps([item.to_json() for item in analysis.items], indent=2))
    else:
        print_table(args.file, analysis)
    if analysis.error is not None:
        error = analysis.error
        recovered = "; items from the parts that parse" if analysis.stale else ""
        print(
            f"nnevolve tag: {args.file}:{error.line}:{error.col + 1}: syntax error: "
            f"{error.message}{recovered}",
            file=sys.stderr,
        )
    return 0


def read_python_source(path: Path) -> str:
    """The text of a Python file, decoded as Python does (PEP 263 cookie, BOM); raises NotPythonSource."""
    if not path.exists():
        raise NotPythonSource(f"no such file: {path}")
    if path.is_dir():
        raise NotPythonSource(f"{path} is a directory, not a Python file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise NotPythonSource(f"cannot read {path}: {error.strerror or error}") from None
    if path.suffix.lower() not in PYTHON_SUFFIXES and not _has_python_shebang(data):
        raise NotPythonSource(f"{path} is not a Python file (expected a .py file)")
    if b"\x00" in data:
        raise NotPythonSource(f"{path} is not Python source text (it contains binary data)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        raise NotPythonSource(f"{path} is not Python source text (it cannot be decoded)") from None


def _has_python_shebang(data: bytes) -> bool:
    first_line = data.split(b"\n", 1)[0]
    return first_line.startswith(b"#!") and b"python" in first_line


def print_table(path: Path, analysis: Analysis) -> None:
    """A table of line, type, detail and parameters, one row per item."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not analysis.items:
        console.print(Text(f"No line-typed items in {path}."))
        return
    # Text, not markup: a detail or a path may contain "[...]"
    table = Table(title=Text(str(path)), title_justify="left", caption=_caption(analysis.items))
    table.add_column("Line", justify="right", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Detail")
    table.add_column("Params", justify="right", no_wrap=True)
    for item in analysis.items:
        lines = str(item.line) if item.end_line == item.line else f"{item.line}–{item.end_line}"
        params = "" if item.params is None else f"{item.params:,}"
        label = Text(TYPE_LABELS[item.type], style=TYPE_STYLES[item.type])
        table.add_row(lines, label, Text(item.detail), params)
    console.print(table)


def _caption(items: tuple[LineItem, ...]) -> str:
    count = len(items)
    return f"{count} line-typed item{'' if count == 1 else 's'}"
