"""Where a run writes its outputs: never over the model file or another run's outputs."""

from __future__ import annotations

import re
from pathlib import Path

_OUTPUT_NAME = re.compile(r"variant-\d+\.py|pareto\.json|pareto\.png")
_RUN_MARK = ".nnevolve-run"  # the id of the run whose outputs a folder holds


def free_out_dir(out_dir: Path, run_id: str) -> Path:
    """`out_dir`, or a fresh sub-folder `out_dir/<run_id>` when `out_dir` already holds run
    outputs (`variant-NN.py`, pareto.json, pareto.png: another run's, or the model file
    itself): a run never overwrites the user's file nor another run's results."""
    if not _holds_outputs(out_dir) or _run_of(out_dir) == run_id:
        return out_dir
    fresh = out_dir / run_id
    suffix = 1
    while fresh.exists():  # never reuse a folder, even one of this name
        suffix += 1
        fresh = out_dir / f"{run_id}-{suffix}"
    return fresh


def mark_out_dir(out_dir: Path, run_id: str) -> None:
    """Record that `out_dir` holds the outputs of `run_id` (it may write there again)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / _RUN_MARK).write_text(run_id + "\n", encoding="utf-8")


def _run_of(out_dir: Path) -> str | None:
    try:
        return (out_dir / _RUN_MARK).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _holds_outputs(out_dir: Path) -> bool:
    try:
        return any(_OUTPUT_NAME.fullmatch(entry.name) for entry in out_dir.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return False
