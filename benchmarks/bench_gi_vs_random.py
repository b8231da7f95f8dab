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

import numpy as np
from pymoo.indicators.hv import HV

from nnevolve.config import EvolveConfig, resolve_dataset
from nnevolve.run import RunResult, run_evolution
from nnevolve.store import RunStore

REFERENCE_POINT = (1.0, 7.0)  # (error, log10 parameters)
MNIST = "idx:../shared/data/mnist-t10k"

# A small ConvNet; repair adapts its widths to each dataset's image size and classes.
SEED_NETWORK = '''"""Benchmark seed: a small ConvNet."""
import torch
from torch import nn


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
'''


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


def front_figures(store: RunStore, run_id: str) -> tuple[float, float, float]:
    """HV of every successfully trained variant of the run (the seed included), the best
    accuracy, and the median latency of the variants (how much compute they need)."""
    points, best, latencies = [], 0.0, []
    for variant in store.variants(run_id):
        e = variant.evaluation
        if e is None or e.status != "ok" or e.accuracy is None or not e.params:
            continue
        points.append((1.0 - e.accuracy, math.log10(e.params)))
        best = max(best, e.accuracy)
        latencies.append(e.latency_ms or 0.0)
    if not points:
        return 0.0, 0.0, 0.0
    indicator = HV(ref_point=np.array(REFERENCE_POINT))
    return float(indicator(np.array(points))), best, statistics.median(latencies)


def run_once(dataset: str, algorithm: str, seed: int, args: argparse.Namespace,
             work: Path) -> Outcome:
    folder = work / f"{dataset.replace(':', '_').replace('/', '_')}-{algorithm}-{seed}"
    folder.mkdir(parents=True)
    model = folder / "convnet.py"
    model.write_text(args.model_file.read_text() if args.model_file else SEED_NETWORK)
    generations = math.ceil(args.evals / args.population) + 2  # the budget, not this, binds
    config = EvolveConfig(
        root=folder, dataset=resolve_dataset(dataset, Path.cwd()), algorithm=algorithm, seed=seed,
        population=args.population, generations=generations, max_evals=args.evals,
        epochs=args.epochs, workers=args.workers, objectives=tuple(args.objectives.split(",")),
        # every variant trains its full epochs: a seconds cap would make accuracy depend on load
        max_train_seconds=3600.0, time_limit_s=3600.0,
        data_dir=Path(tempfile.gettempdir()) / "nnevolve-bench-data",
    )
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


def print_row(o: Outcome) -> None:
    print(f"{o.dataset:<32} {o.algorithm:<7} {o.seed:>4} {o.trained:>7} {o.hypervolume:>8.3f} "
          f"{100 * o.best_accuracy:>8.1f}% {100 * o.valid_rate:>7.1f}% "
          f"{100 * o.rejection_rate:>8.1f}% {o.evals_per_minute:>9.1f} "
          f"{100 * o.overhead_share:>8.1f}% {100 * o.utilisation:>5.0f}% "
          f"{o.median_latency_ms:>7.2f} {o.wall_seconds:>6.0f}s", flush=True)


def print_summary(outcomes: list[Outcome]) -> None:
    print("\nmean over seeds")
    print(f"{'dataset':<32} {'algo':<7} {'HV':>8} {'best acc':>9} {'valid':>8} "
          f"{'rejected':>9} {'evals/min':>9} {'overhead':>9} {'busy':>6} {'lat ms':>7}")
    keys = sorted({(o.dataset, o.algorithm) for o in outcomes}, key=lambda k: (k[0], k[1]))
    for dataset, algorithm in keys:
        group = [o for o in outcomes if (o.dataset, o.algorithm) == (dataset, algorithm)]

        def mean(name: str, group: list[Outcome] = group) -> float:
            return statistics.fmean(getattr(o, name) for o in group)

        print(f"{dataset:<32} {algorithm:<7} {mean('hypervolume'):>8.3f} "
              f"{100 * mean('best_accuracy'):>8.1f}% {100 * mean('valid_rate'):>7.1f}% "
              f"{100 * mean('rejection_rate'):>8.1f}% {mean('evals_per_minute'):>9.1f} "
              f"{100 * mean('overhead_share'):>8.1f}% {100 * mean('utilisation'):>5.0f}% "
              f"{mean('median_latency_ms'):>7.2f}")


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
    print(f"{'dataset':<32} {'algo':<7} {'seed':>4} {'trained':>7} {'HV':>8} {'best acc':>9} "
          f"{'valid':>8} {'rejected':>9} {'evals/min':>9} {'overhead':>9} {'busy':>6} "
          f"{'lat ms':>7} {'wall':>7}")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="nnevolve-bench-") as work:
        for dataset in args.datasets:
            for seed in args.seeds:
                for algorithm in ("nsga2", "random"):
                    outcome = run_once(dataset, algorithm, seed, args, Path(work))
                    print_row(outcome)
                    outcomes.append(outcome)
    print_summary(outcomes)


if __name__ == "__main__":
    main()
