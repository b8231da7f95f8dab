"""Hover latency with no run and during an "Evolve this network" run, side by side.

One real server process over stdio (``python -m nnevolve.lsp``) on a temporary project with
the bundled ``samples/convnet_small.py``. It measures hover round trips on typed lines, and
edit → hover round trips (a didChange that forces a new analysis, then a hover), first with
no run, then while the server runs ``nnevolve.evolve`` (its training runs in a separate
process group), and prints p50/p99 of both and their ratio. Target: during ≤ 2× idle.

Run: ``.venv/bin/python benchmarks/bench_hover_during_run.py [--hovers 300] [--workers 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "convnet_small.py"


def _field(value: Any, name: str) -> Any:
    """A field of a progress value, whether pygls gave a dict, a namedtuple or an object."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Editor:
    """A pygls client that accepts progress tokens and records the server's progress."""

    def __init__(self) -> None:
        self.client = LanguageClient("nnevolve-bench", "0.1")
        self.progress: list[Any] = []
        self.version = 1

        def accept(params: Any) -> None:
            return None

        def record(params: types.ProgressParams) -> None:
            self.progress.append(params.value)

        self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)(accept)
        self.client.feature(types.PROGRESS)(record)
        self.client.feature(types.WINDOW_SHOW_MESSAGE)(accept)
        self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(accept)
        self._drain: asyncio.Task[None] | None = None

    async def start(self, workspace: Path) -> None:
        await self.client.start_io(sys.executable, "-m", "nnevolve.lsp")
        server = self.client._server
        if server is not None and server.stderr is not None:  # an undrained pipe would block it
            self._drain = asyncio.create_task(self._drain_stderr(server.stderr))
        capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True)
        )
        await self.client.initialize_async(
            types.InitializeParams(capabilities=capabilities, root_uri=workspace.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    @staticmethod
    async def _drain_stderr(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()
        if self._drain is not None:
            self._drain.cancel()

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )

    def replace_line(self, uri: str, line: int, text: str) -> None:
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line, 0), end=types.Position(line + 1, 0)
                        ),
                        text=text,
                    )
                ],
            )
        )

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line, character),
            )
        )


async def hover_timings(
    editor: Editor, uri: str, spots: list[tuple[int, int]], count: int
) -> list[float]:
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        hover = await editor.hover(uri, *spots[index % len(spots)])
        latencies.append(time.perf_counter() - started)
        assert hover is not None
    return latencies


async def edit_hover_timings(
    editor: Editor, uri: str, lines: list[str], spot: tuple[int, int], count: int
) -> list[float]:
    """didChange of one layer line (alternating two widths), then a hover on it."""
    line = spot[0]
    variants = [lines[line], lines[line].replace("(", "( ", 1)]
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        editor.replace_line(uri, line, variants[index % 2] + "\n")
        hover = await editor.hover(uri, *spot)
        latencies.append(time.perf_counter() - started)
        assert hover is not None
    editor.replace_line(uri, line, variants[0] + "\n")
    return latencies


def row(name: str, idle: list[float], during: list[float]) -> str:
    p50 = (statistics.median(idle), statistics.median(during))
    p99 = (percentile(idle, 0.99), percentile(during, 0.99))
    return (
        f"{name:<14} idle p50 {p50[0] * 1000:6.2f} ms  p99 {p99[0] * 1000:6.2f} ms   "
        f"during run p50 {p50[1] * 1000:6.2f} ms  p99 {p99[1] * 1000:6.2f} ms   "
        f"ratio p50 {p50[1] / p50[0]:4.2f}×  p99 {p99[1] / p99[0]:4.2f}×"
    )


async def measure(hovers: int, workers: int) -> list[str]:
    workspace = Path(tempfile.mkdtemp(prefix="nnevolve-bench-"))
    source = SAMPLE.read_text()
    (workspace / "model.py").write_text(source)
    # a budget that outlasts the measurement; the run is cancelled at the end
    (workspace / "pyproject.toml").write_text(
        f'[tool.nnevolve]\ndataset = "digits"\ngenerations = 100\npopulation = 8\n'
        f"epochs = 1\nworkers = {workers}\n"
    )
    lines = source.splitlines()
    spots = [
        (i, line.index("nn.") + 1)
        for i, line in enumerate(lines)
        if "nn." in line and "=" in line and "import" not in line
    ]
    uri = (workspace / "model.py").as_uri()
    editor = Editor()
    await editor.start(workspace)
    report = [
        f"sample: samples/{SAMPLE.name} ({len(lines)} lines, {len(spots)} typed lines hovered)",
        (
            f"machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
            f"run: digits, {workers} worker(s), 1 epoch each"
        ),
    ]
    try:
        editor.open(uri, source)
        await hover_timings(editor, uri, spots, 20)  # warm-up: first analysis, imports
        idle = await hover_timings(editor, uri, spots, hovers)
        idle_edit = await edit_hover_timings(editor, uri, lines, spots[0], hovers // 3)

        run = asyncio.ensure_future(
            editor.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="nnevolve.evolve", arguments=[{"uri": uri}])
            )
        )
        started = time.perf_counter()
        while not any(str(_field(p, "message")).startswith("generation") for p in editor.progress):
            if run.done():
                raise SystemExit(f"the run ended before the measurement: {run.result()}")
            if time.perf_counter() - started > 300:
                raise SystemExit("the run did not reach its search phase within 5 minutes")
            await asyncio.sleep(0.1)
        report.append(
            f"the run reached its search phase after {time.perf_counter() - started:.1f} s"
            " (workers training from here on)"
        )
        during = await hover_timings(editor, uri, spots, hovers)
        during_edit = await edit_hover_timings(editor, uri, lines, spots[0], hovers // 3)
        assert not run.done(), "the run must last through the measurement"
        await editor.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="nnevolve.cancel", arguments=[{"uri": uri}])
        )
        await asyncio.wait_for(run, 60)
    finally:
        await editor.stop()
        shutil.rmtree(workspace, ignore_errors=True)
    report.append(row(f"hover ×{hovers}", idle, during))
    report.append(row(f"edit→hover ×{hovers // 3}", idle_edit, during_edit))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--hovers", type=int, default=300, help="hover requests per phase")
    parser.add_argument("--workers", type=int, default=1, help="evaluation workers of the run")
    arguments = parser.parse_args()
    print("\n".join(asyncio.run(measure(arguments.hovers, arguments.workers))))


if __name__ == "__main__":
    main()
