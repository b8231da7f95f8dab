"""Language-server round trips on a ~3,000-line file (torchvision's models/resnet.py x3).

Measures, through a real server process over stdio (``python -m nnevolve.lsp``) and a
minimal JSON-RPC client (plain ``json``, so the client's own cost stays out of the figures):

- didChange → ``nnevolve/lineTypes``: an edit, then the request for the new version's items
  (the analysis of the edited text is inside this time);
- hover p50/p99 on typed items once the document is analysed (target: p99 ≤ 20 ms);
- a 20,000-line file: open → its first ``nnevolve/lineTypes``, and how long a hover on the
  3,000-line file waits while the large one is being analysed.

First it prints the analysis figures of bench_analysis.py (ast.parse vs ``analyze()``), so one
run gives every figure of the editor-path benchmark.

Run: ``.venv/bin/python benchmarks/bench_lsp.py [--edits 100] [--hovers 1000] [--repeats 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

# this folder is on sys.path when run as a script
from bench_analysis import percentile, resnet_source
from bench_analysis import report as analysis_report


def large_source(lines: int = 20_000) -> str:
    """A ~``lines``-line file of small layer-building classes (two items every five lines)."""
    block = (
        "class Block{}(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(64, 64)\n"
        "        self.act = nn.ReLU()\n"
    )
    return "import torch.nn as nn\n\n" + "".join(block.format(n) for n in range(lines // 5))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


class RawClient:
    """Just enough JSON-RPC over a server's stdio: requests, notifications, responses by id."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.create_task(self._read())
        self._drain = asyncio.create_task(self._drain_stderr())

    @classmethod
    async def start(cls, *command: str) -> RawClient:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2**26,  # one response may be megabytes long
        )
        return cls(process)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        msg_id = next(self._ids)
        answer = self._waiting[msg_id] = asyncio.get_running_loop().create_future()
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await answer

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def _read(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        while True:
            length = 0
            while (header := await stdout.readline()) not in (b"\r\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            if not header:
                return
            message = json.loads(await stdout.readexactly(length))
            answer = self._waiting.pop(message.get("id"), None)  # notifications have no id
            if answer is not None and "method" not in message:
                if "error" in message:
                    answer.set_exception(RuntimeError(message["error"]))
                else:
                    answer.set_result(message.get("result"))

    async def _drain_stderr(self) -> None:  # an undrained pipe would block the server
        assert self.process.stderr is not None
        while await self.process.stderr.readline():
            pass

    async def close(self) -> None:
        await self.request("shutdown", None)
        self.notify("exit", None)
        await self.process.wait()
        self._reader.cancel()
        self._drain.cancel()


def opened(uri: str, text: str) -> dict[str, Any]:
    return {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}


def hovered(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


async def measure(edits: int, hovers: int) -> list[str]:
    source = resnet_source()
    report = [
        f"file: torchvision models/resnet.py x3, {source.count(chr(10)):,} lines",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        + f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}",
    ]
    client = await RawClient.start(sys.executable, "-m", "nnevolve.lsp")
    await client.request("initialize", {"processId": os.getpid(), "capabilities": {}})
    client.notify("initialized", {})
    try:
        uri = "file:///bench/resnet_x3.py"
        started = time.perf_counter()
        client.notify("textDocument/didOpen", opened(uri, source))
        answer = await client.request("nnevolve/lineTypes", {"textDocument": {"uri": uri}})
        first_seconds = time.perf_counter() - started
        items = answer["items"]
        report.append(f"open → first lineTypes       {ms(first_seconds)}   ({len(items)} items)")

        # Each edit flips a layer's kernel size between 3 and 5: a real re-analysis every time.
        offset = source.index("kernel_size=3") + len("kernel_size=")
        line = source.count("\n", 0, offset)
        character = offset - source.rfind("\n", 0, offset) - 1
        at = {
            "start": {"line": line, "character": character},
            "end": {"line": line, "character": character + 1},
        }
        round_trips = []
        for version in range(2, edits + 2):
            started = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": at, "text": "5" if version % 2 else "3"}],
                },
            )
            answer = await client.request("nnevolve/lineTypes", {"textDocument": {"uri": uri}})
            round_trips.append(time.perf_counter() - started)
            assert answer["version"] == version, (answer["version"], version)
        report.append(
            f"didChange → lineTypes    p50 {ms(statistics.median(round_trips))}"
            f"   p99 {ms(percentile(round_trips, 0.99))}   ({edits} edits)"
        )

        items = answer["items"]
        spots = [(i["range"]["start"]["line"], i["range"]["start"]["character"] + 1) for i in items]
        latencies = []
        for index in range(hovers):
            started = time.perf_counter()
            hover = await client.request(
                "textDocument/hover", hovered(uri, *spots[index % len(spots)])
            )
            latencies.append(time.perf_counter() - started)
            assert hover is not None
        report.append(
            f"hover on an item         p50 {ms(statistics.median(latencies))}"
            f"   p99 {ms(percentile(latencies, 0.99))}   ({hovers} hovers)"
        )

        big_uri = "file:///bench/large.py"
        big = large_source()
        started = time.perf_counter()
        client.notify("textDocument/didOpen", opened(big_uri, big))
        await client.request("textDocument/hover", hovered(uri, *spots[0]))
        waited = time.perf_counter() - started
        answer = await client.request("nnevolve/lineTypes", {"textDocument": {"uri": big_uri}})
        report.append(
            f"{big.count(chr(10)):,}-line file: open → lineTypes {ms(time.perf_counter() - started)}"
            f"   ({len(answer['items']):,} items)"
        )
        report.append(f"  meanwhile, a hover on the 3,000-line file {ms(waited)}")
    finally:
        await client.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--edits", type=int, default=100, help="didChange round trips")
    parser.add_argument("--hovers", type=int, default=1000, help="hover requests")
    parser.add_argument("--repeats", type=int, default=100, help="analysis repeats")
    arguments = parser.parse_args()
    print("\n".join(analysis_report(arguments.repeats)))  # ast.parse vs analysis, same run
    print()
    print("\n".join(asyncio.run(measure(arguments.edits, arguments.hovers))))


if __name__ == "__main__":
    main()
