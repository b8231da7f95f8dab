"""Claims on evaluations: two runs that share a store never train the same source twice.

Before a run trains a source it claims the source's cache key; a run that finds another
run's live claim waits for that run's result in the cache instead of training. A claim is
stale, and may be taken over, once its owner's process has ended (same host), or after
`STALE_AFTER_S` (a claim from another host, whose process cannot be checked).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time

from nnevolve.process_tree import process_exists

STALE_AFTER_S = 6 * 3600.0  # longer than any evaluation; only for owners on other hosts

_TABLE = """
CREATE TABLE IF NOT EXISTS evaluation_claims (
    key TEXT PRIMARY KEY,          -- the evaluation's cache key
    run_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    claimed_at REAL NOT NULL
)
"""


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(_TABLE)


def try_claim(conn: sqlite3.Connection, key: str, run_id: str) -> bool:
    """Claim `key` for `run_id` (inside the caller's write transaction); False while another
    run holds a live claim on it."""
    row = conn.execute("SELECT run_id, pid, host, claimed_at FROM evaluation_claims"
                       " WHERE key = ?", (key,)).fetchone()
    if row is not None and row[0] != run_id and _alive(*row[1:]):
        return False
    conn.execute("INSERT OR REPLACE INTO evaluation_claims (key, run_id, pid, host, claimed_at)"
                 " VALUES (?, ?, ?, ?, ?)", (key, run_id, os.getpid(), socket.gethostname(),
                                             time.time()))
    return True


def _alive(pid: int, host: str, claimed_at: float) -> bool:
    if host != socket.gethostname():
        return time.time() - claimed_at < STALE_AFTER_S
    return process_exists(pid)
