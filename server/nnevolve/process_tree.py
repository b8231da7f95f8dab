"""Find and kill every process that user code started, however it detached itself.

A process that runs user code (an evaluation worker, the static checker) leads its own
process group and is a *child subreaper*: a grandchild whose parent exits (a double fork,
a daemon) is re-parented to it instead of to init, so the whole tree below it stays
visible through ``/proc`` and can be killed, including children that started a session
of their own (``start_new_session=True``, ``setsid``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36
# in the environment of every program user code starts: found again after its tree is gone
TREE_MARK = "NNEVOLVE_PROCESS_TREE"
_MAX_ROUNDS = 50  # each round kills what the previous one re-parented; forks end quickly
WATCH_POLL_S = 0.5  # how often a process checks that the process it lives for is still there


def process_exists(pid: int) -> bool:
    """True while ``pid`` is a running (or not yet reaped) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def become_group_reaper() -> None:
    """Lead a new process group and adopt orphaned descendants (Linux; a no-op elsewhere);
    mark the environment that the programs it starts inherit."""
    os.environ[TREE_MARK] = str(os.getpid())
    with contextlib.suppress(OSError):  # already a group leader
        os.setsid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def end_with_tree_when(gone: Callable[[], bool], poll_s: float = WATCH_POLL_S) -> None:
    """End this process and every process below it once ``gone()`` is true: checked now, then
    every ``poll_s`` on a daemon thread (a thread, not PR_SET_PDEATHSIG, which fires when the
    *thread* that started a process ends; a thread's sleep holds no lock a fork could copy)."""
    if gone():
        _end_tree()

    def watch() -> None:
        while not gone():
            time.sleep(poll_s)
        _end_tree()

    threading.Thread(target=watch, name="nnevolve-end-with", daemon=True).start()


def _end_tree() -> None:
    kill_descendants(os.getpid())
    if os.getpgrp() == os.getpid():  # it leads its group: itself and what stayed in it
        os.killpg(0, signal.SIGKILL)
    os._exit(1)


def descendants(pid: int) -> list[int]:
    """Live (not zombie) processes below ``pid``, parents before their children."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = [child for parent in frontier for child in _children(parent)]
        children = [child for child in children if child not in found and child != pid]
        found.extend(children)
        frontier = children
    return [child for child in found if not _is_zombie(child)]


def kill_descendants(pid: int) -> int:
    """SIGKILL every process below ``pid`` (their process groups too); return how many.

    When ``pid`` is this process, the killed children are reaped as well.
    """
    own_group = _group_of(pid)
    killed: set[int] = set()
    for _ in range(_MAX_ROUNDS):
        alive = descendants(pid)
        if not alive:
            break
        for child in alive:
            group = _group_of(child)
            if group is not None and group != own_group and group > 1:
                with contextlib.suppress(OSError):
                    os.killpg(group, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
            killed.add(child)
        if pid == os.getpid():
            _reap_children()
    if pid == os.getpid():
        _reap_children()
    return len(killed)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``, its process group and every process below it.

    The process is stopped first, so it starts nothing new, and stays alive (as the
    subreaper of its tree) until everything below it is gone.
    """
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGSTOP)
    kill_descendants(pid)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    kill_leftovers(pid)


def kill_leftovers(leader: int) -> None:
    """SIGKILL what is left of the tree of ``leader`` once it has exited: its process group,
    and the programs that carry its mark (a child in a session of its own went to init)."""
    if leader <= 1 or leader == os.getpgrp():
        return
    with contextlib.suppress(OSError):
        os.killpg(leader, signal.SIGKILL)
    for pid in _marked(leader):
        group = _group_of(pid)
        if group is not None and group > 1 and group != os.getpgrp():
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _marked(leader: int) -> list[int]:
    """Processes whose environment carries ``leader``'s mark (Linux; none elsewhere)."""
    mark = f"{TREE_MARK}={leader}".encode()
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc/self").exists() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        if mark in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def is_running(pid: int) -> bool:
    """True while ``pid`` runs (an exited process not yet reaped does not)."""
    return not _is_zombie(pid)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    try:
        threads = list(tasks.iterdir())
    except OSError:
        return _children_by_scan(pid) if not Path("/proc/self/task").exists() else []
    children: list[int] = []
    for thread in threads:
        try:
            children += [int(p) for p in (thread / "children").read_text().split()]
        except FileNotFoundError:  # a kernel without CONFIG_PROC_CHILDREN
            return _children_by_scan(pid)
        except (OSError, ValueError):  # the thread ended meanwhile
            continue
    return children


def _children_by_scan(pid: int) -> list[int]:
    """The slow way: every process whose parent is ``pid`` (psutil where /proc is missing)."""
    try:
        import psutil
    except ImportError:
        return []
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()  # the command name may hold spaces


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _reap_children() -> None:
    """Collect the exit status of this process's dead children (no zombies left behind)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
