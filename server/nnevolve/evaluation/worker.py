"""The persistent worker process: import torch once, map the dataset once, evaluate jobs."""

from __future__ import annotations

import os
import select
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from nnevolve.error_text import one_line
from nnevolve.evaluation.budget import Budget
from nnevolve.process_tree import (
    become_group_reaper,
    end_with_tree_when,
    kill_descendants,
    process_exists,
)

# room for thread stacks and allocator arenas beyond the cap, which count as address space
_ADDRESS_SPACE_SLACK_MB = 1024


def worker_main(conn: Connection, pool_pid: int, data_folder: str, budget: Budget,
                device: str = "cpu") -> None:
    """Entry point of a worker process (started by the forkserver or spawned) that trains on
    ``device`` ("cpu" or "cuda:N"), where it moves the dataset once.

    Messages to the parent: ``("ready", None)`` or ``("error", message)`` once, then one
    ``("result", job_id, EvalResult, recycle)`` per job. A job is
    ``(job_id, source, class_name, with_test, seed, train_source, fraction, split_seed)`` (the
    seed of weights and shuffling; the variant's training script, None for the budget's; the
    share of the budget's training steps, 1.0 but for a screening; the seed of a redrawn
    train / validation split, None for the pool's);
    ``None`` asks the worker to stop.
    """
    # every process a variant starts stays in this tree, and dies with its evaluation
    become_group_reaper()
    _die_with_pool(pool_pid, conn)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the parent decides
    _keep_stdout_clean()
    try:
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already fixed in the process this worker was forked from
            pass
        from nnevolve.datasets.splits import open_saved_splits
        from nnevolve.evaluation.device import prepare_device, release, to_device
        from nnevolve.evaluation.train import evaluate_variant, out_of_memory_reason, warm_up

        target = prepare_device(device, budget.memory_mb)
        warm_up(target)
        splits = to_device(open_saved_splits(Path(data_folder)), target)
        if target.type == "cpu":  # CUDA reserves address space by the gigabyte as it goes
            _cap_address_space(budget.memory_mb)
    except Exception as exc:  # noqa: BLE001  (reported to the pool, which stops with the reason)
        conn.send(("error", one_line(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if job is None:
            return
        job_id, source, class_name, with_test, seed, train_source, fraction, split_seed = job
        result = evaluate_variant(source, class_name, splits, budget, seed=seed,
                                  with_test=with_test, train_source=train_source,
                                  fraction=fraction, split_seed=split_seed)
        if not result.ok:  # e.g. CUDA out of memory: give the device back to the next variant
            release(target)
        kill_descendants(os.getpid())  # nothing the variant started outlives its evaluation
        # after a failed allocation the heap may stay bloated: a fresh worker is cheaper
        recycle = result.reason == out_of_memory_reason(budget)
        conn.send(("result", job_id, result, recycle))
        if recycle:
            return


def read_rss_mb(pid: int) -> float | None:
    """Anonymous resident memory of ``pid`` in MB (heap, not mapped files), None if unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return _psutil_rss_mb(pid)
    value = fields.get("RssAnon") or fields.get("VmRSS")
    return int(value.split()[0]) / 1024.0 if value else None


def _psutil_rss_mb(pid: int) -> float | None:
    try:
        import psutil  # optional: only where /proc is missing
    except ImportError:
        return None
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return None


def _die_with_pool(pool_pid: int, conn: Connection) -> None:
    """Never outlive the pool's process, however it ends (even SIGKILL), nor leave its tree.

    The pool is watched rather than the direct parent (the forkserver): a variant that kills
    its parent process must not take every other worker, and their variants, with it. (A
    worker whose thread cannot run, e.g. a variant holding the GIL in C code, is killed by
    the forkserver, which watches the pool's process too: ``nnevolve.forkserver_guard``.)
    """
    def pool_gone() -> bool:
        # the pool's end of the connection closes when its process dies, even as a zombie
        hung_up = select.poll()
        hung_up.register(conn.fileno(), select.POLLHUP)
        return not process_exists(pool_pid) or bool(hung_up.poll(0))

    end_with_tree_when(pool_gone)


def _keep_stdout_clean() -> None:
    # variants may print; the parent's stdout can be a language server's protocol stream
    try:
        os.dup2(sys.stderr.fileno(), 1)
    except (OSError, AttributeError, ValueError):
        pass
    sys.stdout = sys.stderr


def _cap_address_space(memory_mb: int) -> None:
    """A second line behind the parent's RSS watch: one huge allocation fails at once."""
    try:
        import resource
    except ImportError:
        return
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return
    limit = (vm_kb // 1024 + 2 * memory_mb + _ADDRESS_SPACE_SLACK_MB) * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
