"""Objectives and the Pareto front: what the search minimises and which variants it keeps."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from nnevolve.search import dominates, objective_vector, pareto_indices
from nnevolve.search.noise import Noise
from nnevolve.store import Evaluation


def ok(accuracy: float, params: int, latency_ms: float = 1.0) -> Evaluation:
    return Evaluation(status="ok", accuracy=accuracy, params=params, latency_ms=latency_ms)


FAILED = Evaluation(status="failed", reason="crash: boom")


def test_objectives_are_error_log_params_and_latency_in_the_chosen_order() -> None:
    values = objective_vector(ok(0.9, 1000, 0.25), ("error", "params", "latency"))
    assert values == pytest.approx([0.1, 3.0, 0.25])
    assert objective_vector(ok(0.9, 1000), ("params",)) == pytest.approx([math.log10(1000)])


def test_a_failed_variant_is_worse_than_any_trained_one() -> None:
    assert objective_vector(FAILED, ("error", "params")) > objective_vector(ok(0.0, 10**8),
                                                                            ("error", "params"))


def test_front_keeps_only_non_dominated_successful_variants() -> None:
    evaluations = [
        ok(0.90, 5000),  # 0: most accurate
        ok(0.85, 1000),  # 1: smaller
        ok(0.84, 2000),  # 2: dominated by 1
        FAILED,  # 3: never on the front
        ok(0.50, 100),  # 4: smallest
        None,  # 5: not evaluated
    ]
    assert pareto_indices(evaluations, ("error", "params")) == [0, 1, 4]
    # with accuracy alone only the most accurate remains
    assert pareto_indices(evaluations, ("error",)) == [0]


def test_identical_figures_appear_once_on_the_front() -> None:
    assert pareto_indices([ok(0.9, 100), ok(0.9, 100), ok(0.8, 50)], ("error", "params")) == [0, 2]


def test_no_successful_variant_means_an_empty_front() -> None:
    assert pareto_indices([FAILED, None], ("error",)) == []


def test_dominates_needs_one_strictly_better_objective_and_none_worse() -> None:
    objectives = ("error", "params", "latency")
    assert dominates(ok(0.9, 100, 1.0), ok(0.9, 200, 1.0), objectives)
    assert not dominates(ok(0.9, 100, 1.0), ok(0.9, 100, 1.0), objectives)
    assert not dominates(ok(0.95, 100, 2.0), ok(0.9, 200, 1.0), objectives)


NOISE = Noise(accuracy=0.02, latency_ms=0.1, chance=0.1, base_accuracy=0.80,
              base_latency_ms=1.0, seeds=3)


def _random_evaluations(rng: random.Random, n: int) -> list[Evaluation | None]:
    """Larger networks a little more accurate and slower, on coarse grids, so that many pairs
    trade one objective for another, differ by about their noise or tie; single seeds (the
    base's noise) and means over several with spreads of their own, under the floor too; some
    failed, missing or at chance."""
    evaluations: list[Evaluation | None] = []
    for _ in range(n):
        roll, size, seeds = rng.random(), rng.randrange(6), rng.choice([1, 1, 2, 3, 5, 8])
        if roll < 0.03:
            evaluations.append(None)
        elif roll < 0.06:
            evaluations.append(FAILED)
        else:
            accuracy = 0.12 if roll < 0.09 else 0.70 + 0.04 * size + 0.005 * rng.randint(-6, 6)
            evaluations.append(Evaluation(
                status="ok", accuracy=accuracy, params=100 * 2 ** size,
                latency_ms=0.8 + 0.1 * size + rng.choice([-0.1, 0.0, 0.05, 0.1]), seeds=seeds,
                accuracy_spread=rng.choice([None, 0.0, 0.004, 0.02, 0.06]) if seeds > 1 else None))
    return evaluations


def _front_pair_by_pair(evaluations: Sequence[Evaluation | None], objectives: Sequence[str],
                        noise: Noise | None) -> list[int]:
    """The front by its definition, one pair at a time: the usable evaluations no other
    dominates, less those that tie an earlier one on every objective."""
    usable = [i for i, e in enumerate(evaluations) if e is not None and e.status == "ok"
              and (noise is None or not noise.at_chance(e))]
    front: list[int] = []
    for i in usable:
        if any(dominates(evaluations[j], evaluations[i], objectives, noise) for j in usable):
            continue
        a = evaluations[i]
        if not any(all(abs(x - y) <= t for x, y, t in zip(
                objective_vector(a, objectives), objective_vector(evaluations[k], objectives),
                noise.tolerances(a, evaluations[k], objectives) if noise
                else [0.0] * len(objectives))) for k in front):
            front.append(i)
    return front


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("objectives", [("error", "params", "latency"), ("error", "params"),
                                        ("error",)])
def test_the_front_is_the_pair_by_pair_definition(seed: int, objectives: tuple[str, ...]) -> None:
    evaluations = _random_evaluations(random.Random(seed), 300)
    for noise in (NOISE, None):
        front = pareto_indices(evaluations, objectives, noise)
        assert front == _front_pair_by_pair(evaluations, objectives, noise)
    assert front  # not vacuous: some variants are on it


def test_a_tolerance_on_the_error_is_the_standard_error_of_the_difference() -> None:
    a = Evaluation(status="ok", accuracy=0.8, seeds=1)  # the base's spread: 0.02
    b = Evaluation(status="ok", accuracy=0.8, seeds=4, accuracy_spread=0.03)  # 0.03 / 2
    assert NOISE.tolerances(a, b, ("error", "params", "latency")) == pytest.approx(
        [math.hypot(0.02, 0.015), 0.0, 0.1])
    matrix = NOISE.pairwise_tolerances([a, b], ("error",))[0]
    assert matrix.ravel().tolist() == pytest.approx(
        [math.hypot(0.02, 0.02), 0.025, 0.025, math.hypot(0.015, 0.015)])


def test_a_latency_tie_scales_with_the_slower_network_of_the_pair() -> None:
    # the base: 1 ms, a tie within 0.1 ms (10%); two 5 ms networks tie within 0.5 ms
    slow, slower = ok(0.8, 1000, 5.0), ok(0.8, 1000, 5.3)
    assert not dominates(slow, slower, ("error", "params", "latency"), NOISE)  # a tie on latency
    assert NOISE.tolerances(slow, slower, ("latency",)) == pytest.approx([0.53])
    # never narrower than the base's own tolerance, however fast the pair
    fast, faster = ok(0.8, 1000, 0.2), ok(0.8, 1000, 0.15)
    assert NOISE.tolerances(fast, faster, ("latency",)) == pytest.approx([0.1])
    assert not dominates(faster, fast, ("latency",), NOISE)
    assert dominates(ok(0.8, 1000, 1.0), ok(0.8, 1000, 1.2), ("latency",), NOISE)
