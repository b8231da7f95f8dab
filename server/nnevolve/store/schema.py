"""The run store's SQLite schema and its version check."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

# Metrics live in `evaluations` only (the cache); variants join them through the run's
# dataset fingerprint and budget key, so a cached result is never copied.
_TABLES = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    class_name TEXT NOT NULL,
    base_source TEXT NOT NULL,
    base_hash TEXT NOT NULL,
    config TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    budget_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
    error TEXT,
    out_dir TEXT,
    generation INTEGER NOT NULL DEFAULT 0,  -- generations completed (checkpoint)
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS variants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    source_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    parents TEXT NOT NULL DEFAULT '[]',
    edits TEXT NOT NULL DEFAULT '[]',
    generation INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'rejected', 'evaluated', 'failed')),
    reason TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    is_base INTEGER NOT NULL DEFAULT 0,
    is_pareto INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    UNIQUE (run_id, source_hash)
);
CREATE INDEX IF NOT EXISTS variants_by_run ON variants (run_id, status);
CREATE TABLE IF NOT EXISTS evaluations (
    source_hash TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    budget_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    accuracy REAL,
    test_accuracy REAL,
    params INTEGER,
    latency_ms REAL,
    train_seconds REAL NOT NULL DEFAULT 0,
    total_seconds REAL NOT NULL DEFAULT 0,
    reason TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (source_hash, dataset_fingerprint, budget_key)
);
"""


class StoreError(RuntimeError):
    """The run store cannot be opened or used (clear one-line message)."""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables of an empty store; refuse a store written by a newer nnevolve."""
    conn.executescript(_TABLES)
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    elif row[0] > SCHEMA_VERSION:
        raise StoreError(
            f"the run store was written by a newer nnevolve (schema {row[0]}, "
            f"this version reads {SCHEMA_VERSION})"
        )
