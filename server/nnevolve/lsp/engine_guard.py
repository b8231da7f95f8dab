"""``python -m nnevolve.lsp.engine_guard SERVER_PID evolve ...``: a run that dies with its server.

The server starts each run in a process group of its own (so that the client's Cancel can
stop it and all its workers at once). The price: a server that is killed (a crashed editor,
``kill -9``) no longer takes its run with it. This entry point runs ``nnevolve`` exactly as
``python -m nnevolve`` would, plus a watch thread: once the server is gone, the run is
stopped as if cancelled (SIGTERM: everything evaluated stays in the store), and its whole
group is killed if it has not stopped a little later. The run also runs at a lower CPU
priority, so that hovers and edits stay fast while it trains.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

POLL_S = 0.5
KILL_AFTER_S = 10.0  # a cancelled run stops within seconds; one that does not is killed
NICENESS = 10  # training yields the cores to the editor (and its server) when both want them


def watch_server(server_pid: int) -> None:
    """Stop this run when its server exits (this process is then re-parented)."""
    while os.getppid() == server_pid:
        time.sleep(POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(KILL_AFTER_S)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[1].isdigit():
        sys.exit("usage: python -m nnevolve.lsp.engine_guard SERVER_PID ARGS...")
    server_pid = int(argv[1])
    if hasattr(os, "nice"):
        os.nice(NICENESS)  # inherited by the evaluation workers
    threading.Thread(
        target=watch_server, args=(server_pid,), name="server-watch", daemon=True
    ).start()
    sys.argv = ["nnevolve", *argv[2:]]
    runpy.run_module("nnevolve", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
