"""``python -m nnevolve.lsp.engine_guard SERVER_PID``: a run's engine, started ahead of its run,
that dies with its server.

The server starts each run in a process group of its own (so that the client's Cancel can
stop it and all its workers at once). The price: a server that is killed (a crashed editor,
``kill -9``) no longer takes its run with it. This entry point runs ``nnevolve`` exactly as
``python -m nnevolve`` would, plus a watch thread: once the server is gone, the run is
stopped as if cancelled (SIGTERM: everything evaluated stays in the store), and its whole
group is killed if it has not stopped a little later. The run also runs at a lower CPU
priority, so that hovers and edits stay fast while it trains.

The process is started before it is needed: it imports the engine (scikit-learn, pymoo,
libcst; not torch, which only the processes that check and train need) and starts the
forkserver its workers and static checker fork from (torch preloaded), says
``{"event": "ready"}`` on stdout once both are done, and then waits for its run on stdin: one JSON line
``{"args": [...]}``, the arguments of ``nnevolve``. A network that cannot be built is then
reported as soon as the static check has seen it, not after torch's start-up (20 s on a
loaded machine). A closed stdin before the run ends the process.
"""

from __future__ import annotations

import json
import os
import runpy
import select
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


def warm_up() -> None:
    """What every run pays before its first check, paid while no one waits: the forkserver
    (it imports torch meanwhile) and the engine's imports, as ``nnevolve evolve`` does them."""
    from nnevolve.process_context import start_forkserver, torch_process_context  # noqa: PLC0415

    start_forkserver()
    import nnevolve.commands.evolve  # noqa: F401, PLC0415
    import nnevolve.run  # noqa: F401, PLC0415  (scikit-learn, pymoo, libcst; not torch)

    if select.select([sys.stdin], [], [], 0)[0]:
        return  # the run is already here: the forkserver goes on importing beside it
    # one fork waits for the forkserver's own imports: the static checker's fork is then quick
    process = torch_process_context().Process(target=os.getpid, name="nnevolve-warm-up")
    process.start()
    process.join()


def read_run() -> list[str] | None:
    """The run's `nnevolve` arguments, once the server sends them (None: it never will)."""
    line = sys.stdin.readline()
    if not line:
        return None
    request = json.loads(line)
    args = request.get("args") if isinstance(request, dict) else None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        sys.exit(f"engine_guard: not a run: {line.strip()[:200]}")
    return args


def main(argv: list[str]) -> None:
    if len(argv) != 2 or not argv[1].isdigit():
        sys.exit("usage: python -m nnevolve.lsp.engine_guard SERVER_PID  (the run on stdin)")
    server_pid = int(argv[1])
    if hasattr(os, "nice"):
        os.nice(NICENESS)  # inherited by the forkserver and the evaluation workers
    threading.Thread(
        target=watch_server, args=(server_pid,), name="server-watch", daemon=True
    ).start()
    warm_up()
    print(json.dumps({"event": "ready"}), flush=True)
    args = read_run()
    if args is None:
        os._exit(0)  # no run came: torch's teardown would only cost seconds
    sys.argv = ["nnevolve", *args]
    runpy.run_module("nnevolve", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
