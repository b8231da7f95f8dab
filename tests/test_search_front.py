"""Objectives and the Pareto front: what the search minimises and which variants it keeps."""

from __future__ import annotations

import math

import pytest

from nnevolve.search import dominates, objective_vector, pareto_indices
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
