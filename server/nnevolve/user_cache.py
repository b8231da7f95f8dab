"""The user's cache folder for nnevolve: data sets, and the runs of files outside any project."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nnevolve`` (``~/.cache/nnevolve`` when unset)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnevolve"
