"""nnevolve against a hand-written Optuna study, at an equal budget, on re-trained fronts.

The race (MNIST t10k: 8,000 train / 2,000 held out; every candidate trains 1 epoch of Adam,
lr 1e-3, batch 64; objectives error and parameter count):

- Optuna's RandomSampler, TPESampler and NSGAIISampler over a small hand-written CNN space
  (1-3 conv blocks of 8-64 channels, kernel 3 or 5, each followed by ReLU and 2x2 max-pool;
  an optional hidden Linear layer), a two-objective study optimized by `workers` processes
  sharing a journal storage (Optuna's multi-process set-up; ``n_jobs`` threads would contend
  for the GIL);
- nnevolve, run through its CLI as a user would (a project folder whose pyproject.toml holds
  the dataset and training budget; ``nnevolve evolve FILE --seed S --max-evals N | --time T
  --workers W --out DIR --json``, every other setting at its default), from a weak
  784-32-10 tanh FCN and from a wide CNN (6.5 M parameters).

Budgets: ``--evals N`` (N trials / ``--max-evals N``) or ``--time T`` (``timeout`` /
``--time``). The searchers run one after another, never side by side.

Every offered nnevolve variant, every Optuna Pareto trial and both start networks are then
re-trained by one trainer written here (same budget, the held-out split drawn with another
seed, one training seed) and the figures are computed on those numbers: hypervolume of
(error, log10 parameters) with reference point (1.0, 7.0) (pymoo) — larger is better — and the
best error. The hypervolume as the searcher reported it is printed beside it.

Run from the repository root (the MNIST files are in ../shared)::

    .venv/bin/python benchmarks/bench_vs_optuna.py --seeds 0 1 2 --evals 40
    .venv/bin/python benchmarks/bench_vs_optuna.py --seeds 0 --time 10m
    .venv/bin/python benchmarks/bench_vs_optuna.py --seeds 0 --evals 6 --searchers random fcn
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import optuna
import torch
from pymoo.indicators.hv import HV
from torch import nn

from nnevolve.datasets import load_dataset
from nnevolve.duration import parse_duration

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"
REFERENCE_POINT = (1.0, 7.0)  # (error, log10 parameters)
N_TRAIN, N_VAL = 8000, 2000
EPOCHS, BATCH, LR = 1, 64, 1e-3
RETRAIN_SPLIT_SEED = 4242  # the independent trainer's held-out split: no searcher's
RETRAIN_SEED = 1001
optuna.logging.set_verbosity(optuna.logging.WARNING)
SAMPLERS = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler,
            "nsga2": optuna.samplers.NSGAIISampler}
STARTS = {"fcn": "weak FCN", "cnn": "wide CNN"}
SEARCHERS = (*SAMPLERS, *STARTS)

# forward written one statement per layer: a single nested expression gives the search no
# insertion point (only re-sizing, replacement and deletion)
WEAK_FCN = '''"""A weak start: one narrow tanh hidden layer."""
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(784, 32)
        self.act = nn.Tanh()
        self.out = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.flatten(x)
        x = self.act(self.hidden(x))
        return self.out(x)
'''

WIDE_CNN = '''"""A wide start: two convolutions and a 12,544 x 512 Linear (6.5 M parameters)."""
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.act1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.act2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64 * 14 * 14, 512)
        self.act3 = nn.ReLU()
        self.out = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.pool(self.act1(self.conv1(x)))
        x = self.flatten(self.act2(self.conv2(x)))
        return self.out(self.act3(self.fc(x)))
'''

PROJECT = '''[tool.nnevolve]
dataset = "idx:{mnist}"
epochs = {epochs}
batch_size = {batch}
lr = {lr}
max_train = {n_train}
max_val = {n_val}
objectives = ["error", "params"]
# every variant trains its full epoch, as every Optuna trial does
max_train_seconds = 3600
time_limit_s = 3600
'''


# -- the Optuna study's search space -------------------------------------------------------

def suggest_cnn(trial: optuna.Trial) -> str:
    """The hand-written space: the trial's network as the source of a module."""
    blocks = trial.suggest_int("blocks", 1, 3)
    layers, channels, side = [], 1, 28
    for i in range(blocks):
        width = trial.suggest_categorical(f"channels{i}", [8, 16, 32, 64])
        kernel = trial.suggest_categorical(f"kernel{i}", [3, 5])
        layers += [f"nn.Conv2d({channels}, {width}, {kernel}, padding={kernel // 2})",
                   "nn.ReLU()", "nn.MaxPool2d(2)"]
        channels, side = width, side // 2
    hidden = trial.suggest_categorical("hidden", [0, 32, 64, 128, 256])
    features = channels * side * side
    layers.append("nn.Flatten()")
    if hidden:
        layers += [f"nn.Linear({features}, {hidden})", "nn.ReLU()"]
    layers.append(f"nn.Linear({hidden or features}, 10)")
    body = "".join(f"\n            {layer}," for layer in layers)
    return ("from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            f"        super().__init__()\n        self.layers = nn.Sequential({body}\n        )\n\n"
            "    def forward(self, x):\n        return self.layers(x)\n")


# -- training: the Optuna trials and the independent re-training ---------------------------

_DATA: dict[int, tuple[torch.Tensor, ...]] = {}


def data(split_seed: int) -> tuple[torch.Tensor, ...]:
    """The 8,000 / 2,000 split of MNIST t10k drawn with `split_seed` (nnevolve's idx loader)."""
    if split_seed not in _DATA:
        s = load_dataset(f"idx:{MNIST}", seed=split_seed, max_train=N_TRAIN, max_val=N_VAL)
        _DATA[split_seed] = tuple(torch.from_numpy(np.ascontiguousarray(a))
                                  for a in (s.x_train, s.y_train, s.x_val, s.y_val))
    return _DATA[split_seed]


def train(source: str, expression: str, split_seed: int, seed: int) -> tuple[float, int]:
    """Validation error and parameter count after the budget's training of `expression`."""
    torch.set_num_threads(1)
    x_train, y_train, x_val, y_val = data(split_seed)
    torch.manual_seed(seed)
    namespace: dict[str, object] = {"__name__": "candidate"}
    exec(compile(source, "<candidate>", "exec"), namespace)  # noqa: S102
    model = eval(expression, namespace)  # noqa: S307
    if not isinstance(model, nn.Module):  # a class or factory named without its call
        model = model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(y_train), generator=order)
        for first in range(0, len(perm), BATCH):
            batch = perm[first:first + BATCH]
            optimizer.zero_grad()
            loss(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x_val[i:i + 500]).argmax(1) for i in range(0, len(y_val), 500)])
    error = 1.0 - float((predicted == y_val).float().mean())
    return error, sum(p.numel() for p in model.parameters())


def retrain(candidate: tuple[str, str]) -> tuple[float, int]:
    return train(*candidate, RETRAIN_SPLIT_SEED, RETRAIN_SEED)


# -- the searchers ---------------------------------------------------------------------------

@dataclass
class Offer:
    """One offered network: its source, the expression that builds it, the searcher's figures
    and (filled in later) the independent trainer's."""

    source: str
    expression: str
    error: float
    params: int
    retrained_error: float = math.nan


@dataclass
class Outcome:
    searcher: str
    seed: int
    trained: int
    wall_seconds: float
    offers: list[Offer]
    note: str = ""
    start: Offer | None = None  # nnevolve's start network
    figures: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> Outcome:
        start = data.pop("start")
        return cls(**{**data, "offers": [Offer(**o) for o in data["offers"]],
                      "start": Offer(**start) if start else None})


def run_optuna(sampler_name: str, seed: int, args: argparse.Namespace, work: Path) -> Outcome:
    """`args.workers` processes optimize one study in a shared journal storage (Optuna's
    way to use several cores: `n_jobs` threads contend for the GIL)."""
    journal = work / f"{sampler_name}-{seed}.journal"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
        str(journal)))
    name = f"{sampler_name}-{seed}"
    optuna.create_study(study_name=name, storage=storage, directions=["minimize", "minimize"])
    started = time.monotonic()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as workers:
        jobs = [workers.submit(optimize, str(journal), name, sampler_name, seed, worker,
                               args.evals, args.time) for worker in range(args.workers)]
        for job in jobs:
            job.result()
    wall = time.monotonic() - started
    study = optuna.load_study(study_name=name, storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    offers = [Offer(suggest_cnn(optuna.trial.FixedTrial(t.params)), "Net()", t.values[0],
                    int(t.values[1])) for t in study.best_trials]
    return Outcome(sampler_name, seed, len(done), wall, offers)


def optimize(journal: str, name: str, sampler_name: str, seed: int, worker: int,
             evals: int | None, seconds: float | None) -> None:
    """One worker process of the study: trials until the study has `evals` or `seconds` pass."""
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        source = suggest_cnn(trial)
        error, params = train(source, "Net()", seed, seed * 100_000 + trial.number)
        return error, float(params)

    data(seed)  # before the clock starts, as nnevolve's workers load theirs
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    # each worker its own stream: two equal seeds would sample the same networks
    sampler = SAMPLERS[sampler_name](seed=seed * 1000 + worker)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    limit = [optuna.study.MaxTrialsCallback(evals, states=None)] if evals else []
    study.optimize(objective, timeout=seconds, callbacks=limit)


def run_nnevolve(start: str, seed: int, args: argparse.Namespace, work: Path) -> Outcome:
    project = work / f"{start}-{seed}"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PROJECT.format(
        mnist=MNIST, epochs=EPOCHS, batch=BATCH, lr=LR, n_train=N_TRAIN, n_val=N_VAL))
    (project / "net.py").write_text(WEAK_FCN if start == "fcn" else WIDE_CNN)
    budget = (["--max-evals", str(args.evals)] if args.evals is not None
              else ["--time", f"{args.time:g}s"])
    command = [sys.executable, "-m", "nnevolve", "evolve", "net.py", "--seed", str(seed),
               *budget, "--workers", str(args.workers), "--out", "out", "--json"]
    started = time.monotonic()
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"nnevolve {start} seed {seed} exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None
    if result.get("status") != "finished":
        raise SystemExit(f"nnevolve {start} seed {seed}: {result.get('status')}: "
                         f"{result.get('error')}")
    out = Path(result["out_dir"])
    offers = [Offer((out / entry["file"]).read_text(), entry["model"],
                    1.0 - entry["accuracy"], entry["params"])
              for entry in json.loads((out / "pareto.json").read_text())]
    base = result["base"]
    start_offer = Offer((project / "net.py").read_text(), result["class"],
                        1.0 - base["accuracy"], base["params"])
    counts = result["counts"]
    note = ", ".join(f"{counts[k]} {k}" for k in ("rejected", "failed", "cached") if counts[k])
    return Outcome(start, seed, counts["evaluated"], wall, offers, note, start_offer)


# -- figures -------------------------------------------------------------------------------

def hypervolume(points: list[tuple[float, int]]) -> float:
    kept = [(e, math.log10(p)) for e, p in points if p > 0 and not math.isnan(e)]
    if not kept:
        return 0.0
    return float(HV(ref_point=np.array(REFERENCE_POINT))(np.array(kept)))


def score(outcome: Outcome) -> None:
    offers = outcome.offers
    outcome.figures = {
        "hv_reported": hypervolume([(o.error, o.params) for o in offers]),
        "hv": hypervolume([(o.retrained_error, o.params) for o in offers]),
        "best": min((o.retrained_error for o in offers), default=math.nan),
        "best_reported": min((o.error for o in offers), default=math.nan),
    }


def print_row(o: Outcome) -> None:
    f = o.figures
    print(f"{o.searcher:<8} {o.seed:>4} {o.trained:>7} {o.wall_seconds:>6.0f}s {len(o.offers):>5} "
          f"{f['hv_reported']:>8.3f} {f['hv']:>8.3f} {100 * f['best_reported']:>8.2f}% "
          f"{100 * f['best']:>8.2f}%  {o.note}", flush=True)
    if o.start is not None:
        s = o.start
        print(f"{'':<14}start {s.params:,} params, error {100 * s.error:.2f}% "
              f"(re-trained {100 * s.retrained_error:.2f}%)")
        for offer in sorted(o.offers, key=lambda v: v.params):
            print(f"{'':<14}{offer.params:>10,} params ({100 * offer.params / s.params:6.2f}% of "
                  f"the start)  error {100 * offer.error:5.2f}%  re-trained "
                  f"{100 * offer.retrained_error:5.2f}%")


def print_header() -> None:
    print(f"{'searcher':<8} {'seed':>4} {'trained':>7} {'wall':>7} {'front':>5} {'HV srch':>8} "
          f"{'HV':>8} {'err srch':>9} {'best err':>9}")


def summarize(outcomes: list[Outcome]) -> None:
    print("\nmeans over seeds (re-trained figures)")
    print(f"{'searcher':<8} {'seeds':>5} {'trained':>7} {'HV':>8} {'best err':>9} "
          f"{'best err range':>16}")
    means: dict[str, tuple[float, float]] = {}
    for searcher in SEARCHERS:
        group = [o for o in outcomes if o.searcher == searcher]
        if not group:
            continue
        hv = statistics.fmean(o.figures["hv"] for o in group)
        bests = [o.figures["best"] for o in group]
        means[searcher] = (hv, statistics.fmean(bests))
        print(f"{searcher:<8} {len(group):>5} {statistics.fmean(o.trained for o in group):>7.0f} "
              f"{hv:>8.3f} {100 * means[searcher][1]:>8.2f}% "
              f"{f'{100 * min(bests):.2f}-{100 * max(bests):.2f}%':>16}")
    optuna_means = {k: v for k, v in means.items() if k in SAMPLERS}
    if "fcn" in means and optuna_means:
        best_hv = max(v[0] for v in optuna_means.values())
        best_err = min(v[1] for v in optuna_means.values())
        print(f"\nfcn / best Optuna sampler: HV {means['fcn'][0] / best_hv:.2f}x, "
              f"best error {means['fcn'][1] / best_err:.2f}x"
              + (f"; fcn / random HV {means['fcn'][0] / means['random'][0]:.2f}x"
                 if "random" in means else ""))
    for o in (o for o in outcomes if o.searcher == "cnn" and o.start is not None):
        close = [v for v in o.offers
                 if v.retrained_error <= o.start.retrained_error + 0.005]
        if close:
            smallest = min(close, key=lambda v: v.params)
            print(f"cnn seed {o.seed}: smallest variant within 0.5 points of the start's "
                  f"re-trained error: {100 * smallest.params / o.start.params:.2f}% of its "
                  f"parameters ({100 * smallest.retrained_error:.2f}% vs "
                  f"{100 * o.start.retrained_error:.2f}%)")
        else:
            print(f"cnn seed {o.seed}: no variant within 0.5 points of the start's re-trained "
                  f"error ({100 * o.start.retrained_error:.2f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--evals", type=int, help="trained candidates per searcher (default 40)")
    budget.add_argument("--time", type=parse_duration,
                        help="wall-clock per searcher, e.g. 10m (its evaluations unlimited)")
    parser.add_argument("--searchers", nargs="+", choices=SEARCHERS, default=list(SEARCHERS))
    parser.add_argument("--workers", type=int, default=2,
                        help="Optuna worker processes and nnevolve's --workers; also the re-trainers")
    parser.add_argument("--save", type=Path, help="write the outcomes (JSON) here as they come")
    parser.add_argument("--summarize", type=Path, nargs="+", metavar="SAVED",
                        help="print the rows and means of saved outcomes (runs nothing): "
                             "seeds run as separate commands, side by side")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the searchers' work (nnevolve's project folders, Optuna's "
                             "journals) in DIR instead of a temporary folder")
    args = parser.parse_args()
    if args.summarize:
        outcomes = [Outcome.from_json(o) for path in args.summarize
                    for o in json.loads(path.read_text())]
        print_header()
        for outcome in sorted(outcomes, key=lambda o: (o.seed, SEARCHERS.index(o.searcher))):
            print_row(outcome)
        summarize(outcomes)
        return
    if args.evals is None and args.time is None:
        args.evals = 40
    torch.set_num_threads(1)
    what = f"{args.evals} trained candidates" if args.evals else f"{args.time:g} s wall-clock"
    print(f"MNIST t10k {N_TRAIN} train / {N_VAL} held out; {EPOCHS} epoch Adam lr {LR:g} batch "
          f"{BATCH}; {what} per searcher, {args.workers} workers; searchers run one after "
          f"another on a machine shared with other jobs; HV of (error, log10 params), "
          f"reference {REFERENCE_POINT}; re-trained: split seed {RETRAIN_SPLIT_SEED}, training "
          f"seed {RETRAIN_SEED}", flush=True)
    print_header()
    outcomes: list[Outcome] = []
    retrainers = ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"))
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    temporary = tempfile.TemporaryDirectory(prefix="nnevolve-vs-optuna-")
    with temporary as scratch, retrainers:
        work = str(args.keep or scratch)
        for seed in args.seeds:
            for searcher in args.searchers:
                outcome = (run_optuna(searcher, seed, args, Path(work)) if searcher in SAMPLERS
                           else run_nnevolve(searcher, seed, args, Path(work)))
                networks = outcome.offers + ([outcome.start] if outcome.start else [])
                results = retrainers.map(retrain, [(n.source, n.expression) for n in networks])
                for network, (error, params) in zip(networks, results):
                    network.retrained_error = error
                    if params != network.params:
                        print(f"  (re-trainer counts {params:,} parameters, searcher "
                              f"{network.params:,})")
                score(outcome)
                print_row(outcome)
                outcomes.append(outcome)
                if args.save:
                    args.save.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    summarize(outcomes)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
