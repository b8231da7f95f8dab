"""How often block edits are bred, pass the static check, and land on the Pareto front.

Small digits runs (`run_evolution`, the run's own gene pool: the model file, its workspace,
the samples, the catalog and torchvision's model sources) from three of the samples. For each
run: the children bred by a block edit (`insert_block`, `replace_block`, `insert_residual`:
the edit that made them from their parent) against all children, how many of them were
evaluated (passed the static check and trained), and how many front variants have a block edit
in their edit history (the edits that made them from the seed, parent by parent; a crossover
child's history is its receiver's, so a block of a donor's lineage that the child never took
does not count).

With --static N instead: on every model file of benchmarks/networks/ground_truth.json (the
classic CIFAR-style files and the idiom samples), N children of each block operator with
torchvision's blocks and residual classes, each statically checked (built and run on the meta
device with the expected output shape): how many pass, and how many pass with no width for the
repair to fix (the block took the widths and the downsampling of its place).

    .venv/bin/python benchmarks/bench_block_edits.py [--population 8] [--generations 4]
        [--epochs 3] [--seed 0]
    .venv/bin/python benchmarks/bench_block_edits.py --static 10
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from nnevolve.config import EvolveConfig
from nnevolve.run import run_evolution
from nnevolve.store import RunStore

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SEEDS = (("convnet_small.py", "SmallConvNet"), ("vgg_cfg.py", "VGG11"),
         ("layers_append.py", "AppendNet"))
BLOCK_OPS = ("insert_block", "replace_block", "insert_residual")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--static", type=int, default=0, metavar="N")
    parser.add_argument("--only", help="one seed file, e.g. convnet_small.py")
    args = parser.parse_args()
    if args.static:
        static(args.static)
        return
    header = (f"{'seed file':<18} {'children':>8} {'block':>6} " + " ".join(
        f"{op:>15}" for op in BLOCK_OPS) + f" {'evaluated':>9} {'front':>5} {'front w/ block':>14}"
              f" {'seconds':>7}")
    print(f"digits, population {args.population}, generations {args.generations}, "
          f"{args.epochs} epochs, seed {args.seed}; per op: bred/evaluated")
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in SEEDS:
            if args.only and name != args.only:
                continue
            folder = Path(tmp) / name.removesuffix(".py")
            folder.mkdir()
            shutil.copy(SAMPLES / name, folder / name)
            config = EvolveConfig(
                root=folder, model=model, population=args.population,
                generations=args.generations, epochs=args.epochs, seed=args.seed,
                confirm_seeds=0, objectives=("error", "params"), workers=2)
            start = time.perf_counter()
            with RunStore(config.store_path) as store:
                result = run_evolution(config, folder / name, store=store)
                variants = store.variants(result.run_id)
            seconds = time.perf_counter() - start
            by_id = {v.id: v for v in variants}
            children = [v for v in variants if not v.is_base and v.parents]
            cells = []
            for op in BLOCK_OPS:
                bred = [v for v in children if op in _own_ops(v, by_id)]
                trained = [v for v in bred if v.evaluation is not None
                           and v.evaluation.status == "ok"]
                cells.append(f"{len(bred)}/{len(trained)}")
            block = [v for v in children if _own_ops(v, by_id) & set(BLOCK_OPS)]
            evaluated = [v for v in block if v.evaluation is not None
                         and v.evaluation.status == "ok"]
            front = [v for v in variants if v.is_pareto]
            with_block = [v for v in front if _ops(v) & set(BLOCK_OPS)]
            print(f"{name:<18} {len(children):>8} {len(block):>6} "
                  + " ".join(f"{c:>15}" for c in cells)
                  + f" {len(evaluated):>9} {len(front):>5} {len(with_block):>14}"
                  f" {seconds:>7.0f}")
            missed = [v for v in block if v not in evaluated]
            if missed:
                why = sorted({f"{v.status}: {(v.reason or '')[:100]}" for v in missed})
                print(f"    not evaluated: {len(missed)}: " + "; ".join(why))
            for variant in with_block:
                ops = [e["summary"] for e in variant.edits if e["op"] in BLOCK_OPS]
                accuracy = variant.evaluation.accuracy if variant.evaluation else None
                params = variant.evaluation.params if variant.evaluation else None
                print(f"    front: accuracy {accuracy:.3f}, {params} params: {ops[0]}")


def static(n: int) -> None:
    """N children of each block operator per classic file, statically checked."""
    import json
    import random

    from nnevolve.gene_pool import GenePool
    from nnevolve.genome import Genome
    from nnevolve.genome.model_spec import resolve_model
    from nnevolve.operators import insert_block, replace_block
    from nnevolve.operators.insert_residual import insert_residual
    from nnevolve.repair import repair

    networks = Path(__file__).resolve().parent / "networks"
    truth = json.loads((networks / "ground_truth.json").read_text())
    operators = {"insert_block": insert_block, "replace_block": replace_block,
                 "insert_residual": insert_residual}
    totals = {op: [0, 0, 0] for op in operators}
    with GenePool() as pool:
        pool.add_zoo("torchvision")
        print(f"{len(pool.blocks())} blocks, {len(pool.residual_blocks())} residual classes; "
              f"per op: children / pass the check / pass with no width fixed")
        print(f"{'file':<28} " + " ".join(f"{op:>16}" for op in operators))
        for name, expected in truth.items():
            path = (networks / name).resolve()
            source = path.read_text()
            shape = tuple(expected["input"])
            model = resolve_model(source, expected["model"]).with_classes(10).expression
            checked = repair(source, model, shape, 10)
            genome = Genome.parse(checked.source, model, live=checked.liveness)
            cells = []
            for op, operator in operators.items():
                rng = random.Random(0)
                counts = [0, 0, 0]
                for _ in range(n):
                    child = operator(genome, rng, pool)
                    if child is None:
                        continue
                    result = repair(child.source, model, shape, 10)
                    counts[0] += 1
                    counts[1] += result.ok
                    counts[2] += result.ok and not result.fixes
                totals[op] = [t + c for t, c in zip(totals[op], counts)]
                cells.append("/".join(map(str, counts)))
            shown = path.name if "samples" not in str(path) else f"samples/{path.name}"
            print(f"{shown:<28} " + " ".join(f"{c:>16}" for c in cells))
    print(f"{'all':<28} " + " ".join(f"{'/'.join(map(str, t)):>16}" for t in totals.values()))


def _ops(variant) -> set[str]:  # noqa: ANN001 - a store Variant
    return {e["op"] for e in variant.edits}


def _own_ops(variant, by_id: dict) -> set[str]:  # noqa: ANN001
    """The operators of the edits that made the variant from its parent (its edit history
    without its parent's): a descendant of a block child was not bred by a block edit."""
    parent = by_id.get(variant.parents[0]) if variant.parents else None
    inherited = len(parent.edits) if parent is not None and tuple(
        variant.edits[:len(parent.edits)]) == tuple(parent.edits) else 0
    return {e["op"] for e in variant.edits[inherited:]}


if __name__ == "__main__":
    main()
