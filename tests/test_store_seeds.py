"""The run store keeps one evaluation per training seed, reports the mean over a run's seeds
once all of them trained, and upgrades a store written before seeds were recorded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from nnevolve.store import Evaluation, RunStore, mean_evaluation
from nnevolve.store.schema import SCHEMA_VERSION


def ok(accuracy: float, latency_ms: float = 1.0, params: int = 100) -> Evaluation:
    return Evaluation(status="ok", accuracy=accuracy, params=params, latency_ms=latency_ms,
                      train_seconds=1.0, total_seconds=1.2, latency_spread_ms=0.01)


def new_run(store: RunStore, *, train_seed: int = 5, confirm_seeds: int = 2) -> str:
    return store.create_run(file="net.py", class_name="Net", base_source="x = 1\n",
                            base_hash="b", config={"seed": train_seed}, dataset_fingerprint="fp",
                            budget_key="bk", train_seed=train_seed, confirm_seeds=confirm_seeds)


def test_the_training_seed_is_part_of_the_cache_key(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.put_evaluation("h", "fp", "bk", ok(0.8), train_seed=0)
        store.put_evaluation("h", "fp", "bk", ok(0.7), train_seed=1)
        assert store.cached_evaluation("h", "fp", "bk", 0).accuracy == 0.8
        assert store.cached_evaluation("h", "fp", "bk", 1).accuracy == 0.7
        assert store.cached_evaluation("h", "fp", "bk", 2) is None
        assert store.cached_evaluation("h", "fp", "bk", 1).latency_spread_ms == 0.01


def test_a_variant_reports_the_mean_of_its_confirmation_seeds_once_all_trained(
        tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = new_run(store)
        key = store.get_run(run_id).seed_key  # each confirmation seed: a split of its own
        assert key(5) == ("fp", "bk") and key(6) == ("fp;split=6", "bk")
        variant_id = store.add_variant(run_id, source="v", source_hash="h", status="evaluated")
        store.put_evaluation("h", "fp", "bk", ok(0.90, 1.0), train_seed=5)  # the search's seed
        store.put_evaluation("h", *key(6), ok(0.80, 2.0), train_seed=6)
        store.put_evaluation("h", *key(9), ok(0.10), train_seed=9)  # not one of the run's
        store.put_evaluation("h", "fp", "bk", ok(0.10), train_seed=7)  # seed 7 on the run's split
        variant = store.get_variant(variant_id)
        assert variant.evaluation.accuracy == 0.90 and variant.confirmed is None
        assert variant.figures is variant.evaluation  # not confirmed yet: the search's figure
        store.put_evaluation("h", *key(7), ok(0.70, 3.0), train_seed=7)
        variant = store.get_variant(variant_id)
        confirmed = variant.confirmed
        # seeds 6 and 7: the search's seed 5 chose the variant, its luck is left out
        assert confirmed is not None and variant.figures is confirmed and confirmed.seeds == 2
        assert confirmed.accuracy == pytest.approx(0.75)
        assert confirmed.accuracy_spread == pytest.approx(0.0707, abs=1e-4)
        assert confirmed.latency_ms == 2.5 and confirmed.params == 100  # median; exact count
        assert store.variants(run_id)[0].confirmed == confirmed
        store.set_pareto(run_id, [variant_id])
        assert store.pareto(run_id)[0].confirmed == confirmed
        # the further seeds a mean that was not pinned down got count, up to the first gap
        store.put_evaluation("h", *key(8), ok(0.90), train_seed=8)
        assert store.get_variant(variant_id).confirmed.seeds == 4  # 6, 7, 8 and 9
        store.put_evaluation("h", *key(11), ok(0.90), train_seed=11)  # after a gap
        assert store.get_variant(variant_id).confirmed.accuracy == pytest.approx(0.625)


def test_the_front_is_listed_by_confirmed_accuracy(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = new_run(store, confirm_seeds=1)
        lucky = store.add_variant(run_id, source="a", source_hash="a", status="evaluated")
        steady = store.add_variant(run_id, source="b", source_hash="b", status="evaluated")
        key = store.get_run(run_id).seed_key
        for digest, accuracies in [("a", (0.95, 0.60)), ("b", (0.85, 0.85))]:
            for seed, accuracy in zip((5, 6), accuracies):
                store.put_evaluation(digest, *key(seed), ok(accuracy), train_seed=seed)
        store.set_pareto(run_id, [lucky, steady])
        assert [v.id for v in store.pareto(run_id)] == [steady, lucky]


def test_a_failed_seed_leaves_the_variant_unconfirmed() -> None:
    failed = Evaluation(status="failed", reason="timeout after 60 s")
    assert mean_evaluation([ok(0.9), failed], 2) is None
    assert mean_evaluation([ok(0.9)], 2) is None
    assert mean_evaluation([ok(0.9), ok(0.7)], 2).accuracy == pytest.approx(0.8)
    one = mean_evaluation([ok(0.9)], 1)
    assert one.accuracy == 0.9 and one.seeds == 1 and one.accuracy_spread is None


def test_calibration_is_kept_with_the_run(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = new_run(store)
        assert store.get_run(run_id).calibration is None
        store.set_calibration(run_id, {"accuracy": 0.02, "seeds": 3})
    with RunStore(tmp_path / "runs.sqlite") as store:
        run = store.get_run(run_id)
        assert run.calibration == {"accuracy": 0.02, "seeds": 3}
        assert (run.train_seed, run.confirm_seeds) == (5, 2)


# the schema of version 1, as nnevolve wrote it before training seeds were recorded
_VERSION_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, class_name TEXT NOT NULL,
    base_source TEXT NOT NULL, base_hash TEXT NOT NULL, config TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL, budget_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
    error TEXT, out_dir TEXT, generation INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL);
CREATE TABLE variants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    source_hash TEXT NOT NULL, source TEXT NOT NULL, parents TEXT NOT NULL DEFAULT '[]',
    edits TEXT NOT NULL DEFAULT '[]', generation INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'rejected', 'evaluated', 'failed')),
    reason TEXT, cached INTEGER NOT NULL DEFAULT 0, is_base INTEGER NOT NULL DEFAULT 0,
    is_pareto INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    UNIQUE (run_id, source_hash));
CREATE INDEX variants_by_run ON variants (run_id, status);
CREATE TABLE evaluations (
    source_hash TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, budget_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), accuracy REAL,
    test_accuracy REAL, params INTEGER, latency_ms REAL,
    train_seconds REAL NOT NULL DEFAULT 0, total_seconds REAL NOT NULL DEFAULT 0,
    reason TEXT, created_at REAL NOT NULL,
    PRIMARY KEY (source_hash, dataset_fingerprint, budget_key));
"""


def _version_1_store(path: Path) -> sqlite3.Connection:
    """A store as version 1 wrote it, with one finished run (seed 3); still open."""
    conn = sqlite3.connect(path)
    conn.executescript(_VERSION_1)
    conn.execute("INSERT INTO runs VALUES ('r1', 'net.py', 'Net', 'x = 1', 'b', ?, 'fp', 'bk',"
                 " 'finished', NULL, NULL, 3, 1.0, 1.0, 2.0)", (json.dumps({"seed": 3}),))
    return conn


def test_a_store_of_version_1_is_upgraded_and_its_runs_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    conn = _version_1_store(path)
    conn.execute("INSERT INTO variants (run_id, source_hash, source, status, is_base, is_pareto,"
                 " created_at) VALUES ('r1', 'h', 'x = 1', 'evaluated', 1, 1, 1.0)")
    conn.execute("INSERT INTO evaluations VALUES ('h', 'fp', 'bk', 'ok', 0.9, NULL, 10, 0.2,"
                 " 1.0, 1.1, NULL, 1.0)")
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        run = store.get_run("r1")
        assert run.status == "finished" and run.train_seed == 3 and run.confirm_seeds == 0
        base = store.base_variant("r1")
        assert base.evaluation == Evaluation(status="ok", accuracy=0.9, params=10,
                                             latency_ms=0.2, train_seconds=1.0,
                                             total_seconds=1.1)
        assert base.confirmed is None and [v.id for v in store.pareto("r1")] == [base.id]
        # the old result was trained with its run's seed, and is cached under it
        assert store.cached_evaluation("h", "fp", "bk", 3).accuracy == 0.9
        assert store.cached_evaluation("h", "fp", "bk", 0) is None
    with RunStore(path, read_only=True) as store:  # a second open finds it up to date
        assert store.get_run("r1").train_seed == 3
    with RunStore(path) as store:
        assert store.get_run("r1").train_seed == 3
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_a_store_of_version_1_is_readable_by_a_read_only_open(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    conn = _version_1_store(path)
    conn.commit()
    conn.close()
    # `nnevolve runs` / `show` open it read-only: a store they may write is upgraded first
    with RunStore(path, read_only=True) as store:
        assert [run.id for run in store.list_runs()] == ["r1"]
        assert store.get_run("r1").train_seed == 3


# the schema of version 2, as nnevolve wrote it before children were screened
_VERSION_2 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (2);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, class_name TEXT NOT NULL,
    base_source TEXT NOT NULL, base_hash TEXT NOT NULL, config TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL, budget_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
    error TEXT, out_dir TEXT, generation INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL,
    train_seed INTEGER NOT NULL DEFAULT 0, confirm_seeds INTEGER NOT NULL DEFAULT 0,
    calibration TEXT);
CREATE TABLE variants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    source_hash TEXT NOT NULL, source TEXT NOT NULL, parents TEXT NOT NULL DEFAULT '[]',
    edits TEXT NOT NULL DEFAULT '[]', generation INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'rejected', 'evaluated', 'failed')),
    reason TEXT, cached INTEGER NOT NULL DEFAULT 0, is_base INTEGER NOT NULL DEFAULT 0,
    is_pareto INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    UNIQUE (run_id, source_hash));
CREATE INDEX variants_by_run ON variants (run_id, status);
CREATE TABLE evaluations (
    source_hash TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, budget_key TEXT NOT NULL,
    train_seed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), accuracy REAL,
    test_accuracy REAL, params INTEGER, latency_ms REAL,
    train_seconds REAL NOT NULL DEFAULT 0, total_seconds REAL NOT NULL DEFAULT 0,
    reason TEXT, created_at REAL NOT NULL, latency_spread_ms REAL,
    PRIMARY KEY (source_hash, dataset_fingerprint, budget_key, train_seed));
"""


def test_a_store_of_version_2_is_upgraded_without_screening(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(_VERSION_2)
    conn.execute("INSERT INTO runs VALUES ('r2', 'net.py', 'Net', 'x = 1', 'b', '{}', 'fp', 'bk',"
                 " 'cancelled', NULL, NULL, 1, 1.0, 1.0, 2.0, 0, 2, NULL)")
    for vid, digest in ((7, "h"), (9, "g")):
        conn.execute("INSERT INTO variants (id, run_id, source_hash, source, status, is_base,"
                     " created_at) VALUES (?, 'r2', ?, 'x = 1', 'evaluated', ?, 1.0)",
                     (vid, digest, int(vid == 7)))
    conn.execute("INSERT INTO evaluations VALUES ('h', 'fp', 'bk', 0, 'ok', 0.9, NULL, 10, 0.2,"
                 " 1.0, 1.1, NULL, 1.0, NULL)")
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        run = store.get_run("r2")
        assert run.screening == 0 and run.status == "cancelled"  # resumed without screening
        base = store.base_variant("r2")
        assert base.id == 7 and base.evaluation.accuracy == 0.9
        assert base.fidelity == 1.0 and not base.promoted
        store.set_variant_status(9, "screened", fidelity=0.25)  # the new status is allowed
        assert store.get_variant(9).status == "screened"
        assert store.add_variant("r2", source="y = 2", source_hash="n") == 10  # ids go on
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_a_store_of_version_4_keeps_confirming_on_its_runs_own_split(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run_id = new_run(store)
        variant_id = store.add_variant(run_id, source="v", source_hash="h", status="evaluated")
        for seed, accuracy in ((5, 0.9), (6, 0.8), (7, 0.7)):  # as version 4 cached them
            store.put_evaluation("h", "fp", "bk", ok(accuracy), train_seed=seed)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE runs DROP COLUMN redraw_splits")
    conn.execute("UPDATE schema_version SET version = 4")
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        run = store.get_run(run_id)
        assert not run.redraw_splits and run.split_seed(6) is None
        assert run.seed_key(6) == ("fp", "bk")  # resumed, it confirms as it did
        confirmed = store.get_variant(variant_id).confirmed
        assert confirmed is not None and confirmed.accuracy == pytest.approx(0.75)
        assert store.get_run(new_run(store)).redraw_splits  # a new run redraws
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
