"""Screening (multi-fidelity) on against off, side by side at the same budget.

For each dataset and seed, two runs start from the same network with the same settings, each
in a fresh run store: one with `screening = "off"` (every child trains with the full budget),
one with `screening = "on"` (children train on a quarter of the budget's steps first; the top
third by NSGA-II rank and crowding get the full budget). Both get the same evaluation budget
in full-budget evaluations (a screening counts as a quarter of one), or with `--time` the same
wall-clock. Printed per run and as a mean over seeds:

- full: children trained with the full budget; screened: children screened (promoted or not);
  spent: the budget used, in full-budget evaluations
- HV: hypervolume of the offered (confirmed) front, (error, log10 params), reference (1.0, 7.0)
- best: the best accuracy on that front (a confirmed mean over the confirmation seeds)

Then, on the variants the screening-off run of the first seed trained, how well a cheap
evaluation ranks them: Spearman's rank correlation with their full-budget accuracy of (a) the
first quarter of the budget's steps (what screening does) and (b) the full epochs on a
quarter of the training data, with the training time of each.

Run from the repository root (MNIST: the real test set in ../shared)::

    .venv/bin/python benchmarks/bench_fidelity.py --datasets digits --seeds 0 1 2
    .venv/bin/python benchmarks/bench_fidelity.py --datasets idx:../shared/data/mnist-t10k --time 5m
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scipy.stats import spearmanr

from nnevolve.config import EvolveConfig, resolve_dataset
from nnevolve.datasets import load_dataset
from nnevolve.evaluation.budget import Budget
from nnevolve.evaluation.train import evaluate_variant
from nnevolve.run import run_evolution
from nnevolve.search.screening import FRACTION
from nnevolve.store import RunStore, Variant

# this folder is on sys.path when run as a script
from bench_runs import (DATA_DIR, REFERENCE_POINT, Column, hypervolume, run_config,
                        run_folder, side_by_side)

# A weak start: a one-hidden-layer tanh network (784→32→10); repair sizes
# its input to each dataset.
SEED_NETWORK = '''"""Benchmark seed: a small fully connected network."""
import torch
from torch import nn


class Fcn(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 32),
            nn.Tanh(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.net(x)
'''


@dataclass
class Outcome:
    dataset: str
    screening: str
    seed: int
    full: int
    screened: int
    spent: float
    hypervolume: float
    best_accuracy: float
    wall_seconds: float
    run_id: str
    store: Path


COLUMNS = [
    Column("dataset", "dataset", 30, text=True), Column("scr", "screening", 4, text=True),
    Column("seed", "seed", 4), Column("full", "full", 5), Column("screened", "screened", 8),
    Column("spent", "spent", 6, ".1f"), Column("HV", "hypervolume", 7, ".3f"),
    Column("best", "best_accuracy", 7, ".1f", "%", scale=100),
    Column("wall", "wall_seconds", 7, ".0f", "s"),
]
MEANS = [dataclasses.replace(c, form=".1f") if c.field in ("full", "screened") else c
         for c in COLUMNS if c.field != "seed"]


def offered_figures(variants: list[Variant]) -> tuple[float, float]:
    """HV and best accuracy of what the run offers (its front, the base when on it)."""
    offered = [v.figures for v in variants
               if v.is_pareto and v.figures is not None and v.figures.status == "ok"]
    return (hypervolume((1.0 - float(f.accuracy or 0.0), f.params or 1) for f in offered),
            max((float(f.accuracy or 0.0) for f in offered), default=0.0))


def config_for(folder: Path, dataset: str, screening: str, seed: int,
               args: argparse.Namespace) -> EvolveConfig:
    return run_config(
        folder, dataset, seed=seed,
        # the budget (or the time), not the generations, ends both runs
        population=args.population, generations=10_000,
        max_evals=None if args.time else args.evals, time=args.time,
        epochs=args.epochs, workers=args.workers, objectives=("error", "params"),
        screening=screening, confirm_seeds=args.confirm_seeds, max_train=args.max_train)


def run_once(dataset: str, screening: str, seed: int, args: argparse.Namespace,
             work: Path) -> Outcome:
    folder = run_folder(work, dataset, screening, seed)
    model = folder / "fcn.py"
    model.write_text(SEED_NETWORK)
    config = config_for(folder, dataset, screening, seed, args)
    started = time.monotonic()
    with RunStore(config.store_path) as store:
        result = run_evolution(config, model, store=store)
        variants = store.variants(result.run_id)
    if result.status != "finished":
        raise SystemExit(f"{dataset} {screening} seed {seed}: run {result.status}: {result.error}")
    hv, best = offered_figures(variants)
    c = result.counts
    return Outcome(dataset, screening, seed, c.trained, c.screened + c.promoted,
                   c.spent(result.screening), hv, best, time.monotonic() - started,
                   result.run_id, config.store_path)


def rank_correlation(outcome: Outcome, args: argparse.Namespace, limit: int) -> None:
    """Spearman's ρ of two cheap evaluations against the full budget's accuracy."""
    with RunStore(outcome.store) as store:
        run = store.get_run(outcome.run_id)
        variants = [v for v in store.variants(outcome.run_id) if v.evaluation is not None
                    and v.evaluation.status == "ok"][:limit]
    assert run is not None
    splits = load_dataset(resolve_dataset(outcome.dataset, Path.cwd()), seed=outcome.seed,
                          data_dir=DATA_DIR, max_train=args.max_train)
    keep = max(1, int(len(splits.y_train) * FRACTION))
    subset = dataclasses.replace(splits, x_train=splits.x_train[:keep],
                                 y_train=splits.y_train[:keep])
    budget = Budget(epochs=args.epochs, max_train_seconds=3600.0, time_limit_s=3600.0)
    full, steps, data, steps_s, data_s, full_s = [], [], [], [], [], []
    for variant in variants:
        a = evaluate_variant(variant.source, run.class_name, splits, budget,
                             seed=run.train_seed, fraction=FRACTION)
        b = evaluate_variant(variant.source, run.class_name, subset, budget,
                             seed=run.train_seed)
        if not (a.ok and b.ok):
            continue
        assert variant.evaluation is not None
        full.append(variant.evaluation.accuracy)
        full_s.append(variant.evaluation.train_seconds)
        steps.append(a.accuracy)
        data.append(b.accuracy)
        steps_s.append(a.train_seconds)
        data_s.append(b.train_seconds)
    print(f"\nrank correlation with the full budget's accuracy, {len(full)} variants of "
          f"{outcome.dataset} (seed {outcome.seed}), {args.epochs} epoch(s) in full")
    print(f"{'cheap evaluation':<44} {'Spearman':>9} {'train s (median)':>17}")
    print(f"{'full budget':<44} {1.0:>9.3f} {statistics.median(full_s):>17.3f}")
    print(f"{'first quarter of the steps (screening)':<44} "
          f"{spearmanr(full, steps).statistic:>9.3f} {statistics.median(steps_s):>17.3f}")
    print(f"{'all epochs on a quarter of the train data':<44} "
          f"{spearmanr(full, data).statistic:>9.3f} {statistics.median(data_s):>17.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--evals", type=int, default=40,
                        help="evaluation budget per run, in full-budget evaluations")
    parser.add_argument("--time", type=float, metavar="SECONDS",
                        help="the same wall-clock per run instead of the same budget")
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--confirm-seeds", type=int, default=2)
    parser.add_argument("--max-train", type=int, help="training samples kept")
    parser.add_argument("--correlation", type=int, default=40, metavar="N",
                        help="variants whose ranking is measured (0: skip)")
    args = parser.parse_args()

    budget = f"{args.time:g} s wall-clock" if args.time else \
        f"{args.evals} full-budget evaluations"
    print(f"{budget} per run, population {args.population}, {args.epochs} epoch(s) per "
          f"variant, {args.workers} workers, objectives error,params, front confirmed with "
          f"{args.confirm_seeds} more seeds; screening: {FRACTION:g} of the steps first; "
          f"HV reference point {REFERENCE_POINT}")
    with tempfile.TemporaryDirectory(prefix="nnevolve-bench-") as work:
        outcomes = side_by_side(args.datasets, args.seeds, ("off", "on"),
                                lambda *run: run_once(*run, args, Path(work)), COLUMNS, MEANS)
        if args.correlation:
            for dataset in args.datasets:
                first = next(o for o in outcomes if o.dataset == dataset and o.screening == "off")
                rank_correlation(first, args, args.correlation)


if __name__ == "__main__":
    main()
