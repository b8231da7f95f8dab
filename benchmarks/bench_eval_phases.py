"""Where one evaluation's time goes: build, training, the validation pass, and the rest.

Runs the worker's own functions in this process (one torch thread, as in a worker) on the
benchmark networks, and prints the median time of each phase and the share of the evaluation
that is not training. It also times the previous way of measuring latency (3 warm-up + 15
timed forwards of a batch of 32 before training, then validation in batches of 1024) side by
side, to show what timing latency on the validation pass saves.

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


def previous_latency_ms(model: torch.nn.Module, batch: torch.Tensor) -> float:
    """The measurement before the validation pass timed it: its own 18 forwards."""
    model.eval()
    times = []
    with torch.no_grad():
        for repeat in range(18):
            start = time.perf_counter()
            model(batch)
            if repeat >= 3:
                times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def phases(source: str, class_name: str, splits, budget: Budget, previous: bool) -> dict:
    """Seconds per phase of one evaluation, as the worker runs it (or as it used to)."""
    times, mark = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = now - mark
        mark = now

    worker._seed_everything(0)
    x_train, y_train = worker._tensors(splits.x_train, splits.y_train)
    x_val, y_val = worker._tensors(splits.x_val, splits.y_val)
    model = worker.build_model(source, class_name)
    worker.count_params(model)
    lap("build")
    if previous:
        previous_latency_ms(model, worker._latency_batch(x_val))
        lap("latency")
    worker.train_model(model, x_train, y_train, budget, torch.Generator().manual_seed(0))
    lap("train")
    if previous:
        worker.SCORE_BATCH, kept = 1024, worker.SCORE_BATCH
        worker.accuracy(model, x_val, y_val)
        worker.SCORE_BATCH = kept
    else:
        worker.accuracy(model, x_val, y_val)
        worker.measure_latency(model, x_val)
    lap("validation")
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
    print(f"{'dataset':<30} {'network':<14} {'method':<9} {'build':>7} {'latency':>8} "
          f"{'train':>8} {'valid.':>7} {'total':>8} {'not training':>12}")
    for spec in args.datasets:
        limits = {"max_train": 8000, "max_val": 2000} if spec == MNIST else {}
        splits = load_dataset(spec, seed=0, **limits)
        for name, (source, class_name) in NETWORKS.items():
            fitted = repair(source, class_name, splits.input_shape, splits.num_classes)
            if not fitted.ok:
                print(f"{spec:<30} {name:<14} cannot be built: {fitted.reason}")
                continue
            shares = {}
            for method, previous in (("before", True), ("now", False)):
                runs = [phases(fitted.source, class_name, splits, budget, previous)
                        for _ in range(args.repeats)]
                med = {k: statistics.median(r.get(k, 0.0) for r in runs) * 1000
                       for k in ("build", "latency", "train", "validation", "total")}
                shares[method] = statistics.median(1 - r["train"] / r["total"] for r in runs)
                print(f"{spec:<30} {name:<14} {method:<9} {med['build']:>6.1f}ms "
                      f"{med['latency']:>6.1f}ms {med['train']:>6.0f}ms "
                      f"{med['validation']:>5.1f}ms {med['total']:>6.0f}ms "
                      f"{100 * shares[method]:>11.1f}%")
            print(f"{'':<30} {'':<14} not-training share now / before: "
                  f"{shares['now'] / shares['before']:.2f}")


if __name__ == "__main__":
    main()
