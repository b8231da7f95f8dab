"""Imported first by the forkserver (its preload): the forkserver, and every process it forked,
ends within a second of the process that started it (an engine, a Dask worker), however that
one ends (SIGKILL included).

multiprocessing's forkserver exits only once every holder of its "alive" pipe has closed it:
the process that started it *and every process it forked* (a fork request still queued holds
it too). So a child that does not watch its parent (a ProcessPoolExecutor's worker, blocked on
its queue) or cannot (an evaluation worker whose variant holds the GIL in C code, or that a
kill the pool did not finish left stopped) kept both alive for good; the pipe is also read
only after the preload (torch: seconds), and the exit then runs the interpreter's slow
teardown. Here the forkserver watches its owner from the start and kills what it forked, and
its own exit skips that teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

from nnevolve.process_tree import end_with_tree_when

# the owner's pid, set by it before it starts the forkserver (which inherits its environment):
# the owner may be gone before this module runs, when the forkserver's parent is init already
OWNER_VARIABLE = "NNEVOLVE_FORKSERVER_OWNER"
_FORKSERVER_COMMAND = "from multiprocessing.forkserver import main"


def become_owner() -> None:
    """In a process that may start the forkserver: the forkserver is to die with this one."""
    pid = str(os.getpid())
    if os.environ.get(OWNER_VARIABLE) != pid:
        os.environ[OWNER_VARIABLE] = pid


def _in_forkserver() -> bool:
    # imported anywhere else, it must not tie that process's life to another one's
    return bool(sys.orig_argv) and sys.orig_argv[-1].startswith(_FORKSERVER_COMMAND)


def _owner() -> int:
    value = os.environ.get(OWNER_VARIABLE, "")
    return int(value) if value.isdigit() else os.getppid()


def _exit_at_once(forkserver_pid: int) -> None:
    """The forkserver's own exit (everyone closed its pipe) skips torch's teardown (seconds)."""
    if os.getpid() == forkserver_pid:  # not in a forked child that runs exit handlers
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(0)


if _in_forkserver():
    _owner_pid = _owner()
    # the owner is the forkserver's parent: once it is gone, the forkserver is re-parented
    end_with_tree_when(lambda: os.getppid() != _owner_pid)
    atexit.register(_exit_at_once, os.getpid())  # registered first: runs after the others
