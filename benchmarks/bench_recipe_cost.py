"""What training with the recipe written in the user's code costs over the built-in recipe.

The same network and the same optimizer (Adam, lr 1e-3, cross-entropy, batch 64) are trained
twice per round: once from the built-in recipe, once from the recipe written in its file
(read from the source in every evaluation, as the workers do). Rounds alternate the order;
the figure is the median time of a whole evaluation and their ratio.

    .venv/bin/python benchmarks/bench_recipe_cost.py [--rounds 8] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from nnevolve.datasets import load_dataset
from nnevolve.evaluation.budget import Budget
from nnevolve.evaluation.train import evaluate_variant

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "poor_recipe" / "model.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    source = SAMPLE.read_text()
    head, _, _ = source.partition("\ndef train(")  # the model alone: the built-in recipe
    written = source.replace("optim.SGD(model.parameters(), lr=0.05)",
                             "optim.Adam(model.parameters(), lr=0.001)")
    data = load_dataset("digits", seed=0)
    budget = Budget(epochs=args.epochs, batch_size=64, lr=1e-3)
    times: dict[str, list[float]] = {"built-in": [], "written": []}
    evaluate_variant(head, "Net", data, budget)  # warm-up
    for round_ in range(args.rounds):
        order = [("built-in", head), ("written", written)]
        for name, text in order if round_ % 2 == 0 else reversed(order):
            start = time.perf_counter()
            result = evaluate_variant(text, "Net", data, budget, seed=round_)
            times[name].append(time.perf_counter() - start)
            assert result.ok, result.reason
    built, own = statistics.median(times["built-in"]), statistics.median(times["written"])
    print(f"digits, {args.epochs} epochs, {args.rounds} rounds, Net of samples/poor_recipe/model.py")
    print(f"built-in recipe : {built * 1000:7.1f} ms per evaluation (median)")
    print(f"written recipe  : {own * 1000:7.1f} ms per evaluation (median)")
    print(f"ratio written / built-in: {own / built:.3f}")


if __name__ == "__main__":
    main()
