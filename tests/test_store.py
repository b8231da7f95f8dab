"""The run store: runs, variants and the evaluation cache survive a reopen and are readable
from another process while a run writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnevolve.store import Evaluation, RunStore, StoreError
from nnevolve.store.schema import SCHEMA_VERSION

OK = Evaluation(status="ok", accuracy=0.9, params=1234, latency_ms=0.2,
                train_seconds=1.5, total_seconds=1.7)


def new_run(store: RunStore, **extra: object) -> str:
    fields: dict = {"file": "/w/model.py", "class_name": "Net", "base_source": "x = 1\n",
                    "base_hash": "h0", "config": {"dataset": "digits", "seed": 1},
                    "dataset_fingerprint": "digits-fp", "budget_key": "e1"}
    fields.update(extra)
    return store.create_run(**fields)


def test_run_round_trips_through_a_reopened_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "runs.sqlite"
    with RunStore(path) as store:
        run_id = new_run(store)
        base = store.add_variant(run_id, source="x = 1\n", source_hash="h0", is_base=True,
                                 status="evaluated")
        child = store.add_variant(run_id, source="x = 2\n", source_hash="h1", parents=[base],
                                  edits=[{"op": "delete", "summary": "delete line 3"}],
                                  generation=1)
        store.put_evaluation("h0", "digits-fp", "e1", OK)
        store.put_evaluation("h1", "digits-fp", "e1",
                             Evaluation(status="failed", reason="crash: boom", total_seconds=0.3))
        store.set_variant_status(child, "failed", reason="crash: boom")
        store.set_pareto(run_id, [base])
        store.set_generation(run_id, 1)
        store.set_run_status(run_id, "finished")

    with RunStore(path) as store:
        run = store.get_run(run_id)
        assert run is not None
        assert (run.status, run.generation, run.config) == ("finished", 1, {"dataset": "digits",
                                                                             "seed": 1})
        assert run.finished_at is not None and run.finished_at >= run.created_at
        assert run.counts.failed == 1 and run.counts.evaluated == 0  # the seed is not counted
        variants = store.variants(run_id)
        assert [v.source_hash for v in variants] == ["h0", "h1"]
        assert variants[0].is_base and variants[0].is_pareto and variants[0].evaluation == OK
        assert variants[1].parents == [base]
        assert variants[1].edits == [{"op": "delete", "summary": "delete line 3"}]
        assert variants[1].evaluation is not None
        assert variants[1].evaluation.reason == "crash: boom"
        assert [v.id for v in store.pareto(run_id)] == [base]
        assert store.base_variant(run_id) == variants[0]


def test_adding_the_same_source_twice_keeps_one_variant(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = new_run(store)
        first = store.add_variant(run_id, source="a", source_hash="h", status="rejected",
                                  reason="shape mismatch")
        again = store.add_variant(run_id, source="a ", source_hash="h")
        assert first == again
        assert store.counts(run_id).rejected == 1


def test_counts_separate_trained_cached_rejected_failed(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = new_run(store)
        for i, (status, cached) in enumerate([("evaluated", False), ("evaluated", False),
                                              ("evaluated", True), ("failed", True),
                                              ("failed", False), ("rejected", False)]):
            vid = store.add_variant(run_id, source=str(i), source_hash=f"h{i}")
            store.set_variant_status(vid, status, cached=cached)
        counts = store.counts(run_id)
        assert (counts.evaluated, counts.cached, counts.failed, counts.rejected) == (2, 2, 1, 1)
        assert counts.trained == 3


def test_cache_is_keyed_by_source_dataset_and_budget(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.put_evaluation("h", "digits-fp", "e1", OK)
        assert store.cached_evaluation("h", "digits-fp", "e1") == OK
        assert store.cached_evaluation("h", "digits-fp", "e2") is None
        assert store.cached_evaluation("h", "mnist-fp", "e1") is None
        store.set_test_accuracy("h", "digits-fp", "e1", 0.88)
        cached = store.cached_evaluation("h", "digits-fp", "e1")
        assert cached is not None and cached.test_accuracy == 0.88


def test_runs_are_listed_newest_first_and_by_file(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        first = new_run(store)
        second = new_run(store, file="/w/other.py")
        third = new_run(store)
        assert [r.id for r in store.list_runs()][:1] == [third]
        assert {r.id for r in store.list_runs()} == {first, second, third}
        assert [r.id for r in store.list_runs(file="/w/other.py")] == [second]
        assert len(store.list_runs(limit=2)) == 2


def test_store_uses_wal_and_records_its_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer nnevolve"):
        RunStore(path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    path.write_text("not sqlite at all, just text " * 20)
    with pytest.raises(StoreError, match="is damaged .*nnevolve runs --repair-store"):
        RunStore(path)


def test_a_reader_in_another_process_sees_each_write_while_the_writer_is_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.sqlite"
    reader = textwrap.dedent(
        """
        import sys
        from nnevolve.store import RunStore
        store = RunStore(sys.argv[1])
        for line in sys.stdin:
            run = store.get_run(line.strip())
            print(run.status, run.counts.evaluated, len(store.variants(run.id)), flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", reader, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        with RunStore(path) as store:
            run_id = new_run(store)
            seen = []
            for i in range(3):
                vid = store.add_variant(run_id, source=str(i), source_hash=f"h{i}")
                store.set_variant_status(vid, "evaluated")
                # the writer stays open: the reader must still see the committed rows
                proc.stdin.write(run_id + "\n")
                proc.stdin.flush()
                seen.append(proc.stdout.readline().split())
            store.set_run_status(run_id, "cancelled")
            proc.stdin.write(run_id + "\n")
            proc.stdin.flush()
            seen.append(proc.stdout.readline().split())
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert seen == [["running", "1", "1"], ["running", "2", "2"], ["running", "3", "3"],
                    ["cancelled", "3", "3"]]


def test_set_run_file_moves_one_run_to_another_file_and_commits_at_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        moved = new_run(store, file="/w/.nnevolve/unsaved/model-abc.py")
        kept = new_run(store, file="/w/.nnevolve/unsaved/model-abc.py")
        store.set_run_file(moved, "/w/model.py")
        # autocommit: another connection sees it while this one is still open
        with RunStore(path) as reader:
            assert [r.id for r in reader.list_runs(file="/w/model.py")] == [moved]
            assert [r.id for r in reader.list_runs(file="/w/.nnevolve/unsaved/model-abc.py")] == [
                kept
            ]
        store.set_run_file("no-such-run", "/w/model.py")  # like the other setters: no effect
        assert [r.id for r in store.list_runs(file="/w/model.py")] == [moved]


def test_an_unsaved_documents_run_is_recorded_under_its_real_path(tmp_path: Path) -> None:
    from nnevolve.lsp.unsaved import record_run_under

    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run_id = new_run(store, file=str(tmp_path / ".nnevolve" / "unsaved" / "model-abc.py"))
    record_run_under(path, run_id, tmp_path / "sub" / ".." / "model.py")
    with RunStore(path) as store:
        run = store.get_run(run_id)
        assert run is not None and run.file == str((tmp_path / "model.py").resolve())

    conn = sqlite3.connect(path)  # a store it cannot use: the store's own error, for the caller
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer nnevolve"):
        record_run_under(path, run_id, tmp_path / "model.py")
