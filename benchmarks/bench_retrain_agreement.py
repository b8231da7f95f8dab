"""Do the offered variants' accuracies hold up when someone else trains them?

Each dataset gets small nnevolve runs (calibration, search, confirmation pass, as a user's
run does). Every variant a run offers is then re-trained by an independent trainer written
here: its own data loading (scikit-learn's digits / the idx files read directly), its own
stratified splits drawn with other seeds (same sizes), its own training loop with the same
budget (epochs, batch size, Adam at the same learning rate, cross-entropy) and three seeds of
its own, each on a split of its own (as the run's confirmation seeds are: the reported mean
averages the validation split's luck, and a mean over one split would keep that split's);
``--one-split`` trains all three on one split. A variant agrees when the independent mean is within 2 points of the mean the run
reported. Printed per variant (and the variants the run withheld because their mean was not
pinned down, with why), then per dataset and overall.

Run from the repository root (the MNIST files are the real test set in ../shared)::

    .venv/bin/python benchmarks/bench_retrain_agreement.py
    .venv/bin/python benchmarks/bench_retrain_agreement.py --datasets digits --seeds 0
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnevolve.config import EvolveConfig, resolve_dataset
from nnevolve.results import ParetoVariant
from nnevolve.run import run_evolution
from nnevolve.store import RunStore

# this folder is on sys.path when run as a script
from bench_runs import MNIST, convnet_source, run_config, run_folder

AGREEMENT_POINTS = 2.0
INDEPENDENT_SEEDS = (1001, 1002, 1003)
SPLIT_SEED = 4242  # the independent trainer's splits (SPLIT_SEED + i): none the run used

SEED_NETWORK = convnet_source(channels=(8, 16), hidden=64)


# -- the independent trainer: nothing below uses nnevolve ------------------------------------

def load_arrays(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """All samples (N, 1, H, W) in [0, 1] and labels, read without nnevolve."""
    if dataset == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return (bunch.images / 16.0).astype(np.float32)[:, None], bunch.target.astype(np.int64)
    folder = Path(dataset.removeprefix("idx:"))
    images = _idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    return images[:, None], _idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)


def _idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(x: np.ndarray, y: np.ndarray, n_train: int, n_val: int,
          seed: int) -> tuple[torch.Tensor, ...]:
    """A stratified split: each class shuffled with `seed`, dealt out in proportion."""
    rng = np.random.default_rng(seed)
    val_share = n_val / (n_train + n_val)
    train_idx, val_idx = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(len(members) * val_share))
        val_idx += list(members[:cut])
        train_idx += list(members[cut:])
    train = rng.permutation(np.array(train_idx))[:n_train]
    val = rng.permutation(np.array(val_idx))[:n_val]
    return (torch.from_numpy(x[train]), torch.from_numpy(y[train]),
            torch.from_numpy(x[val]), torch.from_numpy(y[val]))


def train_and_score(source: str, model_expression: str, data: tuple[torch.Tensor, ...],
                    config: EvolveConfig, seed: int) -> float:
    """Validation accuracy after `config.epochs` epochs of Adam on the variant's own file."""
    x_train, y_train, x_val, y_val = data
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    namespace: dict[str, object] = {"__name__": "independent_variant"}
    exec(compile(source, "<variant>", "exec"), namespace)  # noqa: S102
    call = model_expression if "(" in model_expression else model_expression + "()"
    model = eval(call, namespace)  # noqa: S307
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(config.epochs):
        perm = torch.randperm(len(y_train), generator=order)
        for first in range(0, len(perm), config.batch_size):
            batch = perm[first:first + config.batch_size]
            optimizer.zero_grad()
            loss(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x_val[i:i + 512]).argmax(1) for i in range(0, len(y_val), 512)])
    return float((predicted == y_val).float().mean())


# -- the runs ----------------------------------------------------------------------------

def evolve(dataset: str, seed: int, args: argparse.Namespace, work: Path):
    folder = run_folder(work, dataset, seed)
    model = folder / "convnet.py"
    model.write_text(SEED_NETWORK)
    config = run_config(
        folder, dataset, seed=seed, population=args.population, generations=args.generations,
        epochs=args.epochs, lr=args.lr, workers=args.workers, objectives=("error", "params"),
        confirm_seeds=args.confirm_seeds, max_train=args.max_train, max_val=args.max_val)
    with RunStore(config.store_path) as store:
        result = run_evolution(config, model, store=store)
    return config, result


def sizes(dataset: str, config: EvolveConfig, n: int) -> tuple[int, int]:
    n_val = round(n * 0.2)
    return min(n - n_val, config.max_train or n), min(n_val, config.max_val or n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", MNIST])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1],
                        help="one run per seed and dataset")
    parser.add_argument("--population", type=int, default=6)
    parser.add_argument("--generations", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--confirm-seeds", type=int, default=2)
    parser.add_argument("--max-train", type=int, default=3000)
    parser.add_argument("--max-val", type=int, default=1000)
    parser.add_argument("--one-split", action="store_true",
                        help="the independent trainer's seeds all on one split (the old design)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    splits_text = (f"all on one split (seed {SPLIT_SEED})" if args.one_split
                   else f"each on a split of its own (seeds {SPLIT_SEED}-{SPLIT_SEED + 2})")
    print(f"runs: population {args.population}, generations {args.generations}, "
          f"{args.epochs} epoch(s), lr {args.lr:g}, objectives error,params, "
          f"confirm_seeds {args.confirm_seeds}; "
          f"independent trainer: seeds {INDEPENDENT_SEEDS}, {splits_text}; "
          f"agreement: within {AGREEMENT_POINTS:g} points", flush=True)
    overall = [0, 0]
    with tempfile.TemporaryDirectory(prefix="nnevolve-agreement-") as work:
        for dataset in args.datasets:
            x, y = load_arrays(dataset if dataset == "digits" else resolve_dataset(dataset, Path.cwd()))
            agree = total = 0
            differences = []
            for seed in args.seeds:
                started = time.monotonic()
                config, result = evolve(dataset, seed, args, Path(work))
                if result.status != "finished":
                    print(f"{dataset} seed {seed}: run {result.status}: {result.error}")
                    continue
                # each independent seed on a split of its own, as the run's confirmation seeds
                # are (a mean over one split keeps that split's luck); --one-split: all on one
                n_train, n_val = sizes(dataset, config, len(y))
                splits = [split(x, y, n_train, n_val,
                                seed=SPLIT_SEED + (0 if args.one_split else i))
                          for i in range(len(INDEPENDENT_SEEDS))]
                data = splits[0]
                print(f"\n{dataset}, run seed {seed}: {len(result.pareto)} offered variant(s), "
                      f"{len(result.withheld)} withheld, run {time.monotonic() - started:.0f}s; "
                      f"train {len(data[1])} / val {len(data[3])} for the independent trainer",
                      flush=True)
                for withheld in result.withheld:
                    print(f"  withheld: {withheld}")
                print(f"  {'variant':<12} {'params':>8} {'reported (mean ± sd, n)':>26} "
                      f"{'independent (3 seeds)':>22} {'diff':>6}  agree")
                rows: list[tuple[str, ParetoVariant]] = [("base", result.base)] if result.base else []
                rows += [(f"variant {i:02d}", v) for i, v in enumerate(result.pareto, start=1)]
                for label, variant in rows:
                    scores = [train_and_score(variant.source, result.class_name, part, config, s)
                              for s, part in zip(INDEPENDENT_SEEDS, splits)]
                    mean, sd = statistics.fmean(scores), statistics.stdev(scores)
                    diff = 100 * (mean - variant.accuracy)
                    ok = abs(diff) <= AGREEMENT_POINTS
                    spread = f" ± {100 * variant.accuracy_spread:.1f}" if variant.accuracy_spread \
                        is not None else ""
                    counted = label != "base"  # the offered variants are what is checked
                    if counted:
                        agree, total = agree + ok, total + 1
                        differences.append(abs(diff))
                    print(f"  {label:<12} {variant.params:>8,} "
                          f"{f'{100 * variant.accuracy:.1f}%{spread}, n={variant.seeds}':>26} "
                          f"{f'{100 * mean:.1f}% ± {100 * sd:.1f}':>22} {diff:>+6.1f}  "
                          f"{'yes' if ok else 'NO'}{'' if counted else ' (not counted)'}",
                          flush=True)
                    if counted:  # what the variant is, to read a disagreement by
                        print(f"  {'':<12} {'; '.join(variant.changes) or 'no change'}")
            share = 100 * agree / total if total else 0.0
            worst = max(differences) if differences else 0.0
            print(f"\n{dataset}: {agree}/{total} offered variants agree within "
                  f"{AGREEMENT_POINTS:g} points ({share:.0f}%); largest difference {worst:.1f} "
                  "points", flush=True)
            overall[0] += agree
            overall[1] += total
    share = 100 * overall[0] / overall[1] if overall[1] else 0.0
    print(f"\noverall: {overall[0]}/{overall[1]} agree ({share:.0f}%)")


if __name__ == "__main__":
    main()
