"""Line-type analysis speed on a ~3,000-line file (torchvision's models/resnet.py ×3).

Prints, in one run: the ``ast.parse`` time of the text, the ``analyze()`` time (p50/p99 over
repeats; it includes its own parse) and their ratio. Target: analysis ≤ 5× ``ast.parse``.
The language-server round trips are measured by benchmarks/bench_lsp.py.

Run: ``.venv/bin/python benchmarks/bench_analysis.py [--repeats 100] [--copies 3]``
"""

from __future__ import annotations

import argparse
import ast
import gc
import importlib.util
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nnevolve.analysis import analyze


def resnet_source(copies: int = 3) -> str:
    """torchvision's models/resnet.py repeated ``copies`` times (found without importing torch)."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("torchvision is not installed: run `make setup` first")
    path = Path(spec.submodule_search_locations[0]) / "models" / "resnet.py"
    return path.read_text(encoding="utf-8") * copies


def dense_source(lines: int = 3000) -> str:
    """The bundled samples repeated to about ``lines`` lines: a layer on almost every line."""
    samples = Path(__file__).resolve().parent.parent / "samples"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(samples.glob("*.py")))
    return text * max(1, lines // max(1, text.count("\n")))


def timings(function: Callable[[], object], repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls, after one warm-up call."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return sorted(samples)


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def parse_without_collector(source: str) -> None:
    """``ast.parse`` with the cyclic GC paused, as ``analyze`` runs it (the fair baseline)."""
    gc.disable()
    try:
        ast.parse(source)
    finally:
        gc.enable()


def measure(source: str, repeats: int) -> dict[str, float]:
    """p50/p99 of ``ast.parse`` and of ``analyze`` on ``source``, in seconds, and their ratio.

    The ratio divides by the faster ``ast.parse`` (GC on or paused), so it never flatters.
    """
    parse = timings(lambda: ast.parse(source), repeats)
    parse_no_gc = timings(lambda: parse_without_collector(source), repeats)
    analysis = timings(lambda: analyze(source), repeats)
    result = {
        "parse_p50": percentile(parse, 0.5),
        "parse_p99": percentile(parse, 0.99),
        "parse_no_gc_p50": percentile(parse_no_gc, 0.5),
        "parse_no_gc_p99": percentile(parse_no_gc, 0.99),
        "analysis_p50": percentile(analysis, 0.5),
        "analysis_p99": percentile(analysis, 0.99),
    }
    baseline = min(result["parse_p50"], result["parse_no_gc_p50"])
    result["ratio_p50"] = result["analysis_p50"] / baseline
    return result


def report(repeats: int = 100, copies: int = 3) -> list[str]:
    """The analysis figures as printable lines (also printed by bench_lsp.py, in the same run)."""
    lines = [(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}; "
             f"{repeats} repeats")]  # fmt: skip
    files = [
        (f"torchvision models/resnet.py ×{copies}", resnet_source(copies)),
        ("samples/*.py repeated (a layer on most lines)", dense_source()),
    ]
    for title, source in files:
        items = analyze(source).items
        lines.append(f"\n{title}: {source.count(chr(10)):,} lines, {len(items)} line-typed items")
        m = measure(source, repeats)
        ms = {key: value * 1000 for key, value in m.items() if key != "ratio_p50"}
        lines.append(f"  ast.parse   p50 {ms['parse_p50']:7.2f} ms   p99 {ms['parse_p99']:7.2f} ms")
        lines.append(
            f"  (GC paused) p50 {ms['parse_no_gc_p50']:7.2f} ms   p99 {ms['parse_no_gc_p99']:7.2f} ms"
        )
        lines.append(
            f"  analyze()   p50 {ms['analysis_p50']:7.2f} ms   p99 {ms['analysis_p99']:7.2f} ms"
        )
        verdict = "within" if m["ratio_p50"] <= 5 else "OVER"
        lines.append(
            f"  analysis / fastest ast.parse (p50): {m['ratio_p50']:.2f}× ({verdict} the 5× target)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(report(args.repeats, args.copies)))


if __name__ == "__main__":
    main()
