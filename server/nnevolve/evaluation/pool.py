"""A pool of persistent worker processes that evaluate variants under a time limit and a memory cap."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import tempfile
import threading
import time
import weakref
from collections import Counter, deque
from concurrent.futures import Future
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from nnevolve.datasets import DatasetSplits, load_dataset
from nnevolve.datasets.splits import save_splits
from nnevolve.evaluation.budget import Budget, EvalResult, timeout_reason
from nnevolve.evaluation.device import check_amp, device_kind, resolve_devices, worker_devices
from nnevolve.evaluation.worker import read_rss_mb, worker_main
from nnevolve.process_context import torch_process_context
from nnevolve.process_tree import is_running, kill_leftovers, kill_tree, process_exists

CANCELLED = "cancelled"
_BUSY_POLL_S = 0.025  # how often running jobs are checked against the time and memory limits
_CLOSE_WAIT_S = 0.5  # close() waits this long for the monitor thread to stop
_IDLE_POLL_S = 1.0
_MAX_START_FAILURES = 3
_START_RETRY_S = 0.2  # e.g. a variant killed the forkserver: the next start launches a new one
_DATA_PREFIX = "nnevolve-data-"


class WorkerStartError(RuntimeError):
    """The worker processes could not be started (not a variant's fault)."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class _Job:
    job_id: int
    source: str
    class_name: str
    with_test: bool
    seed: int  # training seed: initial weights and shuffling
    future: Future
    train_source: str | None = None  # the variant's training script (None: the budget's)
    fraction: float = 1.0  # share of the budget's training steps (< 1: a screening)
    split_seed: int | None = None  # a train / validation split redrawn with it (None: the pool's)
    started: bool = False


@dataclass
class _Worker:
    process: Any  # multiprocessing SpawnProcess
    conn: Connection
    launched_at: float
    device: str  # "cpu" or "cuda:N"
    ready: bool = False
    retiring: bool = False  # asked to be replaced after its last job
    # its forkserver died (a variant may kill it): alive, but multiprocessing reports exit 255
    orphaned: bool = False
    idle_mb: float = 0.0
    job: _Job | None = None
    job_started_at: float = 0.0


class EvaluationPool:
    """Evaluate variants in persistent worker processes (torch imported once, one thread each).

    The dataset is loaded once in this process (so a bad spec raises DatasetError here and a
    download happens once), written to a temporary folder, and mapped by every worker (which
    moves it to its device once). ``device`` (auto, cpu, cuda, cuda:N) places the workers:
    ``workers`` on the CPU, or ``workers_per_device`` on each GPU it names. Each
    variant runs under ``budget.time_limit_s`` and ``budget.memory_mb`` (above the worker's
    idle size); a crash, hang or out-of-memory fails that variant only, and its worker is
    replaced. Futures complete on the pool's monitor thread: keep done-callbacks short.
    """

    def __init__(self, dataset: str | DatasetSplits, *, workers: int | None = None,
                 budget: Budget | None = None, seed: int = 0, data_dir: Path | None = None,
                 max_train: int | None = None, max_val: int | None = None,
                 start_timeout_s: float = 300.0, wait: bool = True, device: str = "cpu",
                 workers_per_device: int = 1) -> None:
        cpu_workers = default_workers() if workers is None else workers
        if cpu_workers < 1 or workers_per_device < 1:
            raise ValueError(f"workers must be at least 1, got {workers}, {workers_per_device}")
        devices = resolve_devices(device)  # DeviceError when CUDA is asked for and missing
        check_amp((budget or Budget()).amp, devices)
        # the device kind is part of the budget's cache key: CPU and GPU results differ
        self.budget = replace(budget or Budget(), device=device_kind(devices))
        self._devices = worker_devices(devices, cpu_workers=cpu_workers,
                                       per_device=workers_per_device)
        self._start_timeout_s = start_timeout_s
        self.seed = seed
        self.size = len(self._devices)
        # an already loaded dataset (a Dask worker gets it scattered) or a spec to load here
        splits = dataset if isinstance(dataset, DatasetSplits) else load_dataset(
            dataset, seed=seed, data_dir=data_dir, max_train=max_train, max_val=max_val)
        self.fingerprint = splits.fingerprint
        self.input_shape = splits.input_shape
        self.num_classes = splits.num_classes
        self.has_test = splits.x_test is not None
        _remove_orphaned_data_folders()
        self._data_folder = Path(tempfile.mkdtemp(prefix=f"{_DATA_PREFIX}{os.getpid()}-"))
        self._remove_data = weakref.finalize(self, shutil.rmtree, self._data_folder, True)
        save_splits(splits, self._data_folder)
        del splits

        self._context = torch_process_context()
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._workers: list[_Worker] = []
        self._job_ids = itertools.count()
        self._closed = False
        self._shut_down = False
        self._fatal: str | None = None
        self._start_failures = 0
        self._started = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._monitor = threading.Thread(target=self._monitor_loop, name="nnevolve-eval-monitor",
                                         daemon=True)
        self._monitor.start()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until every worker has started; raises WorkerStartError (and closes the pool)
        when they cannot. Without it, jobs submitted early wait in the queue, or fail with the
        start-up error."""
        try:
            if not self._started.wait(self._start_timeout_s):
                raise WorkerStartError(
                    f"evaluation workers did not start within {self._start_timeout_s:g} s")
            if self._fatal is not None:
                raise WorkerStartError(self._fatal)
        except BaseException:  # also Ctrl+C while waiting: leave no workers behind
            self.close()
            raise

    # ----------------------------------------------------------------- public API
    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               fraction: float = 1.0, split_seed: int | None = None) -> Future[EvalResult]:
        """Queue one variant; the future's result is an :class:`EvalResult` (never an exception).

        `seed` seeds its training (weights, shuffling): the pool's seed unless given. The data
        split is the pool's unless `split_seed` is given: then the pool's training and
        validation samples split anew with it. `train_source`: the variant's own training
        script (None: the budget's). `fraction` < 1 trains it on that share of the budget's
        steps only (a screening).
        """
        future: Future[EvalResult] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the evaluation pool is closed")
            fatal = self._fatal
            if fatal is None:
                self._queue.append(_Job(next(self._job_ids), source, class_name, with_test,
                                        self.seed if seed is None else seed, future,
                                        train_source=train_source, fraction=fraction,
                                        split_seed=split_seed))
        if fatal is not None:
            future.set_running_or_notify_cancel()
            future.set_result(EvalResult.failed(fatal, pool_failure=True))
        self._wake()
        return future

    def evaluate_many(self, jobs: list[tuple[str, str]], *, with_test: bool = False) -> list[EvalResult]:
        """Evaluate ``(source, class_name)`` pairs in parallel; results in the same order."""
        futures = [self.submit(source, class_name, with_test=with_test) for source, class_name in jobs]
        return [future.result() for future in futures]

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (replaced workers get new ones)."""
        return [w.process.pid for w in list(self._workers) if w.process.pid is not None]

    def close(self) -> None:
        """Kill every worker now; unfinished futures complete with a ``cancelled`` failure."""
        with self._lock:
            self._closed = True
        self._wake()
        if threading.current_thread() is not self._monitor:
            # the monitor may wait in a worker's start (the forkserver still importing torch,
            # seconds): a cancel does not wait for that; the monitor kills what it starts late
            self._monitor.join(timeout=_CLOSE_WAIT_S)
        self._shutdown()

    def __enter__(self) -> EvaluationPool:  # noqa: PYI034  (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- monitor thread
    def _monitor_loop(self) -> None:
        try:
            while not self._closed:
                self._start_missing_workers()
                self._dispatch()
                busy = any(w.job is not None or not w.ready for w in self._workers)
                self._wait(_BUSY_POLL_S if busy else _IDLE_POLL_S)
                self._collect()
                self._enforce_limits()
        except Exception as exc:  # noqa: BLE001  (a bug here must not leave callers waiting forever)
            self._fail_all(f"evaluation pool stopped: {type(exc).__name__}: {exc}")
        finally:
            if self._closed:
                self._shutdown()

    def _start_missing_workers(self) -> None:
        while self._fatal is None and not self._closed and len(self._workers) < self.size:
            device = self._free_device()
            parent_conn, child_conn = self._context.Pipe()
            process = self._context.Process(
                target=worker_main, name="nnevolve-eval-worker", daemon=True,
                args=(child_conn, os.getpid(), str(self._data_folder), self.budget, device))
            try:
                process.start()  # the first start waits for the forkserver's preload (seconds)
            except (OSError, EOFError) as exc:  # the forkserver died (a variant may kill it)
                parent_conn.close()
                child_conn.close()
                self._start_failures += 1
                if self._start_failures >= _MAX_START_FAILURES:
                    self._fail_all(f"evaluation worker could not start: "
                                   f"{type(exc).__name__}: {exc}")
                time.sleep(_START_RETRY_S)
                return
            child_conn.close()
            if self._shut_down:  # close() gave up waiting for this thread meanwhile
                kill_tree(process.pid)
                parent_conn.close()
                return
            self._workers.append(_Worker(process, parent_conn, launched_at=time.monotonic(),
                                         device=device))

    def _free_device(self) -> str:
        """The device of a worker slot that has no worker (a replacement takes its place)."""
        missing = Counter(self._devices) - Counter(w.device for w in self._workers)
        return next(iter(missing.elements()))

    def _dispatch(self) -> None:
        for worker in self._workers:
            if not worker.ready or worker.retiring or worker.job is not None:
                continue
            job = self._next_job()
            if job is None:
                return
            try:
                worker.conn.send((job.job_id, job.source, job.class_name, job.with_test,
                                  job.seed, job.train_source, job.fraction, job.split_seed))
            except (OSError, ValueError):  # the worker just died; _collect replaces it
                with self._lock:
                    self._queue.appendleft(job)
                continue
            worker.job, worker.job_started_at = job, time.monotonic()

    def _next_job(self) -> _Job | None:
        with self._lock:
            while self._queue:
                job = self._queue.popleft()
                if job.started or job.future.set_running_or_notify_cancel():
                    job.started = True
                    return job
        return None

    def _wait(self, timeout: float) -> None:
        handles: list[Any] = [self._wake_read]
        for worker in self._workers:
            handles += [worker.conn] if worker.orphaned else [worker.conn, worker.process.sentinel]
        wait(handles, timeout)
        try:
            while os.read(self._wake_read, 4096):
                pass
        except OSError:  # drained (BlockingIOError), or closed by a concurrent close()
            pass

    def _collect(self) -> None:
        for worker in list(self._workers):
            # read exit status before messages, so a result sent just before exiting is not lost
            dead = self._has_exited(worker)
            try:
                while worker.conn.poll():
                    self._handle_message(worker, worker.conn.recv())
            except (EOFError, OSError):
                dead = True
            if dead:
                self._bury(worker)
            elif worker.orphaned and worker.job is None and worker.ready:
                kill_tree(worker.process.pid)  # replaced by a worker of a new forkserver
                self._remove(worker)

    def _has_exited(self, worker: _Worker) -> bool:
        if not worker.orphaned and worker.process.exitcode is None:
            return False
        if is_running(worker.process.pid):  # only the forkserver, its parent, is gone
            worker.orphaned = True
            return False
        return True

    def _handle_message(self, worker: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            worker.idle_mb = read_rss_mb(worker.process.pid) or 0.0
            self._start_failures = 0
            if len(self._workers) >= self.size and all(w.ready for w in self._workers):
                self._started.set()
        elif kind == "error":
            self._fail_all(f"evaluation worker could not start: {message[1]}")
        elif kind == "result":
            _, job_id, result, recycle = message
            job, worker.job = worker.job, None
            worker.retiring = worker.retiring or recycle
            if job is not None and job.job_id == job_id:
                result.total_seconds = time.monotonic() - worker.job_started_at
                job.future.set_result(result)

    def _bury(self, worker: _Worker) -> None:
        """Remove a dead worker; its running job fails with the exit reason."""
        worker.process.join(timeout=1.0)
        exitcode = None if worker.orphaned else worker.process.exitcode  # else unknown
        kill_leftovers(worker.process.pid)  # what the variant started: its group, its programs
        self._remove(worker)
        if worker.job is not None:
            self._finish(worker, _death_reason(exitcode))
        elif not worker.ready and not self._closed:
            self._start_failures += 1
            if self._start_failures >= _MAX_START_FAILURES:
                self._fail_all(f"evaluation workers exit at start-up ({_exit_words(exitcode)})")

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        limit_s, cap_mb = self.budget.time_limit_s, self.budget.memory_mb
        for worker in list(self._workers):
            if not worker.ready and now - worker.launched_at > self._start_timeout_s:
                kill_tree(worker.process.pid)  # stuck while starting: a failed start
                continue
            if worker.job is None:
                continue
            if now - worker.job_started_at > limit_s:
                self._kill(worker, timeout_reason(limit_s))
                continue
            rss_mb = read_rss_mb(worker.process.pid)
            if rss_mb is not None and rss_mb - worker.idle_mb > cap_mb:
                self._kill(worker, f"out of memory (> {cap_mb} MB)")

    def _kill(self, worker: _Worker, reason: str) -> None:
        kill_tree(worker.process.pid)
        worker.process.join(timeout=5.0)
        self._remove(worker)
        self._finish(worker, reason)

    def _finish(self, worker: _Worker, reason: str, *, pool_failure: bool = False) -> None:
        job, worker.job = worker.job, None
        if job is not None:
            elapsed = time.monotonic() - worker.job_started_at
            job.future.set_result(EvalResult.failed(reason, total_seconds=elapsed,
                                                    pool_failure=pool_failure))

    def _remove(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        worker.conn.close()

    def _fail_all(self, reason: str) -> None:
        """The pool cannot evaluate anything (workers do not start): fail every job with ``reason``."""
        with self._lock:
            self._fatal = reason
        self._started.set()
        for worker in list(self._workers):
            if worker.job is not None:
                self._finish(worker, reason, pool_failure=True)
        self._drain_queue(reason)

    def _drain_queue(self, reason: str) -> None:
        """Fail every queued job: the pool cannot run them (a pool failure, never the variant's)."""
        while (job := self._next_job()) is not None:
            job.future.set_result(EvalResult.failed(reason, pool_failure=True))

    def _shutdown(self) -> None:
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        workers = list(self._workers)
        for worker in workers:
            kill_tree(worker.process.pid)
        for worker in workers:
            worker.process.join(timeout=5.0)
            self._remove(worker)
            self._finish(worker, CANCELLED, pool_failure=True)
        self._drain_queue(CANCELLED)
        self._started.set()
        with self._lock:  # under the lock so no _wake() writes to a closed (reused) descriptor
            os.close(self._wake_read)
            os.close(self._wake_write)
            self._wake_write = -1
        self._remove_data()

    def _wake(self) -> None:
        with self._lock:
            if self._wake_write < 0:
                return
            try:
                os.write(self._wake_write, b"\0")
            except BlockingIOError:  # the pipe is full: the monitor wakes anyway
                pass


def _remove_orphaned_data_folders() -> None:
    """Delete data folders left by pools whose process was killed before it could clean up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_DATA_PREFIX}*-*"):
        owner = folder.name[len(_DATA_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not process_exists(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _exit_words(exitcode: int | None) -> str:
    """How a worker ended, for a worker that ran no variant."""
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"worker died (killed by {signal.Signals(-exitcode).name})"
    return f"worker died (exit code {exitcode})"


_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}


def _death_reason(exitcode: int | None) -> str:
    """Why the worker running a variant ended, in words that point at the variant."""
    if exitcode is not None and exitcode < 0:
        try:
            sig = signal.Signals(-exitcode)
        except ValueError:
            return f"the variant's worker process was killed by signal {-exitcode}"
        if sig in _CRASH_SIGNALS:
            return f"the variant crashed its worker process ({sig.name})"
        return f"the variant killed its worker process ({sig.name})"
    if exitcode is None:
        return "the variant's worker process died"
    return f"the variant ended its worker process (exit code {exitcode})"
