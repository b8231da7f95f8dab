"""Evolution runs on networks written in the common idioms, end to end.

For every model of benchmarks/networks/ground_truth.json (classic CIFAR-style files on 3×32×32
inputs, and the idiom samples on digits-sized 1×8×8 inputs), a small run of `run_evolution` on
generated data (a noisy fixed pattern per class: the point is that variants build and train),
then every trained variant is rebuilt here: it must run a forward pass with the expected output
shape and have exactly the reported parameter count. Also: torchvision's own vgg.py, resnet.py
and mobilenetv2.py, evolved in place (as members of torchvision.models), must start: the seed
is checked and the run gets past it without an import error.

    .venv/bin/python benchmarks/bench_idiom_runs.py [--population 2] [--generations 1]
        [--epochs 2] [--lr 5e-4] [--max-train-seconds 15] [--only networks]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

from nnevolve.config import EvolveConfig
from nnevolve.genome.model_spec import instantiate, package_of, split_package
from nnevolve.run import run_evolution
from nnevolve.store import RunStore

NETWORKS = Path(__file__).resolve().parent / "networks"


def dataset(folder: Path, shape: tuple[int, ...], n: int = 600) -> str:
    rng = np.random.default_rng(0)
    # one fixed pattern per class under noise: learnable in an epoch, so the base beats chance
    templates = rng.random((10, *shape), dtype=np.float32)
    y = np.arange(n) % 10
    x = (templates[y] + 0.25 * rng.random((n, *shape), dtype=np.float32)).astype(np.float32)
    path = folder / f"data-{'x'.join(map(str, shape))}.npz"
    np.savez(path, x=x, y=y)
    return f"npz:{path}"


def rebuild(source: str, model: str, package: tuple[str, str] | None) -> torch.nn.Module:
    from nnevolve.genome.model_spec import package_context

    module = types.ModuleType("rebuilt")
    with package_context(module.__dict__, package):
        exec(compile(source, "<variant>", "exec"), module.__dict__)  # noqa: S102
    return instantiate(module.__dict__, model)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=2)
    parser.add_argument("--generations", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--max-train-seconds", type=float, default=15.0)
    parser.add_argument("--only", metavar="TEXT", default="",
                        help="only the files whose path contains TEXT (e.g. networks)")
    args = parser.parse_args()
    truth = json.loads((NETWORKS / "ground_truth.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="nnevolve-idioms-"))
    print(f"{'file':<28} {'model':<22} {'status':<9} {'trained':>7} {'valid':>6} "
          f"{'rebuilt ok':>10} {'seconds':>8}", flush=True)
    import torchvision

    tv = Path(torchvision.__file__).parent / "models"
    jobs = [((NETWORKS / name).resolve(), spec["model"], tuple(spec["input"]))
            for name, spec in truth.items()]
    jobs += [(tv / "vgg.py", "vgg11(num_classes=10)", (3, 32, 32)),
             (tv / "resnet.py", "resnet18(num_classes=10)", (3, 32, 32)),
             (tv / "mobilenetv2.py", "mobilenet_v2(num_classes=10)", (3, 32, 32))]
    for path, model, shape in jobs:
        if args.only not in str(path):
            continue
        torchvision_file = path.parent == tv
        config = EvolveConfig(root=work).with_overrides({
            "dataset": dataset(work, shape), "population": args.population,
            "generations": args.generations, "epochs": args.epochs, "batch_size": 16,
            "lr": args.lr, "max_train_seconds": args.max_train_seconds,
            "time_limit_s": max(120.0, 4 * args.max_train_seconds),
            "workers": 2, "confirm_seeds": 0, "objectives": ["error", "params"],
            "store": str(work / "runs.sqlite"), "out": str(work / "out" / path.stem),
            "memory_mb": 4096, "max_evals": 1 if torchvision_file else None})
        start = time.perf_counter()
        with RunStore(config.store_path) as store:
            try:
                result = run_evolution(config, path, model=model, store=store)
            except Exception as exc:  # noqa: BLE001 - reported as the row's status
                print(f"{path.name:<28} {model:<22} error: {exc}", flush=True)
                continue
            record = store.get_run(result.run_id)
            variants = [v for v in store.variants(result.run_id)
                        if not v.is_base and v.evaluation is not None]
        package = package_of(path)
        valid = sum(v.evaluation.status == "ok" for v in variants)
        rebuilt = 0
        for variant in variants:
            if variant.evaluation.status != "ok":
                continue
            built = rebuild(variant.source, split_package(record.class_name)[1], package)
            out = built(torch.zeros(2, *shape))
            params = sum(p.numel() for p in built.parameters() if p.requires_grad)
            rebuilt += out.shape == (2, 10) and params == variant.evaluation.params
        name = f"torchvision {path.name}" if torchvision_file else (
            f"samples/{path.name}" if "samples" in str(path) else path.name)
        status = result.status if not result.error else f"{result.status}: {result.error[:70]}"
        print(f"{name:<28} {model:<22} {status:<9} {len(variants):>7} {valid:>6} "
              f"{rebuilt:>10} {time.perf_counter() - start:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
