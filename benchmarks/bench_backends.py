"""Evaluations per minute: the local worker pool against a Dask LocalCluster, side by side.

Both backends get the same jobs (MLP variants of several widths on digits, the same budget and
seed) in alternating rounds, with the same number of workers (2 local worker processes; 2 Dask
worker processes of one thread each). Start-up is timed apart from the rounds. It prints
evaluations per minute, the share of the wall time not spent in training, whether the results
are identical, and the Dask overhead (local evaluations per minute / Dask's - 1).

With ``--gpu`` it also trains a ResNet-style network on 3x32x32 data (generated) on the CPU and
on CUDA, where torch sees a GPU ("not measured" otherwise).

Run from the repository root::

    .venv/bin/python benchmarks/bench_backends.py
    .venv/bin/python benchmarks/bench_backends.py --rounds 3 --jobs 16 --gpu
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from nnevolve.evaluation import Budget, EvalResult, EvaluationPool

MLP = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, WIDTH), nn.ReLU(),
                                 nn.Linear(WIDTH, WIDTH), nn.ReLU(), nn.Linear(WIDTH, 10))

    def forward(self, x):
        return self.net(x)
'''

RESNET = '''
import torch
from torch import nn
import torch.nn.functional as F

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Sequential()
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.skip(x))

class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.blocks = nn.Sequential(Block(32, 32, 1), Block(32, 64, 2), Block(64, 128, 2), Block(128, 256, 2))
        self.head = nn.Linear(256, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))
'''


def jobs(count: int) -> list[tuple[str, str]]:
    return [(MLP.replace("WIDTH", str(16 + 8 * i)), "Net") for i in range(count)]


def timed_round(pool: Any, work: list[tuple[str, str]]) -> tuple[float, list[EvalResult]]:
    start = time.perf_counter()
    futures: list[Future[EvalResult]] = [pool.submit(source, name) for source, name in work]
    results = [future.result() for future in futures]
    return time.perf_counter() - start, results


def summary(name: str, walls: list[float], results: list[EvalResult], workers: int,
            startup: float) -> float:
    wall = sum(walls)
    per_minute = 60.0 * len(results) / wall
    training = sum(r.train_seconds for r in results)
    idle = 1.0 - training / (wall * workers)
    failed = sum(not r.ok for r in results)
    print(f"{name:<22} start {startup:6.1f} s   {len(results):3d} evaluations in {wall:6.1f} s"
          f"   {per_minute:7.1f} evaluations/min   not training {idle:6.1%}   failed {failed}")
    return per_minute


def compare_backends(rounds: int, count: int, epochs: int) -> None:
    from distributed import LocalCluster

    from nnevolve.evaluation.dask_backend import DaskEvaluationPool

    budget = Budget(epochs=epochs, lr=0.01)
    work = jobs(count)
    start = time.perf_counter()
    local = EvaluationPool("digits", workers=2, budget=budget, device="cpu")
    local_start = time.perf_counter() - start
    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    dask = DaskEvaluationPool(cluster.scheduler_address, "digits", budget=budget, device="cpu")
    timed_round(dask, work[:2])  # the Dask workers start their worker pools on the first job
    dask_start = time.perf_counter() - start
    timed_round(local, work[:2])  # the same warm-up for the local pool
    walls: dict[str, list[float]] = {"local": [], "dask": []}
    results: dict[str, list[EvalResult]] = {"local": [], "dask": []}
    try:
        for _ in range(rounds):
            for name, pool in (("local", local), ("dask", dask)):
                wall, done = timed_round(pool, work)
                walls[name].append(wall)
                results[name] += done
    finally:
        dask.close()
        cluster.close()
        local.close()
    print(f"{count} MLP variants x {rounds} rounds on digits, {epochs} epochs, 2 workers each; "
          f"rounds alternate local / Dask")
    here = summary("local pool (2 workers)", walls["local"], results["local"], 2, local_start)
    there = summary("Dask LocalCluster 2x1", walls["dask"], results["dask"], 2, dask_start)
    same = [(r.accuracy, r.params) for r in results["local"]] == [
        (r.accuracy, r.params) for r in results["dask"]]
    print(f"identical accuracy and parameters: {same}")
    print(f"Dask overhead: {here / there - 1:+.1%} (local evaluations/min / Dask's - 1)")


def compare_devices(count: int) -> None:
    import torch

    if not torch.cuda.is_available():
        print("GPU: not measured (torch sees no CUDA device)")
        return
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "cifar_sized.npz"
        x = rng.random((6000, 3, 32, 32), dtype=np.float32)
        y = rng.integers(0, 10, 6000)
        np.savez(data, x=x, y=y)
        budget = Budget(epochs=1, max_train_seconds=60, time_limit_s=300, memory_mb=8192)
        rows = {}
        for device in ("cpu", "cuda"):
            pool = EvaluationPool(f"npz:{data}", workers=2 if device == "cpu" else None,
                                  budget=budget, device=device)
            try:
                timed_round(pool, [(RESNET, "ResNet")])
                wall, results = timed_round(pool, [(RESNET, "ResNet")] * count)
                rows[device] = summary(f"ResNet-style on {device}", [wall], results, pool.size, 0)
            finally:
                pool.close()
        print(f"GPU / CPU evaluations per minute: {rows['cuda'] / rows['cpu']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=16, help="evaluations per round")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--gpu", action="store_true", help="also CPU vs CUDA on 3x32x32 data")
    args = parser.parse_args()
    compare_backends(args.rounds, args.jobs, args.epochs)
    if args.gpu:
        compare_devices(4)


if __name__ == "__main__":
    main()
