"""Evaluations per minute: the local worker pool against a Dask LocalCluster, side by side.

Both backends get the same jobs (MLP variants of several widths on digits, the same budget and
seed) in alternating rounds, with the same number of workers (2 local worker processes; 2 Dask
worker processes of one thread each). Start-up is timed apart from the rounds. It prints
evaluations per minute, the mean evaluation's time in its worker, the share of the wall time
not spent in training, whether the results are identical, and the Dask overhead (local
evaluations per minute / Dask's - 1). ``--epochs`` takes several values: one comparison each
(2 epochs: evaluations of tens of milliseconds; 40: about a second or two). For the Dask
rounds it also prints where a Dask worker's time outside the training child goes, from the
cluster's task stream: before its first task of a round, between two tasks, inside a task but
outside the child, and after its last task until the round's last result is back; and the
CPU time the processes beside the training children use per round (this process, which holds
the local pool's monitor and Dask's scheduler and client, and the Dask worker processes): on a
machine whose cores all train, that time is taken from the training.

With ``--gpu`` it also trains a ResNet-style network on 3x32x32 data (generated) on the CPU and
on CUDA, where torch sees a GPU ("not measured" otherwise).

Run from the repository root::

    .venv/bin/python benchmarks/bench_backends.py
    .venv/bin/python benchmarks/bench_backends.py --rounds 4 --epochs 2 40 --gpu
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import psutil

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


def dask_round(pool: Any, work: list[tuple[str, str]]) -> tuple[float, list[EvalResult], list[float]]:
    """A timed round on the Dask pool, and each worker's idle milliseconds outside its child:
    before its first task, between tasks, in a task outside the child, after its last task."""
    from distributed import get_task_stream

    with get_task_stream(client=pool._client) as stream:  # noqa: SLF001
        start = time.time()
        wall, results = timed_round(pool, work)
        end = time.time()
    tasks = sorted((d for d in stream.data if str(d["key"]).startswith("nnevolve-evaluate-")),
                   key=lambda d: int(str(d["key"]).rsplit("-", 1)[1]))
    in_child = {d["key"]: r.total_seconds for d, r in zip(tasks, results)}
    by_worker: dict[str, list[tuple[float, float, Any]]] = {}
    for task in tasks:
        compute = next(s for s in task["startstops"] if s["action"] == "compute")
        by_worker.setdefault(task["worker"], []).append((compute["start"], compute["stop"],
                                                         task["key"]))
    idle = [0.0, 0.0, 0.0, 0.0]
    for runs in by_worker.values():
        runs.sort()
        idle[0] += runs[0][0] - start
        idle[1] += sum(b[0] - a[1] for a, b in zip(runs, runs[1:]))
        idle[2] += sum(stop - begin - in_child[key] for begin, stop, key in runs)
        idle[3] += end - runs[-1][1]
    return wall, results, [1000.0 * part / len(by_worker) for part in idle]


def cpu_seconds(processes: list[Any]) -> float:
    """User and system CPU time of `processes` themselves (not their children)."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def summary(name: str, walls: list[float], results: list[EvalResult], workers: int,
            startup: float) -> float:
    wall = sum(walls)
    per_minute = 60.0 * len(results) / wall
    training = sum(r.train_seconds for r in results)
    idle = 1.0 - training / (wall * workers)
    failed = sum(not r.ok for r in results)
    mean = sum(r.total_seconds for r in results) / len(results)
    print(f"{name:<22} start {startup:5.1f} s   {len(results):3d} evaluations in {wall:6.1f} s"
          f"   {per_minute:7.1f} evaluations/min   mean evaluation {mean:5.2f} s"
          f"   not training {idle:6.1%}   failed {failed}")
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
    # processes beside the training children: this one (the local pool's monitor; Dask's
    # scheduler and client) and the Dask worker processes (their task threads, event loops)
    here_process = [psutil.Process()]
    workers = here_process + [psutil.Process(pid) for pid in dask._client.run(os.getpid).values()]
    cpu: dict[str, float] = {"local": 0.0, "here": 0.0, "workers": 0.0}
    walls: dict[str, list[float]] = {"local": [], "dask": []}
    results: dict[str, list[EvalResult]] = {"local": [], "dask": []}
    idle: list[list[float]] = []
    try:
        for _ in range(rounds):
            before = cpu_seconds(here_process)
            wall, done = timed_round(local, work)
            cpu["local"] += cpu_seconds(here_process) - before
            walls["local"].append(wall)
            results["local"] += done
            before, before_workers = cpu_seconds(here_process), cpu_seconds(workers[1:])
            wall, done, parts = dask_round(dask, work)
            cpu["here"] += cpu_seconds(here_process) - before
            cpu["workers"] += cpu_seconds(workers[1:]) - before_workers
            walls["dask"].append(wall)
            results["dask"] += done
            idle.append(parts)
    finally:
        dask.close()
        cluster.close()
        local.close()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{count} MLP variants x {rounds} rounds on digits, {epochs} epochs, 2 workers each; "
          f"rounds alternate local / Dask; load average {load}")
    here = summary("local pool (2 workers)", walls["local"], results["local"], 2, local_start)
    there = summary("Dask LocalCluster 2x1", walls["dask"], results["dask"], 2, dask_start)
    same = [(r.accuracy, r.params) for r in results["local"]] == [
        (r.accuracy, r.params) for r in results["dask"]]
    print(f"identical accuracy and parameters: {same}")
    print(f"Dask overhead: {here / there - 1:+.1%} (local evaluations/min / Dask's - 1)")
    mean = [sum(parts[i] for parts in idle) / len(idle) for i in range(4)]
    per_task = count / 2
    print(f"CPU seconds per round beside the training children: local pool's process "
          f"{cpu['local'] / rounds:.2f}; Dask: this process (scheduler, client) "
          f"{cpu['here'] / rounds:.2f}, its 2 worker processes {cpu['workers'] / rounds:.2f} "
          f"(round: {sum(walls['dask']) / rounds:.1f} s on 2 cores)")
    print(f"a Dask worker's idle time per round (mean of {rounds}): before its first task "
          f"{mean[0]:.0f} ms, between tasks {mean[1]:.0f} ms ({mean[1] / (per_task - 1):.1f} ms "
          f"each), in its tasks outside the child {mean[2]:.0f} ms, after its last task "
          f"{mean[3]:.0f} ms")


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
    parser.add_argument("--epochs", type=int, nargs="+", default=[2],
                        help="training epochs of each evaluation; several: one comparison each")
    parser.add_argument("--gpu", action="store_true", help="also CPU vs CUDA on 3x32x32 data")
    args = parser.parse_args()
    for epochs in args.epochs:
        compare_backends(args.rounds, args.jobs, epochs)
    if args.gpu:
        compare_devices(4)


if __name__ == "__main__":
    main()
