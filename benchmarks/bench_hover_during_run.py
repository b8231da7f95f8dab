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
import tempfile
import time
from pathlib import Path
from typing import Any

# this folder is on sys.path when run as a script
from bench_analysis import percentile
from lsp_client import Editor

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "convnet_small.py"


def _field(value: Any, name: str) -> Any:
    """A field of a progress value, whether pygls gave a dict, a namedtuple or an object."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


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
    # a budget that outlasts the measurement (the run is cancelled at the end); the sample's
    # own training budget (samples/pyproject.toml): at 1 epoch its calibration stops the run
    (workspace / "pyproject.toml").write_text(
        f'[tool.nnevolve]\ndataset = "digits"\ngenerations = 100\npopulation = 8\n'
        f"epochs = 2\nlr = 0.005\nworkers = {workers}\n"
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
            f"run: digits, {workers} worker(s), 2 epochs each"
        ),
    ]
    try:
        editor.open(uri, source)
        await hover_timings(editor, uri, spots, 20)  # warm-up: first analysis, imports
        idle = await hover_timings(editor, uri, spots, hovers)
        idle_edit = await edit_hover_timings(editor, uri, lines, spots[0], hovers // 3)

        run = asyncio.ensure_future(editor.command("nnevolve.evolve", uri))
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
        await editor.command("nnevolve.cancel", uri)
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
