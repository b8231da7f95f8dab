"""Opening a run store file: for writing, read-only, and what to say when it cannot be used.

A store that cannot be opened is named with its path and a way out: a read-only one by a
writable ``--store``, a damaged (or truncated) one by ``nnevolve runs --repair-store``, which
moves the file aside (it never deletes a run history) and starts a new store.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from nnevolve.store.schema import SCHEMA_VERSION, StoreError, ensure_schema
from nnevolve.user_cache import user_cache_dir

REPAIR_HINT = "`nnevolve runs --repair-store{store}` moves it aside (nothing is deleted) " \
              "and starts a new store"
_SIDE_FILES = ("-wal", "-shm")


def open_store(path: Path | None, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection to the store at `path` (None: in memory), schema checked; StoreError
    with a one-line message and a way out when it cannot be used."""
    if path is None:
        return _open_for_writing(":memory:")
    if read_only:
        return _open_read_only(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(read_only_message(path, exc.strerror or str(exc))) from exc
    try:
        # a 0-byte file holds nothing: SQLite makes it a new store, which is what it becomes
        return _open_for_writing(str(path))
    except sqlite3.DatabaseError as exc:
        if _is_permission_problem(exc):
            raise StoreError(read_only_message(path, str(exc))) from exc
        raise StoreError(damaged_message(path, exc)) from exc


def _open_for_writing(target: str) -> sqlite3.Connection:
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # with WAL, NORMAL still survives a killed process; only a power cut may lose the
        # last commits, and it saves an fsync per write
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # a reader must wait out the writer's short transactions, not fail
        conn.execute("PRAGMA busy_timeout=30000")
        ensure_schema(conn)
        # fail now, not after the workers started: a store SQLite opened read-only refuses this
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")
    except BaseException:
        conn.close()
        raise
    return conn


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Read without writing anything, not even the WAL index (a store in a read-only folder
    is opened as immutable)."""
    if not path.is_file():
        raise StoreError(f"no run store at {path}")
    if path.stat().st_size == 0:
        raise StoreError(f"the run store {path} is an empty file (0 bytes): it holds no runs; "
                         + REPAIR_HINT.format(store=f" --store {path}"))
    _upgrade_if_older(path)
    last: sqlite3.DatabaseError | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?{options}", uri=True,
                               isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            check_schema(conn)
            return conn
        except sqlite3.DatabaseError as exc:
            conn.close()
            last = exc
            if not _is_permission_problem(exc):
                break
    assert last is not None
    raise StoreError(damaged_message(path, last)) from last


def _upgrade_if_older(path: Path) -> None:
    """A store written by an older nnevolve is upgraded first where it may be written (its runs
    are read through the new schema); elsewhere check_schema says what to do."""
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return
    try:
        probe = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            row = probe.execute("SELECT version FROM schema_version").fetchone()
        finally:
            probe.close()
    except sqlite3.DatabaseError:
        return  # damaged or not a store: the read-only open reports it
    if row is not None and row[0] < SCHEMA_VERSION:
        _open_for_writing(str(path)).close()


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a store that has no runs table or was written by a newer nnevolve (no writes)."""
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is not None and row[0] < SCHEMA_VERSION:  # only a writer may upgrade it
        raise StoreError(f"the run store was written by an older nnevolve (schema {row[0]}): "
                         "a run started on it (nnevolve evolve) upgrades it")
    if row is not None and row[0] > SCHEMA_VERSION:
        raise StoreError(f"the run store was written by a newer nnevolve (schema {row[0]}, "
                         f"this version reads {SCHEMA_VERSION})")


def read_only_message(path: Path, detail: str) -> str:
    return (f"the run store {path} cannot be written ({detail}): give a writable one with "
            f"--store, e.g. --store {user_cache_dir() / 'runs.sqlite'}")


def damaged_message(path: Path | None, error: BaseException) -> str:
    """What a store that SQLite cannot read says, with the way out."""
    store = f" --store {path}" if path is not None else ""
    return f"the run store {path} is damaged ({error}): " + REPAIR_HINT.format(store=store)


@contextmanager
def damage_reported(path: Path) -> Iterator[None]:
    """Reads of an opened store: damage beyond the pages opening it checked is a StoreError
    that says how to repair it."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreError(damaged_message(path, exc)) from exc


def repair_store(path: Path) -> Path | None:
    """Move a damaged or empty store aside (with its -wal and -shm files) and start a new
    one in its place; the old file's new path, or None when the store is sound."""
    if path.is_file() and path.stat().st_size > 0 and _is_sound(path):
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    if path.exists():
        path.rename(aside)
    for suffix in _SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    open_store(path).close()
    return aside


def _is_sound(path: Path) -> bool:
    try:
        conn = _open_read_only(path)
    except StoreError:
        return False
    try:
        return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def _is_permission_problem(error: sqlite3.DatabaseError) -> bool:
    text = str(error).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text
