"""``python -m nnevolve``: the same as the ``nnevolve`` command."""

from __future__ import annotations

import sys

from nnevolve.cli import main

if __name__ == "__main__":
    sys.exit(main())
