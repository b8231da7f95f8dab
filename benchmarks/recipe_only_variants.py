"""The variants of a run whose only changes are training-recipe lines, with their gain.

    .venv/bin/python benchmarks/recipe_only_variants.py STORE.sqlite [RUN_ID]

Reads the run (default: the newest of the store), finds the recipe lines of its base
(nnevolve.recipe) and lists every trained variant whose diff against the base touches no
other line: accuracy, points above the seed, and the edits that made it.
"""

from __future__ import annotations

import difflib
import sys

from nnevolve.recipe import read_recipe
from nnevolve.store import RunStore


def main() -> None:
    with RunStore(sys.argv[1]) as store:
        run = store.get_run(sys.argv[2]) if len(sys.argv) > 2 else store.list_runs(limit=1)[0]
        assert run is not None
        base = store.base_variant(run.id)
        assert base is not None and base.evaluation is not None
        recipe_lines = set(read_recipe(run.base_source).lines())
        seed = base.evaluation.accuracy or 0.0
        print(f"run {run.id}: seed {seed:.1%} (its first training seed); recipe lines "
              f"{sorted(recipe_lines)}")
        found = 0
        for variant in store.variants(run.id):
            if variant.is_base or variant.evaluation is None or variant.evaluation.status != "ok":
                continue
            changed: set[int] = set()
            matcher = difflib.SequenceMatcher(None, run.base_source.splitlines(),
                                              variant.source.splitlines())
            for tag, i1, i2, _, _ in matcher.get_opcodes():
                if tag != "equal":
                    changed |= set(range(i1 + 1, max(i2, i1 + 1) + 1))
            if changed and changed <= recipe_lines:
                found += 1
                accuracy = variant.evaluation.accuracy or 0.0
                edits = "; ".join(e["summary"] for e in variant.edits)
                print(f"{accuracy:.1%} ({100 * (accuracy - seed):+.1f} points) lines "
                      f"{sorted(changed)}: {edits}")
        print(f"{found} recipe-only variants")


if __name__ == "__main__":
    main()
