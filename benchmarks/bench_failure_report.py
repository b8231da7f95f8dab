"""How soon the editor reports a network that cannot be built: a cold engine against one
started ahead, side by side.

One real server process over stdio (``python -m nnevolve.lsp``) per round, on a temporary
project whose model cannot be built (``nn.Linear(64, width)`` with ``width=None``). A round
opens the file and runs ``nnevolve.evolve``, and times the request → the error notification
(``window/showMessage``), and counts the notifications. "cold": the client does not ask for an
engine ahead, so the run's engine starts at the request (Python, torch, the forkserver, then
the static check). "warm": the client sends ``initializationOptions.prestartEngine`` (as the
VS Code extension does); the server starts an engine when the file is opened, and the request
is sent once the server logs that it is warm (the time that took is shown too). Rounds
alternate cold and warm, so both see the same load.

Just before the request, the memory of the server's processes is read from /proc (psutil):
the server itself and, in a warm round, the engine started ahead (its process group: the
engine and the forkserver its workers fork from). PSS counts each shared page once, split
among the processes that map it (torch's libraries are mapped by both); USS is what a
process alone holds (what stopping it frees); RSS counts shared pages in every process.

Run: ``.venv/bin/python benchmarks/bench_failure_report.py [--rounds 2]`` (psutil comes with the
test extra's dask[distributed])
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from lsprotocol import types

from lsp_client import Editor, until  # this folder is on sys.path when run as a script

MODEL = '''import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width=None):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, width)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(self.flatten(x))))
'''
SETTINGS = ('[tool.nnevolve]\ndataset = "digits"\ngenerations = 1\npopulation = 4\n'
            "epochs = 1\nworkers = 1\n")


MB = 1024 * 1024


@dataclass
class Memory:
    """PSS / USS / RSS in MB of a set of processes (their names, by pid)."""

    each: list[tuple[str, float]] = field(default_factory=list)  # (name, PSS in MB)
    pss: float = 0.0
    uss: float = 0.0
    rss: float = 0.0

    def add(self, process: psutil.Process) -> None:
        try:
            info = process.memory_full_info()  # reads /proc/PID/smaps
            name = short_name(process.cmdline())
        except psutil.Error:  # ended while we looked
            return
        self.each.append((name, info.pss / MB))
        self.pss, self.uss, self.rss = (self.pss + info.pss / MB, self.uss + info.uss / MB,
                                        self.rss + info.rss / MB)

    def __str__(self) -> str:
        return f"PSS {self.pss:.0f} MB (USS {self.uss:.0f}, RSS {self.rss:.0f})"


def short_name(cmdline: list[str]) -> str:
    """`-m nnevolve.lsp.engine_guard 123` → `nnevolve.lsp.engine_guard`; `-c from
    multiprocessing.forkserver import main; ...` → `multiprocessing.forkserver`."""
    for index, word in enumerate(cmdline):
        if word == "-m" and index + 1 < len(cmdline):
            return cmdline[index + 1]
        if word == "-c" and index + 1 < len(cmdline):
            return cmdline[index + 1].removeprefix("from ").split(" ")[0]
    return " ".join(cmdline[:2])


def memory(server_pid: int) -> tuple[Memory, Memory]:
    """The server's own processes (it and its analysis child, if any), and the engine started
    ahead (every process of a session the server started: the engine and its forkserver)."""
    server = psutil.Process(server_pid)
    own, engine = Memory(), Memory()
    own.add(server)
    for child in server.children(recursive=True):
        try:
            started_ahead = os.getsid(child.pid) != os.getsid(server_pid)
        except OSError:
            continue
        (engine if started_ahead else own).add(child)
    return own, engine


async def one_round(warm: bool) -> tuple[float, int, float | None, tuple[Memory, Memory]]:
    """Seconds from the request to the error notification, the notifications shown, (warm)
    how long the engine took to warm up after the file was opened, and the memory of the
    server's processes just before the request."""
    workspace = Path(tempfile.mkdtemp(prefix="nnevolve-bench-"))
    (workspace / "model.py").write_text(MODEL)
    (workspace / "pyproject.toml").write_text(SETTINGS)
    uri = (workspace / "model.py").as_uri()
    editor = Editor()
    await editor.start(workspace, {"prestartEngine": True} if warm else None)
    try:
        opened = time.perf_counter()
        editor.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                 text=MODEL)))
        warmed = None
        if warm:
            await until(lambda: any("engine is warm" in m for _, m in editor.logged), 600)
            warmed = next(t for t, m in editor.logged if "engine is warm" in m) - opened
        else:
            await asyncio.sleep(2)  # the server has analysed the file (as a warm round's has)
        assert editor.client._server is not None
        used = memory(editor.client._server.pid)
        started = time.perf_counter()
        answer = await asyncio.wait_for(editor.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="nnevolve.evolve", arguments=[{"uri": uri}])),
            600)
        assert answer["status"] == "failed" and "cannot be built" in answer["message"], answer
        errors = [t for t, m in editor.shown if m.type == types.MessageType.Error]
        return errors[0] - started, len(editor.shown), warmed, used
    finally:
        await editor.stop()


async def main(rounds: int) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
          "(other agents' work shares the cores)")
    results: dict[str, list[float]] = {"cold": [], "warm": []}
    engines: list[Memory] = []
    servers: list[Memory] = []
    for index in range(rounds):
        for kind in ("cold", "warm"):
            seconds, shown, warmed, (own, engine) = await one_round(kind == "warm")
            results[kind].append(seconds)
            servers.append(own)
            extra = f"; the engine was warm {warmed:.1f} s after the file opened" if warmed else ""
            print(f"round {index + 1} {kind}: error notification {seconds:.1f} s after the "
                  f"request, {shown} notification(s){extra}", flush=True)
            print(f"  memory before the request: server {own}", end="")
            if kind == "warm":
                engines.append(engine)
                parts = ", ".join(f"{name} {pss:.0f}" for name, pss in engine.each)
                print(f"; engine started ahead {engine}, PSS by process: {parts}")
            else:
                print()
    cold, warm = statistics.median(results["cold"]), statistics.median(results["warm"])
    print(f"median: cold {cold:.1f} s, warm {warm:.1f} s; cold / warm {cold / warm:.1f}×")
    engine_pss = statistics.median(e.pss for e in engines)
    server_pss = statistics.median(s.pss for s in servers)
    print(f"median memory: the engine started ahead PSS {engine_pss:.0f} MB "
          f"(USS {statistics.median(e.uss for e in engines):.0f} MB) beside the server's own "
          f"PSS {server_pss:.0f} MB ({engine_pss / server_pss:.0f}×), held while a model file "
          "is open and no run uses it")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args().rounds))
