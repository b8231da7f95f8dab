"""A run's output folder: one importable file per Pareto variant (and its training script when
the variant changes it), pareto.json and pareto.png."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnevolve.store import Evaluation
from nnevolve.variant_files import MODEL, VariantFile


def variant_file_name(index: int, script: str | None = None) -> str:
    """`variant-01.py`, `variant-02.py`, ... (1-based, most accurate first); a variant's
    training script `script` (e.g. `train.py`) beside it: `variant-01.train.py`."""
    return f"variant-{index:02d}.{script}" if script else f"variant-{index:02d}.py"


def write_variant_files(out_dir: Path, variants: Sequence[Sequence[VariantFile]]) -> list[Path]:
    """Write each variant's complete files (the user's files with the edits applied): the model
    file always, the training script when the variant changes it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, files in enumerate(variants, start=1):
        for file in files:
            path = out_dir / variant_file_name(index, None if file.role == MODEL else file.name)
            path.write_text(file.text, encoding="utf-8")
            paths.append(path)
    return paths


def pareto_entry(file: str, class_name: str, evaluation: Evaluation, changes: Sequence[str],
                 lineage: Sequence[dict[str, str]], *, cancelled: bool = False,
                 model: str | None = None, kwargs: dict[str, Any] | None = None,
                 train_file: str | None = None) -> dict[str, Any]:
    """One element of pareto.json (`test_accuracy` only where the dataset has a test split):
    `changes` against the user's files (nnevolve.changes), the `lineage` that bred it;
    `train_file`, the variant's training script (`variant-01.train.py`) when it changes the
    project's; `"cancelled": true` when the run was cancelled (a front found so far, not the
    final one)."""
    entry: dict[str, Any] = {
        "file": file, "class": class_name, "kwargs": dict(kwargs or {}),
        # the expression that builds the variant: `from variant_01 import *; eval(model)`
        "model": model or class_name,
        "accuracy": evaluation.accuracy, "params": evaluation.params,
        "latency_ms": evaluation.latency_ms, "changes": list(changes), "lineage": list(lineage),
    }
    if train_file:
        entry["train_file"] = train_file
    if cancelled:
        entry["cancelled"] = True
    if evaluation.test_accuracy is not None:
        entry["test_accuracy"] = evaluation.test_accuracy
    if evaluation.seeds > 1:  # confirmed: means over the seeds, and how far the seeds spread
        entry.update(seeds=evaluation.seeds, accuracy_spread=evaluation.accuracy_spread,
                     latency_spread_ms=evaluation.latency_spread_ms)
    return entry


def write_pareto_json(out_dir: Path, entries: list[dict[str, Any]]) -> Path:
    path = out_dir / "pareto.json"
    path.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return path


def write_pareto_plot(out_dir: Path, *, front: Sequence[Evaluation], others: Sequence[Evaluation],
                      base: Evaluation | None, title: str) -> Path:
    """Accuracy against parameters (log x), latency as colour; the original network marked."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window or need a display
    import matplotlib.pyplot as plt

    path = out_dir / "pareto.png"
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        if others:
            ax.scatter(*_xy(others), s=14, c="#c8c8c8", label="other variants", zorder=1)
        ordered = sorted(front, key=lambda e: e.params or 0)
        if ordered:
            # the accuracy-for-size frontier (the front may hold more points when latency counts)
            ax.step(*_xy(_size_frontier(ordered)), where="post", color="#888888", linewidth=0.8,
                    zorder=2)
            points = ax.scatter(*_xy(ordered),
                                c=[e.latency_ms or 0 for e in ordered], cmap="viridis", s=46,
                                edgecolors="black", linewidths=0.5, label="Pareto variants",
                                zorder=3)
            fig.colorbar(points, ax=ax, label="latency (ms)")
        if base is not None:
            ax.scatter(*_xy([base]), marker="*", s=220,
                       c="#d62728", edgecolors="black", linewidths=0.6, label="original network",
                       zorder=4)
        ax.set_xscale("log")
        ax.set_xlabel("trainable parameters")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(loc="lower right", fontsize="small")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _xy(evaluations: Sequence[Evaluation]) -> tuple[list[float], list[float]]:
    """Parameters and accuracy in percent, the plot's axes."""
    return ([float(e.params or 0) for e in evaluations],
            [100.0 * (e.accuracy or 0.0) for e in evaluations])


def _size_frontier(by_size: Sequence[Evaluation]) -> list[Evaluation]:
    """The variants no smaller variant beats on accuracy, smallest first."""
    frontier: list[Evaluation] = []
    for evaluation in by_size:
        if not frontier or (evaluation.accuracy or 0) > (frontier[-1].accuracy or 0):
            frontier.append(evaluation)
    return frontier
