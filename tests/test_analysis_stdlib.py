"""The analysis over the whole Python standard library: it never raises and tags nothing."""

from __future__ import annotations

import multiprocessing
import os
import sysconfig
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from nnevolve.analysis.line_types import _analyze

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _stdlib_files() -> list[Path]:
    return sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts)


def _analyze_files(paths: list[Path]) -> tuple[int, int, list[str]]:
    """(files, files with a syntax error, tagged items as 'path:line name')."""
    broken = 0
    tagged: list[str] = []
    for path in paths:
        # surrogateescape keeps the stdlib's deliberately mis-encoded test files as text
        source = path.read_bytes().decode("utf-8", "surrogateescape")
        analysis = _analyze(source)  # the unguarded analysis: a bug would raise here
        broken += analysis.error is not None
        tagged += [f"{path}:{item.line} {item.name}" for item in analysis.items]
    return len(paths), broken, tagged


def test_stdlib_never_raises_and_tags_nothing():
    files = _stdlib_files()
    workers = max(1, min(2, os.cpu_count() or 1))
    chunks = [files[i::workers] for i in range(workers)]
    # ~860k lines: two processes halve the wall time of the parse that dominates it
    # spawned, not forked: a fork would copy this process's state, and after an earlier test's
    # failure CPython 3.11's ast recursion counter there can be off ("AST constructor recursion
    # depth mismatch"), which failed this test and crashed pytest's report of it
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        results = list(pool.map(_analyze_files, chunks))
    total = sum(r[0] for r in results)
    broken = sum(r[1] for r in results)
    tagged = [t for r in results for t in r[2]]
    assert total > 1000
    assert broken > 0  # the stdlib's own bad-syntax test files exercise the recovery
    assert tagged == []
