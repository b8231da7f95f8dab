"""The `nnevolve evolve` subprocess: start it in its own process group, read its progress, stop it.

The run never executes inside the language server: a separate process (and the worker
processes it starts, all in one process group) keeps training off pygls' event loop and
thread pool, so hovers and edits stay fast. Its stdout carries one JSON object per line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0  # SIGTERM to the engine, then SIGKILL to its group after this long
_STDERR_LINES = 40  # enough of the tail to explain a crash
_LINE_LIMIT = 16 * 1024 * 1024  # a progress line is small; a runaway line must not stall the reader


def engine_command() -> list[str]:
    """An engine with the server's interpreter, stopped if this server dies; it warms up,
    then runs the `nnevolve` arguments `launch` sends it (:mod:`nnevolve.lsp.engine_guard`)."""
    return [sys.executable, "-m", "nnevolve.lsp.engine_guard", str(os.getpid())]


class EvolveProcess:
    """One running `nnevolve evolve ... --progress-jsonl` and its process group."""

    def __init__(self, proc: asyncio.subprocess.Process, cwd: Path) -> None:
        self._proc = proc
        self.cwd = cwd  # the run's folder: an engine started ahead serves runs of this one only
        self.launched = False
        self.pid = proc.pid
        self.pgid = proc.pid  # start_new_session makes the child its group's leader
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())

    @classmethod
    async def start(
        cls, command: list[str], *, cwd: Path, env: dict[str, str] | None = None
    ) -> EvolveProcess:
        """Start `command` in a new process group, its stdin open for `launch`; raises
        OSError when it cannot be started."""
        child_env = dict(os.environ if env is None else env)
        # one thread per worker: torch with more threads than cores was erratic here
        child_env.setdefault("OMP_NUM_THREADS", "1")
        child_env["PYTHONUNBUFFERED"] = "1"
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(cwd),
            env=child_env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=_LINE_LIMIT,
        )
        return cls(proc, cwd)

    async def launch(self, args: list[str]) -> None:
        """Send the engine its run, `nnevolve ARGS`, and close its stdin; raises OSError when
        the process is gone (its exit status and stderr then say why)."""
        stdin = self._proc.stdin
        assert stdin is not None and not self.launched
        self.launched = True
        try:
            stdin.write((json.dumps({"args": args}) + "\n").encode("utf-8"))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise OSError(f"the engine exited before its run started: {error}") from error
        finally:
            stdin.close()

    async def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                self._stderr.append(text)

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Yield each JSON object the run prints on stdout until it closes its stdout."""
        assert self._proc.stdout is not None
        while True:
            try:
                line = await self._proc.stdout.readline()
            except ValueError:  # a line over the limit: skip it rather than stall
                log.warning("skipped an over-long line from the evolve process")
                continue
            if not line:
                return
            text = line.decode("utf-8", "replace").strip()
            if not text.startswith("{"):
                continue  # stray output from a library; progress lines are objects
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(message, dict):
                yield message

    async def warmed_up(self) -> bool:
        """Wait for an engine started ahead to say it is warm (False: it ended first). Only
        before its run: `messages` reads the same stream."""
        messages = self.messages()
        try:
            async for message in messages:
                if message.get("event") == "ready":
                    return True
            return False
        finally:
            await messages.aclose()

    async def wait(self) -> int:
        """Wait for the process to exit (and its stderr to be read); its exit status.

        What is left of its group once it has exited (the forkserver it started, whose
        teardown with torch takes seconds; its own threads, when the kernel is slow to end
        them) is killed: the run has recorded its end.
        """
        reaped = asyncio.ensure_future(self._proc.wait())
        while not reaped.done() and not _exited(self.pid):
            await asyncio.wait([reaped], timeout=0.1)
        if self.group_alive():
            self.kill_now()
        code = await reaped
        await self._group_gone()  # SIGKILL arrives asynchronously: a killed worker lingers a moment
        try:
            await asyncio.wait_for(self._stderr_task, timeout=STOP_GRACE_S)
        except asyncio.TimeoutError:
            # a worker that outlived the leader still holds stderr open
            self._stderr_task.cancel()
        return code

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def stderr_tail(self) -> list[str]:
        """The last lines the run wrote on stderr."""
        return list(self._stderr)

    def group_alive(self) -> bool:
        """Whether any process of the run's group (the run or its workers) still exists."""
        return group_alive(self.pgid)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the run and all its workers; return once none of their processes is left.

        SIGTERM goes to the engine first: it stops between evaluations, marks the run
        cancelled in the store and closes its workers itself. Whatever of the group is
        still there once the engine has exited, or after `grace_s`, gets SIGKILL.
        """
        if self._proc.returncode is None:
            _signal_pid(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            # exited: reaped, or a zombie whose other threads the kernel still tears down (on a
            # loaded machine that took 12 s after its last line, well past the grace)
            if self._proc.returncode is not None or _exited(self.pid):
                if not self.group_alive():
                    return
                # the engine has stored its end: what it leaves behind (the forkserver, a
                # worker, its own last threads) is of no use and would take seconds to stop
                self.kill_now()
            await asyncio.sleep(0.05)
        log.warning(
            "evolve process %s ignored SIGTERM for %.0f s: killing its group", self.pid, grace_s
        )
        self.kill_now()
        await self._proc.wait()  # reaped, the leader no longer keeps its group alive
        await self._group_gone(grace_s)

    async def _group_gone(self, grace_s: float = STOP_GRACE_S) -> None:
        """Wait (at most `grace_s`) until no process of the group runs any more."""
        deadline = time.monotonic() + grace_s
        while self.group_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.group_alive():
            log.error("processes of evolve group %s survived SIGKILL", self.pgid)

    def kill_now(self) -> None:
        """SIGKILL the whole group at once."""
        _signal_group(self.pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether a process group still has a running member (the run or one of its workers)."""
    try:
        os.killpg(pgid, 0)  # signal 0 checks without signalling
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not _PROC.is_dir():
        return True
    # killpg also finds zombies: dead workers that init has not reaped yet
    return any(state != "Z" for state in _group_states(pgid))


_PROC = Path("/proc")


def _group_states(pgid: int) -> list[str]:
    """The states (R, S, Z, ...) of the processes of a group, read from /proc (Linux)."""
    states = []
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if len(fields) > 2 and fields[2] == str(pgid):
            states.append(fields[0])
    return states


def _exited(pid: int) -> bool:
    """Whether the process has exited: gone, or a zombie (its main thread has returned)."""
    try:
        with open(_PROC / str(pid) / "stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):  # no /proc here: only the reaped exit status tells
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
