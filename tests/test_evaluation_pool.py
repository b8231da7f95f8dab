"""The worker pool: persistent workers, limits, failures that stay with their variant, shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from nnevolve.datasets import DatasetError, load_dataset
from nnevolve.evaluation import Budget, EvaluationPool, WorkerStartError
from nnevolve.evaluation import pool as pool_module
from run_support import NET

pytestmark = pytest.mark.slow


def variant(forward_body: str) -> str:
    """The network with its forward pass replaced (one line of code)."""
    return NET.replace("return self.net(x)", forward_body)


RAISES = variant("raise ValueError('bad forward')")
HANGS = variant("while True: pass")
EXITS = variant("import os; os._exit(3)")
SEGFAULTS = variant("import ctypes; ctypes.string_at(0)")
HUGE_ALLOCATION = variant("return torch.zeros(10**10)")  # 40 GB at once
# 600 MB in 100 MB steps, then wait: above the 300 MB cap, below the address-space limit,
# so only the parent's memory watch can stop it before the time limit
GROWS_SLOWLY = variant("import time; keep = [torch.ones(25 * 2**20) for _ in range(6)]; "
                       "time.sleep(30)")
BUDGET = Budget(epochs=2, lr=0.01, max_train_seconds=5, time_limit_s=4, memory_mb=300)


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" in status.read()
    except FileNotFoundError:
        return True


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def pool():
    """One persistent single-worker pool shared by the tests (replacements are visible as new pids)."""
    with EvaluationPool("digits", workers=1, budget=BUDGET) as shared:
        yield shared


@pytest.fixture(scope="module")
def good(pool):
    """The good variant's result on a fresh pool: the reference for later runs."""
    return pool.submit(NET, "Net").result(timeout=60)


def test_a_good_variant_is_measured(good):
    assert good.status == "ok", good.reason
    assert good.accuracy > 0.5
    assert good.params == 64 * 32 + 32 + 32 * 10 + 10
    assert good.latency_ms > 0
    assert 0 < good.train_seconds < good.total_seconds


def test_jobs_submitted_while_the_workers_start_wait_for_them(good):
    with EvaluationPool("digits", workers=1, budget=BUDGET, wait=False) as early:
        result = early.submit(NET, "Net").result(timeout=120)  # at once: no worker is ready yet
    assert result.status == "ok" and result.accuracy == good.accuracy


def test_the_training_seed_is_a_parameter_of_each_job(pool, good):
    digits = load_dataset("digits")
    other = pool.submit(NET, "Net", seed=7).result(timeout=60)
    assert other.status == "ok" and other.accuracy != good.accuracy  # other weights, same split
    from nnevolve.evaluation.train import evaluate_variant

    assert other.accuracy == evaluate_variant(NET, "Net", digits, BUDGET, seed=7).accuracy
    assert pool.submit(NET, "Net", seed=0).result(timeout=60).accuracy == good.accuracy


def test_a_job_may_train_on_a_split_redrawn_with_its_seed(pool, good):
    digits = load_dataset("digits")
    from nnevolve.evaluation.train import evaluate_variant

    redrawn = pool.submit(NET, "Net", seed=0, split_seed=4).result(timeout=60)
    assert redrawn.status == "ok" and redrawn.accuracy != good.accuracy
    assert redrawn.accuracy == evaluate_variant(NET, "Net", digits, BUDGET, seed=0,
                                                split_seed=4).accuracy
    assert pool.submit(NET, "Net", seed=0).result(timeout=60).accuracy == good.accuracy


def test_the_pool_reports_its_dataset(pool):
    assert pool.fingerprint == load_dataset("digits").fingerprint
    assert pool.input_shape == (1, 8, 8) and pool.num_classes == 10 and not pool.has_test


def test_an_exception_fails_only_that_variant_and_keeps_the_worker(pool, good):
    before = pool.worker_pids
    result = pool.submit(RAISES, "Net").result(timeout=60)
    assert result.status == "failed" and result.reason == "crash: ValueError: bad forward"
    assert not result.pool_failure  # the variant's fault: it may be cached
    assert pool.worker_pids == before  # an exception needs no new worker
    assert pool.submit(NET, "Net").result(timeout=60).accuracy == good.accuracy


def assert_fails_alone(pool, good, source: str, reason: str):
    """``source`` fails with ``reason``, its worker is replaced, and the good variant still works."""
    (old_pid,) = pool.worker_pids
    result = pool.submit(source, "Net").result(timeout=60)
    assert result.status == "failed"
    assert result.reason == reason
    assert not result.pool_failure  # the variant's fault, though its worker died
    assert wait_until(lambda: gone(old_pid))
    again = pool.submit(NET, "Net").result(timeout=60)
    assert again.status == "ok" and again.accuracy == good.accuracy  # same seed, same result
    assert old_pid not in pool.worker_pids
    return result


def test_a_hang_is_stopped_at_the_time_limit_and_a_queued_job_can_be_cancelled(pool, good):
    (old_pid,) = pool.worker_pids
    hang = pool.submit(HANGS, "Net")
    assert wait_until(hang.running)
    called_off, queued = pool.submit(NET, "Net"), pool.submit(NET, "Net")
    assert called_off.cancel()
    result = hang.result(timeout=60)
    assert result.status == "failed" and result.reason == "timeout after 4 s"
    assert not result.pool_failure
    assert 4.0 <= result.total_seconds < 10.0
    assert wait_until(lambda: gone(old_pid))
    assert queued.result(timeout=60).accuracy == good.accuracy  # on the replacement worker
    assert called_off.cancelled() and old_pid not in pool.worker_pids


def test_a_hard_exit_is_reported_with_its_exit_code(pool, good):
    assert_fails_alone(pool, good, EXITS, "the variant ended its worker process (exit code 3)")


def test_a_segfault_is_reported_with_its_signal(pool, good):
    assert_fails_alone(pool, good, SEGFAULTS, "the variant crashed its worker process (SIGSEGV)")


def test_a_single_huge_allocation_is_out_of_memory(pool, good):
    assert_fails_alone(pool, good, HUGE_ALLOCATION, "out of memory (> 300 MB)")


def test_growing_memory_is_killed_by_the_memory_watch(pool, good):
    # not "timeout after 4 s": the watch stopped it while it slept
    assert_fails_alone(pool, good, GROWS_SLOWLY, "out of memory (> 300 MB)")


def test_evaluate_many_keeps_the_order_of_the_jobs(good):
    with EvaluationPool("digits", workers=2, budget=BUDGET) as two:
        assert len(two.worker_pids) == 2
        results = two.evaluate_many([(RAISES, "Net"), (NET, "Net"), (NET, "Missing"), (NET, "Net")])
    assert [r.status for r in results] == ["failed", "ok", "failed", "ok"]
    assert results[1].accuracy == results[3].accuracy == good.accuracy
    assert "no class or function Missing" in results[2].reason


def data_folders() -> set[Path]:
    """The temporary dataset copies that pools of this process keep for their workers."""
    return set(Path(tempfile.gettempdir()).glob(f"nnevolve-data-{os.getpid()}-*"))


def test_close_cancels_running_and_queued_jobs_and_kills_the_workers():
    before = data_folders()
    pool = EvaluationPool("digits", workers=2, budget=Budget(time_limit_s=120))
    pids = pool.worker_pids
    assert len(data_folders() - before) == 1
    futures = [pool.submit(HANGS, "Net") for _ in range(3)]
    assert wait_until(lambda: sum(f.running() for f in futures) == 2)
    start = time.monotonic()
    pool.close()
    results = [f.result(timeout=10) for f in futures]
    assert time.monotonic() - start < 10.0  # not the 120 s time limit
    assert [r.reason for r in results] == ["cancelled"] * 3
    assert all(r.pool_failure for r in results)  # the pool stopped them: nothing to cache
    assert wait_until(lambda: all(gone(pid) for pid in pids))
    assert data_folders() == before
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(NET, "Net")
    pool.close()  # closing twice is harmless


def test_workers_that_cannot_start_fail_every_job_as_a_pool_failure(monkeypatch):
    monkeypatch.setattr(pool_module, "save_splits", lambda splits, folder: None)  # no data to map
    with EvaluationPool("digits", workers=1, budget=BUDGET, wait=False) as broken:
        queued = broken.submit(NET, "Net").result(timeout=120)  # waited in the queue
        later = broken.submit(NET, "Net").result(timeout=10)  # submitted after the failure
        with pytest.raises(WorkerStartError, match="^evaluation worker could not start: "):
            broken.wait_ready()
    for result in (queued, later):
        assert result.status == "failed" and result.pool_failure
        assert result.reason.startswith("evaluation worker could not start: ")


def test_a_pool_that_stops_working_fails_its_jobs_as_pool_failures(monkeypatch):
    class NoPipes:  # the monitor thread cannot start a worker: a bug or an exhausted system
        def Pipe(self):  # multiprocessing's name
            raise OSError("no pipes left")

    monkeypatch.setattr(pool_module, "torch_process_context", NoPipes)
    with EvaluationPool("digits", workers=1, budget=BUDGET, wait=False) as stopped:
        result = stopped.submit(NET, "Net").result(timeout=10)
    assert result.status == "failed" and result.pool_failure
    assert result.reason == "evaluation pool stopped: OSError: no pipes left"


def test_test_accuracy_is_measured_when_asked_and_the_dataset_has_a_test_split(tmp_path):
    digits = load_dataset("digits")
    np.savez(tmp_path / "d.npz", x=digits.x_train, y=digits.y_train, x_test=digits.x_val,
             y_test=digits.y_val)
    with EvaluationPool(f"npz:{tmp_path / 'd.npz'}", workers=1, budget=BUDGET) as pool:
        assert pool.has_test
        with_test, without = pool.evaluate_many([(NET, "Net")], with_test=True)[0], \
            pool.submit(NET, "Net").result(timeout=60)
    assert with_test.test_accuracy > 0.5 and without.test_accuracy is None
    assert with_test.accuracy == without.accuracy


def test_data_folders_of_killed_pools_are_removed_by_the_next_pool():
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # its pid now names no process: the pool that made the folder is gone
    orphan = Path(tempfile.gettempdir()) / f"nnevolve-data-{finished.pid}-x"
    orphan.mkdir()
    with EvaluationPool("digits", workers=1, budget=BUDGET):
        assert not orphan.exists()


def test_a_bad_dataset_fails_before_any_worker_starts(tmp_path):
    with pytest.raises(DatasetError, match="has no idx files"):
        EvaluationPool(f"idx:{tmp_path}", workers=1, budget=BUDGET)


def test_workers_die_with_their_parent_and_keep_its_stdout_clean(tmp_path):
    """Even a SIGKILLed parent leaves no workers behind; variants' prints go to stderr."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f'''
        import sys, time
        from nnevolve.evaluation import Budget, EvaluationPool
        source = {NET!r}.replace("return self.net(x)", "print('PRINTED BY VARIANT'); return self.net(x)")
        if __name__ == "__main__":
            pool = EvaluationPool("digits", workers=2, budget=Budget(epochs=1))
            result = pool.submit(source, "Net").result()
            print(result.status, *pool.worker_pids, flush=True)
            time.sleep(120)
    '''))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        line = parent.stdout.readline().split()
        assert line and line[0] == "ok", parent.stderr.read() if parent.poll() is not None else line
        pids = [int(pid) for pid in line[1:]]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_until(lambda: all(gone(pid) for pid in pids))
        assert "PRINTED BY VARIANT" not in parent.stdout.read()
        assert "PRINTED BY VARIANT" in parent.stderr.read()
    finally:
        parent.kill()
        parent.wait()
