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

Run: ``.venv/bin/python benchmarks/bench_failure_report.py [--rounds 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

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


async def one_round(warm: bool) -> tuple[float, int, float | None]:
    """Seconds from the request to the error notification, the notifications shown, and
    (warm) how long the engine took to warm up after the file was opened."""
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
        started = time.perf_counter()
        answer = await asyncio.wait_for(editor.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="nnevolve.evolve", arguments=[{"uri": uri}])),
            600)
        assert answer["status"] == "failed" and "cannot be built" in answer["message"], answer
        errors = [t for t, m in editor.shown if m.type == types.MessageType.Error]
        return errors[0] - started, len(editor.shown), warmed
    finally:
        await editor.stop()


async def main(rounds: int) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
          "(other agents' work shares the cores)")
    results: dict[str, list[float]] = {"cold": [], "warm": []}
    for index in range(rounds):
        for kind in ("cold", "warm"):
            seconds, shown, warmed = await one_round(kind == "warm")
            results[kind].append(seconds)
            extra = f"; the engine was warm {warmed:.1f} s after the file opened" if warmed else ""
            print(f"round {index + 1} {kind}: error notification {seconds:.1f} s after the "
                  f"request, {shown} notification(s){extra}", flush=True)
    cold, warm = statistics.median(results["cold"]), statistics.median(results["warm"])
    print(f"median: cold {cold:.1f} s, warm {warm:.1f} s; cold / warm {cold / warm:.1f}×")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args().rounds))
