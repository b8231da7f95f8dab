"""Evolving a document with unsaved changes: the engine reads a copy, the run keeps the real path.

The run's base is the text the user sees when they ask for the run. When that differs from
the file on disk, the text is written to ``<project>/.nnevolve/unsaved/`` (a hidden folder
that the gene pool's workspace harvest skips) and the run, once created, is recorded under
the document's own path so that it is found again when the file is reopened.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from nnevolve.store import RunStore

UNSAVED_FOLDER = Path(".nnevolve") / "unsaved"


def saved_text(path: Path) -> str | None:
    """The file's text on disk, None when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_unsaved_copy(root: Path, path: Path, text: str) -> Path:
    """Write `text` to a copy of `path` inside `root/.nnevolve/unsaved/`; return the copy."""
    folder = root / UNSAVED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    # one name per (file, text): two documents with the same name never share a copy
    digest = hashlib.sha256(f"{path}\0{text}".encode()).hexdigest()[:12]
    copy = folder / f"{path.stem}-{digest}{path.suffix or '.py'}"
    copy.write_text(text, encoding="utf-8")
    return copy


def record_run_under(store_path: Path, run_id: str, path: Path) -> None:
    """Record run `run_id` as a run of `path` (the store's `runs.file` column).

    Raises `StoreError` or `sqlite3.Error` when the store cannot be opened or written.
    """
    with RunStore(store_path) as store:
        store.set_run_file(run_id, str(path.resolve()))
