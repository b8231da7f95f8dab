"""Evaluate variants on an existing Dask cluster, with the interface of the local EvaluationPool.

Each Dask worker process keeps an EvaluationPool of its own (one child process per worker
thread, torch imported once), so a variant runs there exactly as it runs locally: in a child
process under the budget's time limit and memory cap, where a hang, a crash or an allocation
failure ends that child and never the Dask worker.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nnevolve
from nnevolve.datasets import DatasetSplits, load_dataset
from nnevolve.error_text import one_line
from nnevolve.evaluation.budget import Budget, EvalResult
from nnevolve.evaluation.device import DeviceError, check_amp, device_kind, resolve_devices
from nnevolve.evaluation.pool import CANCELLED, EvaluationPool, WorkerStartError

if TYPE_CHECKING:
    from distributed import Client
    from distributed import Future as DaskFuture

CONNECT_TIMEOUT_S = 10.0
_CLOSE_TIMEOUT_S = 5.0
# while evaluations run, the cluster's threads are counted again after this long (an RPC: off
# the path from one finished evaluation to the next one's start)
_RECOUNT_S = 10.0
# read by each Dask worker from its own disk (shared storage): never shipped through the scheduler
_PATH_SPECS = ("idx:", "npz:", "folder:")
# evaluations each worker thread holds beside the one it runs: the next one starts as the
# current one ends, without a trip through the scheduler and this process in between
_AHEAD_PER_THREAD = 1
# [session, task key, worker address] logged by a task as it starts on a Dask worker
_STARTED_TOPIC = "nnevolve-evaluation-started"
# sends of one evaluation whose workers die before it starts, or that finds the data gone
_MAX_SENDS = 3
# a Dask worker's fetch of the scattered dataset for its first evaluation of a session
_FETCH_TIMEOUT_S = 300.0


class ClusterError(WorkerStartError):
    """The Dask cluster cannot be reached or cannot run nnevolve (one-line message)."""


class DataUnavailable(RuntimeError):
    """On a Dask worker: the dataset the client scattered is gone (its holders died)."""


@dataclass(frozen=True)
class _ScatteredData:
    """The dataset the client scattered, published under ``name``. A task gets the name, not
    the data as a dependency: Dask places a task only on workers holding its dependencies,
    and its memory manager keeps one copy of data no task waits for, so every evaluation
    would go to that one worker. A worker fetches the data for its first evaluation of the
    session only."""

    name: str
    key: str  # of this copy: a new one after the holders of the last one died


@dataclass(frozen=True)
class _Settings:
    """What a Dask worker needs to build its pool; the same for every task of a session."""

    session: str
    budget: Budget
    seed: int
    device: str
    workers_per_device: int
    max_train: int | None
    max_val: int | None
    fingerprint: str = ""  # of the dataset this process described: every worker must read it


class DaskEvaluationPool:
    """Evaluate variants on the Dask cluster at ``address`` (a running scheduler and workers).

    The interface is :class:`EvaluationPool`'s: ``submit`` gives a Future that never raises,
    ``close`` cancels what is unfinished ("cancelled"). Small datasets are loaded here and
    scattered to every worker once; path datasets (``idx:``, ``npz:``, ``folder:``) are read
    by the workers from the same path (a worker fetches the scattered data for its first
    evaluation, when its pool starts). ``device`` applies on the workers. At most two
    evaluations per worker thread are in Dask: the one it runs and the next, already on the
    worker when the current one ends; the rest wait here and go out as evaluations finish
    (all at once, Dask would bind them to workers ahead, and a generation's last ones would
    wait behind a busy worker while another idles). A Dask worker that
    dies mid-evaluation has its task rerun elsewhere by the scheduler; when workers keep dying
    on it (``distributed.scheduler.allowed-failures``) the variant fails with that reason,
    unless it never started there (it waited behind the one that died): then it is sent again.
    When the workers holding the scattered data die with it, the data is scattered again and
    the evaluations that found it gone are sent again.
    Raises ClusterError (a wrong address fails within ``connect_timeout_s``), DatasetError or
    DeviceError.
    """

    def __init__(self, address: str, dataset: str, *, budget: Budget | None = None,
                 seed: int = 0, data_dir: Path | None = None, max_train: int | None = None,
                 max_val: int | None = None, device: str = "auto", workers_per_device: int = 1,
                 start_timeout_s: float = 120.0, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 wait: bool = True) -> None:
        del wait  # the workers are asked for their device below: this always waits for one
        self.address, self.seed = address, seed
        self._client = _connect(address, connect_timeout_s)
        self._lock = threading.Lock()
        self._closed = False
        self._job_ids = itertools.count()
        self._jobs: dict[int, _Job] = {}
        self._waiting: deque[int] = deque()  # jobs not yet in Dask: sent as threads free up
        self._in_dask = 0  # jobs sent and not finished
        self._threads = 1  # the cluster's worker threads, as last asked
        self._counted_at = 0.0
        self._splits: DatasetSplits | None = None  # kept to scatter again when a holder dies
        self._scattered: DaskFuture | None = None  # keeps the scattered copy on the cluster
        self._started: set[str] = set()  # keys of this session's tasks that began on a worker
        self._session = session = uuid.uuid4().hex
        try:
            self._client.subscribe_topic(_STARTED_TOPIC, self._on_started)
            kind = self._worker_device_kind(device, (budget or Budget()).amp, start_timeout_s)
            self._threads, self._counted_at = self.size, time.monotonic()
            self.budget = replace(budget or Budget(), device=kind)
            self._settings = _Settings(session, self.budget, seed, device, workers_per_device,
                                       max_train, max_val)
            self._data: _ScatteredData | str
            if dataset.startswith(_PATH_SPECS):
                self._data = dataset
                described = self._client.submit(_describe_dataset, dataset, self._settings,
                                                 pure=False).result()
                self.fingerprint, self.input_shape, self.num_classes, self.has_test = described
                self._settings = replace(self._settings, fingerprint=self.fingerprint)
            else:
                splits = load_dataset(dataset, seed=seed, data_dir=data_dir,
                                      max_train=max_train, max_val=max_val)
                self.fingerprint, self.input_shape = splits.fingerprint, splits.input_shape
                self.num_classes, self.has_test = splits.num_classes, splits.x_test is not None
                self._splits = splits
                self._scatter()
        except BaseException:
            self._unpublish()
            self._client.close(timeout=_CLOSE_TIMEOUT_S)
            raise

    # ----------------------------------------------------------------- public API
    @property
    def size(self) -> int:
        """Evaluations the cluster runs at once (its worker threads)."""
        return sum(self._client.nthreads().values())

    def _count_threads(self) -> None:
        """Ask the cluster how many worker threads it has now (workers join and leave), and
        fill the new ones."""
        try:
            threads = self.size
        except Exception:  # noqa: BLE001  (disconnected: the tasks' own failures tell the caller)
            return
        with self._lock:
            self._threads, self._counted_at = threads, time.monotonic()
            if not self._closed:
                self._send_waiting()

    def wait_ready(self) -> None:
        """Nothing to wait for: the constructor waited for the cluster's workers."""

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               fraction: float = 1.0, split_seed: int | None = None) -> Future[EvalResult]:
        """Send one variant to the cluster; the future's result is an EvalResult (never raises).
        `fraction` < 1 trains it on that share of the budget's steps (a screening);
        `split_seed` redraws the train / validation split the worker holds with that seed."""
        future: Future[EvalResult] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise RuntimeError("the evaluation pool is closed")
            job_id = next(self._job_ids)
            self._jobs[job_id] = _Job(future, (source, class_name, with_test,
                                               self.seed if seed is None else seed,
                                               self._settings, train_source, fraction, split_seed))
            self._waiting.append(job_id)
            self._send_waiting()
        return future

    def _send_waiting(self) -> None:
        """Send waiting jobs while a worker thread has fewer than the one it runs and the next
        one (lock held)."""
        while self._waiting and self._in_dask < (1 + _AHEAD_PER_THREAD) * max(1, self._threads):
            job_id = self._waiting.popleft()
            self._in_dask += 1
            self._send(job_id, self._jobs[job_id])

    def _count_is_stale(self) -> bool:
        """Whether to count the threads again now: the last evaluation is done (nobody waits
        for the next send) or the count is older than _RECOUNT_S (lock held)."""
        return not self._jobs or time.monotonic() - self._counted_at > _RECOUNT_S

    def _unpublish(self) -> None:
        """Let the cluster forget the scattered data (the published name holds it)."""
        if isinstance(getattr(self, "_data", None), _ScatteredData):
            self._client.unpublish_dataset(self._data.name)

    def _scatter(self) -> None:
        """Send the dataset to the workers (again, when the ones holding it died)."""
        assert self._splits is not None
        self._scattered = self._client.scatter(self._splits, broadcast=True, hash=False)
        name = f"nnevolve-data-{self._session}"
        self._client.publish_dataset(self._scattered, name=name, override=True)
        self._data = _ScatteredData(name, str(self._scattered.key))

    def _send(self, job_id: int, job: _Job) -> None:
        """Submit `job` to the cluster (called with the lock held)."""
        job.data = self._data
        job.task = self._client.submit(
            _evaluate, self._data, *job.arguments,
            key=f"nnevolve-evaluate-{self._settings.session}-{job_id}-{job.sent}", pure=False)
        job.sent += 1
        job.task.add_done_callback(lambda done: self._finish(job_id, done))

    def evaluate_many(self, jobs: list[tuple[str, str]], *,
                      with_test: bool = False) -> list[EvalResult]:
        """Evaluate ``(source, class_name)`` pairs in parallel; results in the same order."""
        futures = [self.submit(source, class_name, with_test=with_test)
                   for source, class_name in jobs]
        return [future.result() for future in futures]

    def close(self) -> None:
        """Cancel every unfinished evaluation (its future: ``cancelled``) and disconnect."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            jobs, self._jobs = list(self._jobs.values()), {}
            self._waiting.clear()
        for job in jobs:
            _settle(job.future, EvalResult.failed(CANCELLED, pool_failure=True))
        try:
            if jobs:
                self._client.cancel([job.task for job in jobs if job.task is not None],
                                    force=True)
            # a cancelled task's thread waits for its child process: the session's pools end them
            self._client.run(_close_session, self._settings.session, on_error="ignore",
                             callback_timeout=_CLOSE_TIMEOUT_S)
            self._unpublish()
        except Exception:  # noqa: BLE001  (the cluster may be gone already; disconnect anyway)
            pass
        self._client.close(timeout=_CLOSE_TIMEOUT_S)

    def __enter__(self) -> DaskEvaluationPool:  # noqa: PYI034  (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- internals
    def _worker_device_kind(self, device: str, amp: bool, start_timeout_s: float) -> str:
        """Wait for a worker, check every worker runs this nnevolve, and resolve ``device``
        there (``auto`` means what the workers have, not this machine)."""
        try:
            self._client.wait_for_workers(1, timeout=start_timeout_s)
        except TimeoutError as exc:
            raise ClusterError(f"no Dask worker joined the scheduler at {self.address} "
                               f"within {start_timeout_s:g} s") from exc
        answers = self._client.run(_device_kind_here, device, amp, on_error="return",
                                   callback_timeout=start_timeout_s)
        kinds = set()
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, DeviceError):  # the setting, not the installation
                raise DeviceError(f"on Dask worker {worker}: {answer}")
            if isinstance(answer, BaseException):
                raise ClusterError(f"Dask worker {worker} cannot evaluate variants "
                                   f"(is nnevolve installed there?): {one_line(answer)}")
            version, kind = answer
            if version != nnevolve.__version__:
                raise ClusterError(f"Dask worker {worker} runs nnevolve {version}, this process "
                                   f"{nnevolve.__version__}: install the same version on both")
            kinds.add(kind)
        if len(kinds) > 1:
            raise ClusterError(f"the Dask workers at {self.address} differ in device "
                               f"({', '.join(sorted(kinds))}): set device to cpu or cuda")
        return kinds.pop()

    def _on_started(self, event: tuple[float, Any]) -> None:
        """A task began on a worker (on the client's event loop, before its result comes)."""
        session, key, _ = event[1]
        if session == self._session:
            self._started.add(key)

    def _finish(self, job_id: int, task: DaskFuture) -> None:
        """Turn a finished Dask task into its job's EvalResult (on Dask's callback thread)."""
        from distributed import KilledWorker

        waited = task.key not in self._started and _raised(task, KilledWorker)
        data_gone = _raised(task, DataUnavailable)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.task is not task:  # close() settled it, or it was resent
                return
            self._started.discard(task.key)
            if (waited or data_gone) and job.sent < _MAX_SENDS and not self._closed:
                # its worker died while it waited there behind another: not this variant's
                # doing; or every worker holding the data died: scatter it again (once)
                if data_gone and job.data == self._data:
                    self._scatter()
                self._send(job_id, job)
                return
            del self._jobs[job_id]
            self._in_dask -= 1
            self._send_waiting()  # before fetching this result: the freed thread waits for it
            recount = self._count_is_stale()
        _settle(job.future, _task_result(task))
        if recount:
            self._count_threads()


@dataclass
class _Job:
    """One evaluation sent to the cluster: its caller's future, what it runs, its task."""

    future: Future[EvalResult]
    arguments: tuple[Any, ...]
    task: DaskFuture | None = None
    sent: int = 0  # times submitted (see _MAX_SENDS)
    data: _ScatteredData | str | None = None  # the dataset its last send named


# --------------------------------------------------------------------------- client side

def _connect(address: str, timeout_s: float) -> Client:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError("a Dask cluster needs dask.distributed: "
                           "pip install 'nnevolve[distributed]'") from exc
    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within "
                           f"{timeout_s:g} s ({one_line(exc)})") from exc


def _raised(task: DaskFuture, error: type[BaseException]) -> bool:
    """Whether ``task`` failed with ``error`` (KilledWorker: the scheduler gave up on it as
    workers died holding it)."""
    try:
        return task.status == "error" and isinstance(task.exception(), error)
    except Exception:  # noqa: BLE001  (disconnected: _task_result says why)
        return False


def _task_result(task: DaskFuture) -> EvalResult:
    from distributed import KilledWorker

    try:
        if task.status == "finished":
            result = task.result()
            if isinstance(result, EvalResult):
                return result
            return EvalResult.failed(f"the Dask task returned {type(result).__name__}",
                                     pool_failure=True)
        if task.status == "cancelled":  # not by close(), which settles its futures first
            return EvalResult.failed("the Dask cluster cancelled the evaluation (scheduler "
                                     "connection lost?)", pool_failure=True)
        error = task.exception()
    except Exception as exc:  # noqa: BLE001  (a result that cannot be fetched: the cluster failed)
        return EvalResult.failed(f"Dask cluster: {one_line(exc)}", pool_failure=True)
    if isinstance(error, KilledWorker):
        # the scheduler reran it on other workers and every one died: a verdict on the variant
        return EvalResult.failed(f"Dask workers died while evaluating it ({one_line(error)})")
    return EvalResult.failed(f"Dask task failed: {one_line(error)}", pool_failure=True)


def _settle(future: Future[EvalResult], result: EvalResult) -> None:
    try:
        future.set_result(result)
    except InvalidStateError:  # close() and the task's callback raced: the first one counts
        pass


# --------------------------------------------------------------------------- on a Dask worker

_pools: dict[str, EvaluationPool] = {}  # by session, in this Dask worker process
_closed_sessions: set[str] = set()
_pools_lock = threading.Lock()  # held for dictionary updates only, never while workers start


def _device_kind_here(device: str, amp: bool) -> tuple[str, str]:
    """nnevolve's version here and the device kind ``device`` names here (DeviceError)."""
    devices = resolve_devices(device)
    check_amp(amp, devices)
    return nnevolve.__version__, device_kind(devices)


def _describe_dataset(spec: str, settings: _Settings) -> tuple[str, tuple[int, ...], int, bool]:
    """Load a path dataset on a worker (DatasetError travels back as it is) and describe it."""
    splits = load_dataset(spec, seed=settings.seed, max_train=settings.max_train,
                          max_val=settings.max_val)
    return splits.fingerprint, splits.input_shape, splits.num_classes, splits.x_test is not None


def _evaluate(data: _ScatteredData | str, source: str, class_name: str, with_test: bool,
              seed: int, settings: _Settings, train_source: str | None = None,
              fraction: float = 1.0, split_seed: int | None = None) -> EvalResult:
    """One evaluation, in a child process of this worker's pool for the session."""
    try:
        _announce_start(settings.session)
        pool = _session_pool(data, settings)
        if pool is None:  # the client closed the session
            return EvalResult.failed(CANCELLED, pool_failure=True)
        future = pool.submit(source, class_name, with_test=with_test, seed=seed,
                             train_source=train_source, fraction=fraction, split_seed=split_seed)
    except DataUnavailable:  # the client scatters it again and resends this evaluation
        raise
    except Exception as exc:  # noqa: BLE001  (the pool, not the variant: reported as such)
        return EvalResult.failed(f"Dask worker cannot evaluate: {one_line(exc)}",
                                 pool_failure=True)
    return future.result()  # until its workers start, a job waits in the pool's queue


def _announce_start(session: str) -> None:
    """Tell the client this task runs now (it no longer waits behind another on this worker)."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(_STARTED_TOPIC, [session, str(worker.get_current_task()), worker.address])


def _fetch(data: _ScatteredData) -> DatasetSplits:
    """The scattered dataset, from this worker's memory or another worker's (DataUnavailable
    when no worker holds it any more)."""
    from distributed import get_client

    client = get_client()
    try:
        future = client.get_dataset(data.name)
    except KeyError as exc:  # the client closed the session meanwhile
        raise DataUnavailable(f"{data.name} is no longer published") from exc
    if not client.who_has([future]).get(future.key):  # else result() would wait forever
        raise DataUnavailable(f"no Dask worker holds {future.key} any more")
    try:
        return future.result(timeout=_FETCH_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001  (lost meanwhile, or the transfer failed)
        raise DataUnavailable(f"cannot fetch {future.key}: {one_line(exc)}") from exc


def _session_pool(data: _ScatteredData | str, settings: _Settings) -> EvaluationPool | None:
    from distributed import get_worker

    with _pools_lock:  # the worker's threads share one pool: the first one builds it
        if settings.session in _closed_sessions:
            return None
        pool = _pools.get(settings.session)
        if pool is None:
            _allow_children()
            # wait=False: a close() while its workers start kills them
            splits = _fetch(data) if isinstance(data, _ScatteredData) else data
            pool = EvaluationPool(splits, workers=get_worker().state.nthreads,
                                  budget=settings.budget, seed=settings.seed,
                                  max_train=settings.max_train, max_val=settings.max_val,
                                  device=settings.device,
                                  workers_per_device=settings.workers_per_device, wait=False)
            if settings.fingerprint and pool.fingerprint != settings.fingerprint:
                pool.close()  # results on other data would be cached as this dataset's
                raise ValueError(f"its copy of {data} differs from the one the run described "
                                 f"(another fingerprint): the workers must read the same files")
            _pools[settings.session] = pool
        return pool


def _close_session(session: str) -> None:
    """Kill the session's child processes here (its running evaluations end as cancelled).

    Runs on the Dask worker's event loop: the pool closes on a thread of its own.
    """
    with _pools_lock:
        _closed_sessions.add(session)
        pool = _pools.pop(session, None)
    if pool is not None:
        threading.Thread(target=pool.close, name="nnevolve-close-session", daemon=True).start()


def _allow_children() -> None:
    # Dask starts worker processes as daemons (distributed.worker.daemon) and multiprocessing
    # refuses children to a daemon; the pool's children die with this process all the same
    process = multiprocessing.current_process()
    if process.daemon:
        process._config["daemon"] = False  # noqa: SLF001  (no public way to clear the flag)
