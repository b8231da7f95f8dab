"""``python -m nnevolve.lsp``: serve the language server on stdio."""

from __future__ import annotations

import argparse
import sys

from nnevolve.lsp.server import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m nnevolve.lsp",
        description="Serve the nnevolve language server on stdin/stdout (LSP, for editors).",
    )
    # editors' LSP clients append --stdio; stdio is the only transport, so accept it
    parser.add_argument("--stdio", action="store_true", help="serve on stdio (the default)")
    parser.parse_args()
    sys.exit(main())
