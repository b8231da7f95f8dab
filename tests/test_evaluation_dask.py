"""The Dask backend on a two-process LocalCluster on loopback: the same results as the local
pool, a Dask worker killed mid-evaluation, cancel, and a wrong address."""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import replace
from pathlib import Path

import dask
import numpy as np
import pytest
from dask.utils import parse_timedelta
from distributed import Client, LocalCluster

from nnevolve.config import load_config
from nnevolve.datasets import load_dataset
from nnevolve.evaluation import Budget
from nnevolve.evaluation.dask_backend import (
    _STARTED_TOPIC,
    ClusterError,
    DaskEvaluationPool,
    _evaluate,
)
from nnevolve.evaluation.device import DeviceError
from nnevolve.evaluation.train import evaluate_variant
from nnevolve.process_tree import descendants, is_running
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import MLP as SEED_NET
from run_support import NET, make_workspace, run_settings

pytestmark = pytest.mark.slow

# about 0.05 s a batch: long enough to kill its Dask worker while it trains
SLOW = NET.replace("return self.net(x)", "import time; time.sleep(0.05); return self.net(x)")
HANGS = NET.replace("return self.net(x)", "while True: pass")
BUDGET = Budget(epochs=2, lr=0.01, time_limit_s=60)


def stuck(marker: str) -> str:
    """Starts `sleep <marker>` in a session of its own, then holds the GIL in C code for good
    (2**40 steps of backtracking): its worker's own watch of the Dask worker cannot run."""
    return NET.replace("return self.net(x)",
                       f"import re, subprocess; subprocess.Popen(['sleep', '{marker}'], "
                       "start_new_session=True); re.match(r'(a+)+$', 'a' * 40 + 'b')")


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local, Client(local) as client:
        yield local, client


def running_worker(client: Client, timeout: float = 120.0) -> str:
    """The address of a Dask worker that runs an evaluation (once one has started there, not
    only waits there behind another)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processing = client.processing()
        for _, (_, key, worker) in client.get_events(_STARTED_TOPIC):
            if key in processing.get(worker, ()):
                return worker
        time.sleep(0.05)
    raise AssertionError("no evaluation started")


def child_pids() -> list[list[int]]:
    """On a Dask worker: the child processes of each session's pool there."""
    from nnevolve.evaluation.dask_backend import _pools

    return [pool.worker_pids for pool in _pools.values()]


def evaluations_held(client: Client) -> dict[str, int]:
    """How many evaluations the scheduler has given each worker (running or waiting there)."""
    return {worker: sum(str(key).startswith("nnevolve-evaluate-") for key in keys)
            for worker, keys in client.processing().items()}


def kill_worker(client: Client, worker: str) -> None:
    pid = client.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)


def scattered_to(client: Client) -> list[str]:
    """The workers that hold a scattered dataset."""
    return sorted(worker for worker, keys in client.has_what().items()
                  if any(str(key).startswith("DatasetSplits-") for key in keys))


def test_variants_are_measured_on_the_cluster_as_they_are_here(cluster) -> None:
    local, client = cluster
    with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET,
                            device="auto") as pool:
        assert pool.budget.device == "cpu" and pool.size == 2
        assert scattered_to(client) == sorted(client.nthreads())  # sent once, to every worker
        results = pool.evaluate_many([(NET, "Net"), (NET, "Net"), (HANGS.replace(
            "while True: pass", "raise ValueError('bad')"), "Net")])
    here = evaluate_variant(NET, "Net", load_dataset("digits"), BUDGET)
    assert [r.accuracy for r in results[:2]] == [here.accuracy, here.accuracy]
    assert results[2].reason == "crash: ValueError: bad" and not results[2].pool_failure


def test_each_dask_worker_thread_holds_its_next_evaluation_and_no_more(cluster) -> None:
    # the next one waits on the worker, so it starts as the current one ends (no trip through
    # the scheduler and this process between them); the rest stay here, so a generation's
    # last ones do not queue behind a busy worker while another idles
    local, client = cluster
    with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET) as pool:
        futures = [pool.submit(SLOW, "Net", seed=seed) for seed in range(6)]
        held: list[int] = []  # evaluations the scheduler has given each worker, over time
        while not all(future.done() for future in futures):
            held += evaluations_held(client).values()
            time.sleep(0.05)
        # each Dask worker runs them in the same child processes, started once
        children = client.run(child_pids)
        assert all(len(pids) == 1 and len(pids[0]) == 1 for pids in children.values())
        pool.evaluate_many([(NET, "Net")] * 4)
        assert client.run(child_pids) == children
    assert all(future.result().ok for future in futures)
    assert max(held) == 2


def test_evaluations_spread_over_the_workers_after_dask_dropped_copies_of_the_data(
        cluster) -> None:
    # Dask's memory manager keeps one copy of scattered data no task waits for: had the
    # evaluations depended on it, all would go to that worker while the other one idled
    local, client = cluster
    interval = dask.config.get("distributed.scheduler.active-memory-manager.interval")
    with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET) as pool:
        pool.evaluate_many([(NET, "Net")] * 2)
        time.sleep(2 * parse_timedelta(interval) + 1)
        assert len(scattered_to(client)) == 1
        futures = [pool.submit(SLOW, "Net", seed=seed) for seed in range(2)]
        held: list[int] = []
        while not all(future.done() for future in futures):
            held += evaluations_held(client).values()
            time.sleep(0.05)
    assert all(future.result().ok for future in futures)
    assert max(held) == 1


def test_path_datasets_are_read_by_the_workers(cluster, tmp_path: Path) -> None:
    local, client = cluster
    digits = load_dataset("digits")
    path = tmp_path / "digits.npz"
    np.savez(path, x=digits.x_train, y=digits.y_train, x_test=digits.x_val, y_test=digits.y_val)
    spec = f"npz:{path}"
    with DaskEvaluationPool(local.scheduler_address, spec, budget=BUDGET) as pool:
        assert pool.fingerprint == load_dataset(spec).fingerprint and pool.has_test
        assert scattered_to(client) == []
        result = pool.submit(NET, "Net", with_test=True).result(timeout=120)
        # a worker whose copy of the files differs refuses to evaluate on it
        other = replace(pool._settings, session="other", fingerprint="another")
        refused = client.submit(_evaluate, spec, NET, "Net", False, 0, other).result(timeout=120)
    assert result.ok and result.test_accuracy > 0.5
    assert refused.pool_failure and "differs from the one the run described" in refused.reason


def test_close_cancels_a_running_evaluation_within_seconds(cluster) -> None:
    local, client = cluster
    pool = DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET)
    future = pool.submit(HANGS, "Net")
    worker = running_worker(client)
    started = time.monotonic()
    pool.close()
    assert future.result(timeout=1).reason == "cancelled"
    assert time.monotonic() - started < 10
    # the hanging child is stopped, not left to its time limit: the worker's one thread is free
    client.submit(time.sleep, 0, workers=[worker], pure=False).result(timeout=10)


def test_the_device_is_resolved_on_the_workers_and_amp_refused_on_their_cpus(cluster) -> None:
    local, _ = cluster
    with pytest.raises(DeviceError, match=r"on Dask worker tcp://.*: amp = true needs a CUDA"):
        DaskEvaluationPool(local.scheduler_address, "digits", budget=Budget(amp=True))
    with pytest.raises(DeviceError, match=r"on Dask worker tcp://.*sees no CUDA device"):
        DaskEvaluationPool(local.scheduler_address, "digits", device="cuda")


def test_a_wrong_address_fails_fast_with_a_clear_message() -> None:
    started = time.monotonic()
    with pytest.raises(ClusterError,
                       match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 within 2 s"):
        DaskEvaluationPool("tcp://127.0.0.1:9", "digits", connect_timeout_s=2)
    assert time.monotonic() - started < 10


SETTINGS = run_settings()


def front(workspace: Path, **overrides: object) -> list[tuple[str, float, int, float]]:
    config = load_config(workspace / "mlp.py").with_overrides(overrides)
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "mlp.py", store=store)
        assert result.status == "finished", result.error
        # the confirmed means too: their seeds train on redrawn splits there as here
        return sorted((v.source_hash, v.evaluation.accuracy, v.evaluation.params,
                       v.figures.accuracy) for v in store.pareto(result.run_id))


def test_the_same_seed_gives_the_same_front_as_the_local_pool(cluster, tmp_path: Path) -> None:
    local, _ = cluster
    workspace = make_workspace(tmp_path, SETTINGS, {"mlp.py": SEED_NET})
    here = front(workspace, store=tmp_path / "here.sqlite")
    there = front(workspace, store=tmp_path / "there.sqlite", cluster=local.scheduler_address)
    assert here == there and here


# last: the Dask workers it kills restart, and their next pool imports torch again
def test_a_killed_dask_worker_has_its_evaluation_rerun_elsewhere_or_failed(cluster) -> None:
    local, client = cluster
    with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET) as pool:
        future = pool.submit(SLOW, "Net")
        kill_worker(client, running_worker(client))
        rerun = future.result(timeout=180)
        assert rerun.ok, rerun.reason
        # with no failures allowed, the scheduler gives up on it: failed, with the reason
        allowed = local.scheduler.allowed_failures
        local.scheduler.allowed_failures = 0
        try:
            client.wait_for_workers(2, timeout=120)
            future = pool.submit(SLOW, "Net", seed=1)
            kill_worker(client, running_worker(client))
            failed = future.result(timeout=180)
        finally:
            local.scheduler.allowed_failures = allowed
        assert failed.status == "failed" and not failed.pool_failure
        assert failed.reason.startswith("Dask workers died while evaluating it")
    client.wait_for_workers(2, timeout=120)


def test_a_killed_dask_worker_leaves_none_of_its_processes_behind(cluster) -> None:
    # its pool's forkserver (torch imported, ~1 GB), its child and what the variant started
    local, client = cluster
    client.wait_for_workers(2, timeout=120)
    marker = f"300.{secrets.randbelow(10**8):08d}"
    tree: list[int] = []
    allowed, local.scheduler.allowed_failures = local.scheduler.allowed_failures, 0
    try:
        with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET) as pool:
            future = pool.submit(stuck(marker), "Net")
            worker = running_worker(client)
            pid = client.run(os.getpid, workers=[worker])[worker]
            deadline = time.monotonic() + 120
            while not any(marker in command_line(child) for child in descendants(pid)):
                assert time.monotonic() < deadline, "the variant did not start"
                time.sleep(0.05)
            tree += descendants(pid)
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            while any(is_running(child) for child in tree) and time.monotonic() - killed_at < 5:
                time.sleep(0.05)
            left = [(child, command_line(child)[:80]) for child in tree if is_running(child)]
            result = future.result(timeout=180)
    finally:
        local.scheduler.allowed_failures = allowed
        for child in tree:  # a failure leaves nothing running
            if is_running(child):
                os.kill(child, signal.SIGKILL)
    assert len(tree) >= 3 and not left, left  # forkserver, its child, the sleep: all gone
    assert result.reason.startswith("Dask workers died while evaluating it"), result.reason
    client.wait_for_workers(2, timeout=120)


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_an_evaluation_waiting_behind_one_whose_worker_dies_is_sent_again_not_failed(
        cluster) -> None:
    local, client = cluster
    client.wait_for_workers(2, timeout=120)
    allowed, local.scheduler.allowed_failures = local.scheduler.allowed_failures, 0
    try:
        with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET) as pool:
            futures = [pool.submit(SLOW, "Net", seed=seed) for seed in range(4)]
            worker = running_worker(client)
            assert evaluations_held(client)[worker] == 2  # the one it runs, the next one
            kill_worker(client, worker)
            results = [future.result(timeout=180) for future in futures]
    finally:
        local.scheduler.allowed_failures = allowed
    died = [r for r in results if r.reason and r.reason.startswith("Dask workers died")]
    assert len(died) == 1 and sum(r.ok for r in results) == 3, [r.reason for r in results]
    client.wait_for_workers(2, timeout=120)


def test_a_dataset_whose_holders_all_died_is_scattered_again(cluster) -> None:
    local, client = cluster
    client.wait_for_workers(2, timeout=120)
    with DaskEvaluationPool(local.scheduler_address, "digits", budget=BUDGET) as pool:
        assert pool.submit(NET, "Net").result(timeout=180).ok
        scattered, old = pool._data, set(client.nthreads())
        for worker in old:
            kill_worker(client, worker)
        deadline = time.monotonic() + 120
        while len(set(client.nthreads()) - old) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        result = pool.submit(NET, "Net", seed=1).result(timeout=180)
        assert result.ok, result.reason
        assert pool._data != scattered  # the new workers had no copy: sent again


def test_a_task_the_cluster_cancelled_ends_the_run_as_a_pool_failure() -> None:
    from types import SimpleNamespace

    from nnevolve.evaluation.dask_backend import _task_result

    result = _task_result(SimpleNamespace(status="cancelled"))
    assert result.pool_failure and "scheduler connection lost" in result.reason


def test_a_resumed_run_takes_the_cluster_named_now(tmp_path: Path) -> None:
    from nnevolve.config import EvolveConfig
    from nnevolve.run import _resume

    stored = EvolveConfig(root=tmp_path, cluster="tcp://old-head:8786")
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(file=str(tmp_path / "mlp.py"), class_name="Mlp",
                                  base_source=SEED_NET, base_hash="h", config=stored.to_json(),
                                  dataset_fingerprint="fp", budget_key="bk")
        moved = _resume(EvolveConfig(root=tmp_path, cluster="tcp://new-head:8786"), store, run_id)
        kept = _resume(EvolveConfig(root=tmp_path), store, run_id)
    assert moved.config.cluster == "tcp://new-head:8786"
    assert kept.config.cluster == "tcp://old-head:8786"


# about 0.05 s a batch: each evaluation runs long enough to kill its Dask worker meanwhile
SLOW_SEED = SEED_NET.replace("return self.net(x)",
                             "import time; time.sleep(0.05); return self.net(x)")


def test_a_run_whose_dask_worker_is_killed_mid_evaluation_finishes_and_writes_outputs(
        cluster, tmp_path: Path) -> None:
    import threading

    local, client = cluster
    workspace = make_workspace(tmp_path, run_settings(confirm_seeds=0),
                               {"mlp.py": SLOW_SEED})
    config = load_config(workspace / "mlp.py").with_overrides(
        {"cluster": local.scheduler_address, "store": tmp_path / "runs.sqlite"})
    searching, killed = threading.Event(), []
    pids = client.run(os.getpid)  # known beforehand: the kill follows the sighting at once

    def kill_one_search_evaluation() -> None:
        if not searching.wait(900):  # never the base network's: a run without it fails
            return
        killed.append(running_worker(client))
        os.kill(pids[killed[0]], signal.SIGKILL)

    killer = threading.Thread(target=kill_one_search_evaluation, daemon=True)
    killer.start()
    # no rerun allowed: the evaluation on the killed worker is a failed variant, with the reason
    allowed, local.scheduler.allowed_failures = local.scheduler.allowed_failures, 0
    try:
        with RunStore(config.store_path) as store:
            result = run_evolution(
                config, workspace / "mlp.py", store=store,
                progress=lambda report: report.phase == "search" and searching.set())
            variants = store.variants(result.run_id)
    finally:
        local.scheduler.allowed_failures = allowed
        killer.join(timeout=60)
    assert killed, "no worker was killed"
    assert result.status == "finished", result.error
    died = [v for v in variants if v.status == "failed"
            and (v.reason or "").startswith("Dask workers died while evaluating it")]
    # what the worker ran, and nothing more: no evaluation waits on a worker behind another
    assert len(died) == 1, [(v.status, v.reason) for v in variants]
    assert all(v.status in ("evaluated", "failed") for v in variants)
    assert result.pareto and (result.out_dir / "pareto.json").is_file()
