"""A run stopped mid-way keeps what it evaluated: SIGKILL leaves it resumable, SIGTERM cancels
it cleanly (workers gone, status `cancelled`), and `--resume` finishes it without training any
variant again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from nnevolve.store import RunStore
from run_support import MLP as MODEL
from run_support import make_workspace, nnevolve

pytestmark = pytest.mark.slow

# one worker and a few epochs: slow enough to be stopped between two evaluations
SETTINGS = """
population = 5
generations = 2
epochs = 4
workers = 1
objectives = ["error", "params"]
"""


def start_evolve(workspace: Path, *, progress: bool = True) -> subprocess.Popen[str]:
    """`nnevolve evolve mlp.py` in its own process group; its JSON progress on stdout."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "nnevolve", "evolve", "mlp.py", "--progress-jsonl"],
        cwd=workspace, env=env, stdout=subprocess.PIPE if progress else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True)


def wait_in_store(store_path: Path, process: subprocess.Popen[str], count: int) -> str:
    """Read the run store (while the run writes it) until `count` variants are evaluated."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it was stopped"
        if store_path.is_file():
            with RunStore(store_path) as store:
                runs = store.list_runs()
                if runs and runs[0].counts.evaluated >= count:
                    return runs[0].id
        time.sleep(0.05)
    raise AssertionError("the run did not progress")


def wait_for_evaluated(stdout: IO[str], count: int) -> str:
    """Read progress lines until `count` variants are evaluated; the run id."""
    run_id = ""
    deadline = time.monotonic() + 300
    for line in stdout:
        message = json.loads(line)
        run_id = message.get("run_id", run_id)
        if message["event"] == "progress" and message["evaluated"] >= count:
            return run_id
        assert message["event"] in ("started", "progress"), message
        assert time.monotonic() < deadline, "the run did not progress"
    raise AssertionError("the run ended before it was stopped")


def trained_at(store_path: Path) -> dict[tuple[str, int], float]:
    """When each cached evaluation (source, training seed) was written (a retrained variant
    would get a new time)."""
    with sqlite3.connect(store_path) as conn:
        rows = conn.execute("SELECT source_hash, train_seed, created_at FROM evaluations")
        return {(digest, seed): at for digest, seed, at in rows.fetchall()}


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pgid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(pgid), "a process of the run outlived it"


def resume(workspace: Path, run_id: str) -> dict:
    done = nnevolve("evolve", "--resume", run_id, "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path, SETTINGS, {"mlp.py": MODEL})


def test_a_killed_run_resumes_without_training_anything_again(workspace: Path) -> None:
    store_path = workspace / ".nnevolve" / "runs.sqlite"
    process = start_evolve(workspace, progress=False)
    try:
        run_id = wait_in_store(store_path, process, 3)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the run, its workers and its checker
        process.wait(timeout=30)
    wait_gone(process.pid)
    before = trained_at(store_path)
    with RunStore(store_path) as store:
        killed = store.get_run(run_id)
        evaluated_before = {v.source_hash for v in store.variants(run_id, status="evaluated")}
    assert killed is not None and killed.status == "running"  # nobody could mark it
    assert len(evaluated_before) >= 4  # the seed and at least three variants

    result = resume(workspace, run_id)

    assert result["status"] == "finished" and result["run_id"] == run_id
    after = trained_at(store_path)
    assert {h: after[h] for h in before} == before  # nothing evaluated before was retrained
    # the session's search trained only new variants (with the run's seed, 0; the other
    # seeds are the base's calibration and the front's confirmation)
    newly_trained = {key for key in set(after) - set(before) if key[1] == 0}
    assert result["stats"]["trained"] == len(newly_trained)
    with RunStore(store_path) as store:
        run = store.get_run(run_id)
        variants = store.variants(run_id)
    assert run is not None and run.status == "finished" and run.generation == 3
    assert run.counts.trained <= 5 * 3
    hashes = [v.source_hash for v in variants]
    assert len(hashes) == len(set(hashes))
    assert evaluated_before <= {v.source_hash for v in variants if v.status == "evaluated"}
    assert (Path(result["out_dir"]) / "pareto.json").is_file()


def test_sigterm_cancels_the_run_and_its_workers_and_resume_finishes_it(
    workspace: Path,
) -> None:
    process = start_evolve(workspace)
    assert process.stdout is not None
    try:
        run_id = wait_for_evaluated(process.stdout, 2)
        process.send_signal(signal.SIGTERM)  # the run alone, as `kill PID` would
        stopped = time.monotonic()
        remaining = process.stdout.read()
        code = process.wait(timeout=60)
        took = time.monotonic() - stopped
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert code == 130
    assert took < 15, f"cancelling took {took:.1f} s"
    wait_gone(process.pid, timeout=10)  # workers and the static checker went with it
    last = json.loads(remaining.splitlines()[-1])
    assert last["event"] == "result" and last["status"] == "cancelled"
    with RunStore(workspace / ".nnevolve" / "runs.sqlite") as store:
        run = store.get_run(run_id)
        assert run is not None and run.status == "cancelled" and run.finished_at is not None
        assert run.counts.evaluated >= 2
        # an evaluation cut short by the stop is not recorded as the variant's failure
        assert run.counts.failed == 0

    result = resume(workspace, run_id)
    assert result["status"] == "finished"
    assert result["counts"]["evaluated"] >= run.counts.evaluated


def test_a_finished_run_cannot_be_resumed(workspace: Path) -> None:
    with RunStore(workspace / ".nnevolve" / "runs.sqlite") as store:
        run_id = store.create_run(file=str(workspace / "mlp.py"), class_name="Mlp",
                                  base_source=MODEL, base_hash="h", config={},
                                  dataset_fingerprint="fp", budget_key="bk")
        store.set_run_status(run_id, "finished")
    done = nnevolve("evolve", "--resume", run_id[:12], cwd=workspace, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"nnevolve evolve: error: run {run_id} has already finished"
