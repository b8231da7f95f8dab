"""``python -m nnevolve``: the same as the ``nnevolve`` command."""

from __future__ import annotations

import os
import sys

from nnevolve.cli import main

if __name__ == "__main__":
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (`| head`): nothing to keep
            pass
    # every command closes what it opened before it returns; the interpreter's own teardown
    # (torch's modules among them) took 2-5 s after a run, and a cancel must end within 1 s
    os._exit(code)
