"""The run store's SQLite schema and its version check."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 5  # 2: training seed in the cache key; calibration and confirmation of a run;
# 3: the training script of a run (train_file) and of a variant that changes it; 4: screening
# (a run's screening share of the budget, a variant's fidelity, status 'screened'); 5: a run's
# further seeds train on redrawn splits (cached under the split's own dataset key)

# 'screened': trained on the run's screening share of the budget only, not promoted to the
# full budget (its figures are never offered); `fidelity`: the share of the budget its last
# result was trained with; `promoted`: screened first, then given the full budget
_VARIANT_COLUMNS = """
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    source_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    parents TEXT NOT NULL DEFAULT '[]',
    edits TEXT NOT NULL DEFAULT '[]',
    generation INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'rejected', 'screened', 'evaluated', 'failed')),
    reason TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    is_base INTEGER NOT NULL DEFAULT 0,
    is_pareto INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    train_source TEXT,  -- the variant's training script; NULL: the run's, unchanged
    fidelity REAL NOT NULL DEFAULT 1.0,
    promoted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, source_hash)"""

# Metrics live in `evaluations` only (the cache); variants join them through the run's
# dataset fingerprint and budget key, so a cached result is never copied.
_TABLES = ("""
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
    finished_at REAL,
    train_seed INTEGER NOT NULL DEFAULT 0,  -- the search trains every variant with this seed
    confirm_seeds INTEGER NOT NULL DEFAULT 0,  -- the front is confirmed with the next N seeds
    calibration TEXT,  -- JSON: the noise measured on the base network before the search
    train_file TEXT,  -- the project's training script (train_file), NULL when it has none
    train_source TEXT,  -- its text when the run started (the base of variants that change it)
    -- share of the budget children are screened with before the full budget; 0: no
    -- screening; NULL: not decided yet (decided once the base network is measured)
    screening REAL,
    -- 1: each seed after train_seed trains on the train / validation split redrawn with it
    -- (its results are cached under '<dataset_fingerprint>;split=<seed>'); 0: on the run's
    redraw_splits INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS variants ({VARIANT_COLUMNS}
);
CREATE INDEX IF NOT EXISTS variants_by_run ON variants (run_id, status);
CREATE TABLE IF NOT EXISTS evaluations (
    source_hash TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    budget_key TEXT NOT NULL,
    train_seed INTEGER NOT NULL DEFAULT 0,  -- seed of weights and shuffling
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    accuracy REAL,
    test_accuracy REAL,
    params INTEGER,
    latency_ms REAL,
    train_seconds REAL NOT NULL DEFAULT 0,
    total_seconds REAL NOT NULL DEFAULT 0,
    reason TEXT,
    created_at REAL NOT NULL,
    latency_spread_ms REAL,
    PRIMARY KEY (source_hash, dataset_fingerprint, budget_key, train_seed)
);
""").replace("{VARIANT_COLUMNS}", _VARIANT_COLUMNS)

# Version 1 had no training seed: every evaluation was trained with its run's seed, which
# also drew the split (so a dataset fingerprint tells the seed). The key cannot be altered
# in place: the table is copied.
_FROM_1 = [
    "ALTER TABLE runs ADD COLUMN train_seed INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN confirm_seeds INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN calibration TEXT",
    "UPDATE runs SET train_seed = COALESCE(CAST(json_extract(config, '$.seed') AS INTEGER), 0)",
    """CREATE TABLE evaluations_2 (
        source_hash TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, budget_key TEXT NOT NULL,
        train_seed INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), accuracy REAL,
        test_accuracy REAL, params INTEGER, latency_ms REAL,
        train_seconds REAL NOT NULL DEFAULT 0, total_seconds REAL NOT NULL DEFAULT 0,
        reason TEXT, created_at REAL NOT NULL, latency_spread_ms REAL,
        PRIMARY KEY (source_hash, dataset_fingerprint, budget_key, train_seed))""",
    """INSERT INTO evaluations_2 (source_hash, dataset_fingerprint, budget_key, train_seed,
        status, accuracy, test_accuracy, params, latency_ms, train_seconds, total_seconds,
        reason, created_at)
       SELECT e.source_hash, e.dataset_fingerprint, e.budget_key,
        COALESCE((SELECT r.train_seed FROM runs r
                  WHERE r.dataset_fingerprint = e.dataset_fingerprint LIMIT 1), 0),
        e.status, e.accuracy, e.test_accuracy, e.params, e.latency_ms, e.train_seconds,
        e.total_seconds, e.reason, e.created_at
       FROM evaluations e""",
    "DROP TABLE evaluations",
    "ALTER TABLE evaluations_2 RENAME TO evaluations",
]

# Version 2 had no training scripts: a run's variants all trained with the script as it was
# (NULL here), so its runs read and resume as they did.
_FROM_2 = [
    "ALTER TABLE runs ADD COLUMN train_file TEXT",
    "ALTER TABLE runs ADD COLUMN train_source TEXT",
    "ALTER TABLE variants ADD COLUMN train_source TEXT",
]

# Version 3 had no screening: a run's screening is off (0), every variant had the full budget.
# A CHECK constraint cannot be altered in place: the variants table is copied (ids kept).
_OLD_VARIANT_COLUMNS = ("id, run_id, source_hash, source, parents, edits, generation, status,"
                        " reason, cached, is_base, is_pareto, created_at, train_source")
_FROM_3 = [
    "ALTER TABLE runs ADD COLUMN screening REAL",
    "UPDATE runs SET screening = 0",
    f"CREATE TABLE variants_4 ({_VARIANT_COLUMNS})",
    f"INSERT INTO variants_4 ({_OLD_VARIANT_COLUMNS}) SELECT {_OLD_VARIANT_COLUMNS} FROM variants",
    "DROP TABLE variants",
    "ALTER TABLE variants_4 RENAME TO variants",
    "CREATE INDEX IF NOT EXISTS variants_by_run ON variants (run_id, status)",
]


# Version 4 confirmed on the run's own split: its runs keep reading (and resuming) that way.
_FROM_4 = ["ALTER TABLE runs ADD COLUMN redraw_splits INTEGER NOT NULL DEFAULT 0"]
_MIGRATIONS = {1: _FROM_1, 2: _FROM_2, 3: _FROM_3, 4: _FROM_4}  # version: what takes it to the next


class StoreError(RuntimeError):
    """The run store cannot be opened or used (clear one-line message)."""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables of an empty store, bring an older store up to date (its runs stay
    readable), refuse a store written by a newer nnevolve."""
    conn.executescript(_TABLES)
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    elif row[0] < SCHEMA_VERSION:
        _migrate(conn)
    elif row[0] > SCHEMA_VERSION:
        raise StoreError(
            f"the run store was written by a newer nnevolve (schema {row[0]}, "
            f"this version reads {SCHEMA_VERSION})"
        )


def _migrate(conn: sqlite3.Connection) -> None:
    """Upgrade in one transaction; another process may be doing the same at this moment."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("SELECT version FROM schema_version").fetchone()[0]
        while version in _MIGRATIONS:
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
        conn.execute("UPDATE schema_version SET version = ?", (version,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
