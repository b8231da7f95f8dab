"""NSGA-II genetic improvement against random edits, at an equal number of trained evaluations.

For each dataset and seed, both algorithms start from the same network with the same
operators, static check, worker pool and budget, each in a fresh run store (so neither reuses
the other's cached results). Printed per run and as a mean over seeds:

- hypervolume of (error, log10 parameters) with reference point (1.0, 7.0) — larger is better
- best validation accuracy
- valid-offspring rate: trained variants that trained to the end
- static rejection rate: children refused by the static check before any training
- evaluations per minute and the overhead share (evaluation time not spent training)
- busy: evaluation time / (wall time × workers); lat ms: median latency of the trained variants
  (a search that favours compute-heavy variants trains fewer of them per minute)

Run from the repository root (the MNIST files are the real test set in ../shared)::

    .venv/bin/python benchmarks/bench_gi_vs_random.py
    .venv/bin/python benchmarks/bench_gi_vs_random.py --datasets digits --evals 40 --seeds 0
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nnevolve.run import RunResult, run_evolution
from nnevolve.store import RunStore

# this folder is on sys.path when run as a script
from bench_runs import (MNIST, REFERENCE_POINT, Column, convnet_source, hypervolume,
                        run_config, run_folder, side_by_side)

SEED_NETWORK = convnet_source(channels=(16, 32), hidden=128)


@dataclass
class Outcome:
    dataset: str
    algorithm: str
    seed: int
    hypervolume: float
    best_accuracy: float
    valid_rate: float
    rejection_rate: float
    evals_per_minute: float
    overhead_share: float
    utilisation: float
    median_latency_ms: float
    trained: int
    wall_seconds: float


def percent(title: str, field: str, width: int) -> Column:
    return Column(title, field, width, ".1f", "%", scale=100)


COLUMNS = [
    Column("dataset", "dataset", 32, text=True), Column("algo", "algorithm", 7, text=True),
    Column("seed", "seed", 4), Column("trained", "trained", 7),
    Column("HV", "hypervolume", 8, ".3f"), percent("best acc", "best_accuracy", 9),
    percent("valid", "valid_rate", 8), percent("rejected", "rejection_rate", 9),
    Column("evals/min", "evals_per_minute", 9, ".1f"), percent("overhead", "overhead_share", 9),
    Column("busy", "utilisation", 6, ".0f", "%", scale=100),
    Column("lat ms", "median_latency_ms", 7, ".2f"), Column("wall", "wall_seconds", 7, ".0f", "s"),
]
MEANS = [c for c in COLUMNS if c.field not in ("seed", "trained", "wall_seconds")]


def front_figures(store: RunStore, run_id: str) -> tuple[float, float, float]:
    """HV of every successfully trained variant of the run (the seed included), the best
    accuracy, and the median latency of the variants (how much compute they need)."""
    trained = [v.evaluation for v in store.variants(run_id) if v.evaluation is not None
               and v.evaluation.status == "ok" and v.evaluation.accuracy is not None
               and v.evaluation.params]
    if not trained:
        return 0.0, 0.0, 0.0
    return (hypervolume((1.0 - e.accuracy, e.params) for e in trained),
            max(e.accuracy for e in trained),
            statistics.median(e.latency_ms or 0.0 for e in trained))


def run_once(dataset: str, algorithm: str, seed: int, args: argparse.Namespace,
             work: Path) -> Outcome:
    folder = run_folder(work, dataset, algorithm, seed)
    model = folder / "convnet.py"
    model.write_text(args.model_file.read_text() if args.model_file else SEED_NETWORK)
    generations = math.ceil(args.evals / args.population) + 2  # the budget, not this, binds
    config = run_config(
        folder, dataset, algorithm=algorithm, seed=seed, population=args.population,
        generations=generations, max_evals=args.evals, epochs=args.epochs,
        workers=args.workers, objectives=tuple(args.objectives.split(",")))
    started = time.monotonic()
    with RunStore(config.store_path) as store:
        result: RunResult = run_evolution(config, model, store=store)
        hv, best, latency = front_figures(store, result.run_id)
    if result.status != "finished":
        raise SystemExit(f"{dataset} {algorithm} seed {seed}: run {result.status}: {result.error}")
    s = result.stats
    return Outcome(dataset, algorithm, seed, hv, best, s.valid_rate or 0.0,
                   s.static_rejection_rate or 0.0, s.evals_per_minute, s.overhead_share or 0.0,
                   s.utilisation or 0.0, latency, result.counts.trained,
                   time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", MNIST])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--evals", type=int, default=160, help="trained evaluations per run")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--objectives", default="error,params",
                        help="what NSGA-II minimises (the hypervolume uses error and params)")
    parser.add_argument("--model-file", type=Path, help="seed network (default: a small ConvNet)")
    args = parser.parse_args()

    print(f"{args.evals} trained evaluations per run, population {args.population}, "
          f"{args.epochs} epoch(s) per variant, {args.workers} workers, "
          f"objectives {args.objectives}; HV reference point {REFERENCE_POINT}")
    with tempfile.TemporaryDirectory(prefix="nnevolve-bench-") as work:
        side_by_side(args.datasets, args.seeds, ("nsga2", "random"),
                     lambda *run: run_once(*run, args, Path(work)), COLUMNS, MEANS)


if __name__ == "__main__":
    main()
