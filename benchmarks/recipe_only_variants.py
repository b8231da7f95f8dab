"""The variants of a run whose only changes are training-recipe lines, with their gain.

    .venv/bin/python benchmarks/recipe_only_variants.py STORE.sqlite [RUN_ID]

Reads the run (default: the newest of the store), finds the recipe lines of its base
(nnevolve.recipe) and lists every trained variant whose diff against the base touches no
other line, and every variant that changes only the training script (train_file) and not the
model file: accuracy, points above the seed, and the edits that made it (a script's changes as
`changes` phrases them).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from nnevolve.recipe import read_recipe
from nnevolve.store import RunStore
from nnevolve.variant_files import changes_of


def main() -> None:
    with RunStore(sys.argv[1]) as store:
        run = store.get_run(sys.argv[2]) if len(sys.argv) > 2 else store.list_runs(limit=1)[0]
        assert run is not None
        base = store.base_variant(run.id)
        assert base is not None and base.evaluation is not None
        recipe_lines = set(read_recipe(run.base_source).lines())
        seed = base.evaluation.accuracy or 0.0
        where = f"recipe lines {sorted(recipe_lines)}"
        if run.train_file and run.train_source is not None:
            where += (f", {Path(run.train_file).name} recipe lines "
                      f"{read_recipe(run.train_source).lines()}")
        print(f"run {run.id}: seed {seed:.1%} (its first training seed); {where}")
        found = script_only = 0
        for variant in store.variants(run.id):
            if variant.is_base or variant.evaluation is None or variant.evaluation.status != "ok":
                continue
            accuracy = variant.evaluation.accuracy or 0.0
            gain = f"{accuracy:.1%} ({100 * (accuracy - seed):+.1f} points)"
            if variant.train_source is not None:
                if variant.source == base.source:  # the model file as the seed has it
                    script_only += 1
                    print(f"{gain} {'; '.join(changes_of(run, variant))}")
                continue
            changed: set[int] = set()
            matcher = difflib.SequenceMatcher(None, run.base_source.splitlines(),
                                              variant.source.splitlines())
            for tag, i1, i2, _, _ in matcher.get_opcodes():
                if tag != "equal":
                    changed |= set(range(i1 + 1, max(i2, i1 + 1) + 1))
            if changed and changed <= recipe_lines:
                found += 1
                edits = "; ".join(e["summary"] for e in variant.edits)
                print(f"{gain} lines {sorted(changed)}: {edits}")
        print(f"{found} recipe-only variants")
        if run.train_file:
            print(f"{script_only} variants that change only {Path(run.train_file).name}")


if __name__ == "__main__":
    main()
