"""``StaticChecker``: the static check in a persistent subprocess with a time limit per check.

User code runs while a model is built, so a check can hang (``while True`` in ``__init__``) or
kill its process (``os._exit``). The checker runs ``repair()`` in a subprocess forked from the
forkserver that has torch imported (the evaluation workers' too; spawned where there is none);
a check that overruns its limit or loses the process is a rejection with that reason, and a
fresh process takes over for the next check.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from types import TracebackType
from typing import TYPE_CHECKING

from nnevolve.process_context import torch_process_context
from nnevolve.process_tree import become_group_reaper, kill_descendants, kill_tree
from nnevolve.repair.result import RepairResult, validate_task

if TYPE_CHECKING:
    from typing_extensions import Self

_WARM_UP_SOURCE = """
from torch import nn
class WarmUp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(1, 3))
    def forward(self, x):
        return self.net(x)
"""


def _serve(conn: Connection, input_shape: tuple[int, ...], num_classes: int) -> None:
    """Worker loop: answer ``(source, class_name)`` jobs with ``RepairResult``s until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    become_group_reaper()  # a model built here may start processes: they die with the check
    # stdout may be a language server's protocol stream: nothing from here may reach it
    with contextlib.suppress(OSError, ValueError):
        os.dup2(sys.stderr.fileno(), 1)
    sys.stdout = sys.stderr
    import torch

    from nnevolve.repair.check import repair  # torch: in this subprocess, not in its parent

    torch.set_num_threads(1)
    # the first meta-device forward and libcst edit cost ~1 s; pay them before any check
    repair(_WARM_UP_SOURCE, "WarmUp", input_shape, num_classes)
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        source, class_name = job
        try:
            result = repair(source, class_name, input_shape, num_classes)
        except Exception as exc:  # noqa: BLE001 (a bug here must not end the worker)
            result = RepairResult(False, source, f"static check failed: {exc!r}", ())
        kill_descendants(os.getpid())
        conn.send(result)


class StaticChecker:
    """Runs ``repair()`` in a persistent subprocess, one check at a time, with a time limit.

    Parameters
    ----------
    input_shape
        Shape of one sample, e.g. ``(1, 8, 8)``.
    num_classes
        Width the model's output must have.
    timeout_s
        Limit for one check, not counting the worker's start-up.
    start_timeout_s
        Limit for a worker to import torch and get ready.
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, *,
                 timeout_s: float = 10.0, start_timeout_s: float = 120.0) -> None:
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        validate_task(self.input_shape, num_classes)
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._context = torch_process_context()
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._ready = False
        self._closed = False
        self._start()  # torch imports in the background while the caller goes on

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self.input_shape, self.num_classes),
            name="nnevolve-static-check", daemon=True)
        process.start()
        child.close()
        self._process, self._conn, self._ready = process, parent, False

    def _stop(self) -> int | None:
        process, conn = self._process, self._conn
        self._process, self._conn, self._ready = None, None, False
        if conn is not None:
            conn.close()
        if process is None:
            return None
        if process.pid is not None:  # also what a model that killed the checker left
            kill_tree(process.pid)
        process.join(5)
        return process.exitcode

    def _ensure_ready(self) -> None:
        if self._process is None:
            self._start()
        if self._ready:
            return
        assert self._conn is not None
        if not self._conn.poll(self.start_timeout_s):
            self._stop()
            raise RuntimeError(f"the static-check worker did not start within "
                               f"{self.start_timeout_s:g} s")
        try:
            message = self._conn.recv()
        except (EOFError, OSError):
            code = self._stop()
            raise RuntimeError(f"the static-check worker died while starting (exit code {code})"
                               ) from None
        self._ready = message == "ready"

    def _replace(self) -> int | None:
        code = self._stop()
        self._start()  # the next check finds a worker already importing torch
        return code

    def check(self, source: str, class_name: str) -> RepairResult:
        """Repair and check one variant; a hang or a crash comes back as a rejection."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this StaticChecker is closed")
            self._ensure_ready()
            assert self._conn is not None
            try:
                self._conn.send((source, class_name))
            except (BrokenPipeError, OSError):
                code = self._replace()
                return RepairResult(False, source, f"the static-check worker had died "
                                    f"(exit code {code}); it was replaced", ())
            if not self._conn.poll(self.timeout_s):
                self._replace()
                return RepairResult(
                    False, source, f"static check timed out after {self.timeout_s:g} s "
                    "(building or running the model hangs)", ())
            try:
                return self._conn.recv()
            except (EOFError, OSError):
                code = self._replace()
                return RepairResult(False, source, f"the static-check worker died while "
                                    f"checking this variant (exit code {code})", ())

    def close(self) -> None:
        """End the worker process; later checks raise RuntimeError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn is not None and self._ready:
                try:
                    self._conn.send(None)
                    assert self._process is not None
                    self._process.join(2)
                except (BrokenPipeError, OSError):
                    pass
            self._stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
