"""How much of real model files the whole-model genome reaches, and how often its edits build.

For every file of benchmarks/networks/ground_truth.json (classic CIFAR-style model files and
the idiom samples, with hand-checked lists of the layer lines and config entries the built
model uses and of those it never uses):

- coverage: the share of used layer lines and config entries that `nnevolve sites` lists
  (a listed site inside a ground-truth item's range covers it), and how many dead items it lists
  (must be 0);
- edits: N mutations of the traced genome, each statically checked (built, run forward with
  the expected output shape on the meta device, parameters counted): the share that is valid;
- time: `list_sites` (trace + genome) and one mutation + check, median.

    .venv/bin/python benchmarks/bench_sites_coverage.py [--mutations 20]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from nnevolve.gene_pool import GenePool
from nnevolve.genome import Genome
from nnevolve.genome.model_spec import resolve_model
from nnevolve.operators import mutate
from nnevolve.repair import repair
from nnevolve.site_listing import list_sites

NETWORKS = Path(__file__).resolve().parent / "networks"
KINDS = ("layer", "config")  # what the coverage counts: layer lines and config entries


def _inside(item: dict, line: int, col: int) -> bool:
    start, end = (item["line"], item["col"]), (item["end_line"], item["end_col"])
    return start <= (line, col) < end or (line, col) == start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=20)
    args = parser.parse_args()
    truth = json.loads((NETWORKS / "ground_truth.json").read_text())
    pool = GenePool()
    pool.add_catalog()
    rows = []
    totals = {"used": 0, "covered": 0, "dead": 0, "dead_listed": 0, "children": 0, "valid": 0}
    for name, expected in truth.items():
        path = (NETWORKS / name).resolve()
        source = path.read_text()
        shape = tuple(expected["input"])
        start = time.perf_counter()
        listing = list_sites(source, expected["model"], shape, 10)
        list_seconds = time.perf_counter() - start
        listed = [(i.line, i.col) for i in listing.items if i.kind in ("layer", "config", "call")]
        used = [i for i in expected["live_lines"] if i["kind"] in KINDS]
        dead = [i for i in expected["dead_lines"] if i["kind"] in KINDS]
        covered = sum(any(_inside(i, *p) for p in listed) for i in used)
        dead_listed = sum(any(_inside(i, *p) for p in listed) for i in dead)
        # edits: mutate the traced genome, check every child statically
        model = resolve_model(source, expected["model"]).with_classes(10).expression
        checked = repair(source, model, shape, 10)
        genome = Genome.parse(checked.source, model, live=checked.liveness)
        rng = random.Random(0)
        children = valid = 0
        step_times = []
        for _ in range(args.mutations):
            begin = time.perf_counter()
            child = mutate(genome, rng, pool)
            if child is None:
                continue
            result = repair(child.source, model, shape, 10)
            step_times.append(time.perf_counter() - begin)
            children += 1
            valid += result.ok
        rows.append((path.name if "samples" not in str(path) else f"samples/{path.name}",
                     expected["model"], len(used), covered, len(dead), dead_listed, children,
                     valid, list_seconds, statistics.median(step_times) if step_times else 0.0))
        for key, value in zip(("used", "covered", "dead", "dead_listed", "children", "valid"),
                              (len(used), covered, len(dead), dead_listed, children, valid)):
            totals[key] += value
    print(f"{'file':<28} {'model':<24} {'used':>5} {'listed':>7} {'cover':>6} {'dead':>5} "
          f"{'dead listed':>11} {'valid edits':>12} {'sites s':>8} {'edit s':>7}")
    for (file, model, used, covered, dead, dead_listed, children, valid, list_s, step_s) in rows:
        cover = covered / used if used else 1.0
        print(f"{file:<28} {model:<24} {used:>5} {covered:>7} {cover:>6.0%} {dead:>5} "
              f"{dead_listed:>11} {f'{valid}/{children}':>12} {list_s:>8.2f} {step_s:>7.3f}")
    cover = totals["covered"] / totals["used"] if totals["used"] else 1.0
    valid_rate = totals["valid"] / totals["children"] if totals["children"] else 0.0
    print(f"all: {totals['covered']}/{totals['used']} used layer lines and config entries listed "
          f"({cover:.1%}), {totals['dead_listed']}/{totals['dead']} dead ones listed; "
          f"{totals['valid']}/{totals['children']} edits valid ({valid_rate:.1%})")


if __name__ == "__main__":
    main()
