"""Where one evaluation's time goes: build, training, the validation pass, latency.

Runs the worker's own functions in this process (one torch thread, as in a worker) on the
benchmark networks, in the order the worker runs them, and prints the median time of each
phase and the share of the evaluation that is not training.

Run from the repository root::

    .venv/bin/python benchmarks/bench_eval_phases.py
    .venv/bin/python benchmarks/bench_eval_phases.py --datasets digits --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from nnevolve.datasets import load_dataset
from nnevolve.evaluation import Budget
from nnevolve.evaluation import train as worker
from nnevolve.repair import repair

sys.path.insert(0, str(Path(__file__).parent))
from bench_gi_vs_random import MNIST, SEED_NETWORK

NETWORKS = {
    "bench ConvNet": (SEED_NETWORK, "ConvNet"),
    "SmallConvNet": (Path("samples/convnet_small.py").read_text(), "SmallConvNet"),
    "FCN": (Path("samples/fcn.py").read_text(), "FCN"),
}


def phases(source: str, class_name: str, splits, budget: Budget) -> dict:
    """Seconds per phase of one evaluation, as the worker runs it."""
    times, mark = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = now - mark
        mark = now

    worker._seed_everything(0)
    data = worker.to_device(splits, torch.device("cpu"))
    x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val
    model = worker.build_model(source, class_name)
    worker.count_params(model)
    lap("build")
    worker.train_model(model, x_train, y_train, budget, torch.Generator().manual_seed(0))
    lap("train")
    worker.accuracy(model, x_val, y_val)
    lap("validation")
    worker.measure_latency(model, x_val)
    lap("latency")
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", MNIST])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    worker.warm_up()
    budget = Budget(epochs=args.epochs, max_train_seconds=3600.0)
    print(f"{args.epochs} epoch(s), median of {args.repeats} evaluations per row, one thread")
    print(f"{'dataset':<30} {'network':<14} {'build':>7} {'train':>8} {'valid.':>8} "
          f"{'latency':>8} {'total':>8} {'not training':>12}")
    for spec in args.datasets:
        limits = {"max_train": 8000, "max_val": 2000} if spec == MNIST else {}
        splits = load_dataset(spec, seed=0, **limits)
        for name, (source, class_name) in NETWORKS.items():
            fitted = repair(source, class_name, splits.input_shape, splits.num_classes)
            if not fitted.ok:
                print(f"{spec:<30} {name:<14} cannot be built: {fitted.reason}")
                continue
            runs = [phases(fitted.source, class_name, splits, budget)
                    for _ in range(args.repeats)]
            med = {k: statistics.median(r[k] for r in runs) * 1000
                   for k in ("build", "train", "validation", "latency", "total")}
            share = statistics.median(1 - r["train"] / r["total"] for r in runs)
            print(f"{spec:<30} {name:<14} {med['build']:>5.1f}ms {med['train']:>6.0f}ms "
                  f"{med['validation']:>6.1f}ms {med['latency']:>6.1f}ms {med['total']:>6.0f}ms "
                  f"{100 * share:>11.1f}%")


if __name__ == "__main__":
    main()
