"""``nnevolve serve``: the language server on stdin/stdout, for editors."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the language server on stdio (for editors)",
        description="Serve the nnevolve language server (LSP) on stdin/stdout. Editors start "
        "this; the VS Code extension does it for you.",
    )
    # editors' LSP clients append --stdio; stdio is the only transport, so accept it
    parser.add_argument("--stdio", action="store_true", help="serve on stdio (the default)")
    return parser


def run(args: argparse.Namespace) -> int:
    from nnevolve.lsp.server import main  # pygls loads only when serving

    return main()
