"""How much a figure moves when only the training seed changes.

Before the search the base is trained with CALIBRATION_SEEDS seeds; the spread of its accuracy
and latency is the run's noise, and a network that does not beat chance by three times it has
learnt nothing that could be compared.

Two networks are compared with the noise of those two: each accuracy figure has a standard
error, its own seeds' spread over the square root of their number where the figure is a mean
over several (the confirmed ones), the base's spread where it is a single seed (the search's),
and a difference inside the standard error of the difference is a tie. So a noisy base does not
hide a steadier variant that is clearly better, and a steady base does not make a noisy
variant's lead look decided.

A confirmed mean is offered only once it is pinned down: the half-width of its 95% interval
within MEAN_HALF_WIDTH, whatever the base's spread (a user reads every mean the same way). The
interval is Student's t on the measured spread: a spread measured on a few seeds is often far
below the true one (three seeds that happen to agree), and t widens the interval by as much as
so few seeds leave in doubt. Each further seed trains on a split of its own, so a spread counts
the validation split's luck too. A network whose accuracy swings between seeds gets more seeds
until it is pinned down, or is withheld at MAX_CONFIRM_SEEDS; with them, a spread above 1.8
points is never offered.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nnevolve.store import MAX_CONFIRM_SEEDS, Evaluation

CALIBRATION_SEEDS = 3
# below a point, three seeds cannot tell the spread from luck (the base's, or a variant's own)
ACCURACY_FLOOR = 0.01
# the load of a shared machine moves a latency by this share of it between two evaluations
LATENCY_FLOOR = 0.10
CHANCE_MARGIN = 3.0  # spreads above chance a network must be to count as having learnt
# the half-width of the 95% interval a reported mean may keep (a fraction), so that another
# trainer's mean lands within 2 points of it
MEAN_HALF_WIDTH = 0.015


@functools.cache
def _t95(df: int) -> float:
    from scipy.stats import t  # imported on first use: the engine's, never the editor's

    return float(t.ppf(0.975, df))


def half_width(spread: float, seeds: int) -> float:
    """The half-width of the 95% interval of a mean over `seeds` seeds whose accuracy spreads by
    `spread` (at least the floor), that spread measured over those seeds and the search's one:
    Student's t with `seeds` degrees of freedom, times the standard error spread / √seeds."""
    return _t95(seeds) * max(spread, ACCURACY_FLOOR) / math.sqrt(seeds)


def is_pinned(spread: float, seeds: int) -> bool:
    """Whether a mean over `seeds` seeds spreading by `spread` is known to MEAN_HALF_WIDTH."""
    return seeds > 0 and half_width(spread, seeds) <= MEAN_HALF_WIDTH


def seeds_to_pin(spread: float) -> int:
    """How many seeds pin down the mean of a network whose accuracy spreads by `spread`, at
    most MAX_CONFIRM_SEEDS (with fewer, such a network is withheld)."""
    return next((n for n in range(1, MAX_CONFIRM_SEEDS) if is_pinned(spread, n)),
                MAX_CONFIRM_SEEDS)


@dataclass(frozen=True)
class Noise:
    """The run's tolerances: accuracy (a fraction) and latency (ms), from the base network."""

    accuracy: float  # standard deviation of the base's accuracy over seeds, at least the floor
    latency_ms: float  # latency difference still inside the noise
    chance: float  # accuracy of guessing: 1 / classes
    base_accuracy: float  # mean over the calibration seeds
    base_latency_ms: float  # median over the calibration seeds
    seeds: int

    @property
    def chance_threshold(self) -> float:
        """Accuracy below which a network is at chance level."""
        return self.chance + CHANCE_MARGIN * self.accuracy

    def at_chance(self, evaluation: Evaluation) -> bool:
        return float(evaluation.accuracy or 0.0) < self.chance_threshold

    def standard_error(self, evaluation: Evaluation) -> float:
        """How far `evaluation`'s accuracy may lie from the network's true mean: its own seeds'
        spread (at least the floor) over √seeds for a mean over several, else the base's (a
        single seed)."""
        if evaluation.seeds > 1 and evaluation.accuracy_spread is not None:
            spread = max(float(evaluation.accuracy_spread), ACCURACY_FLOOR)
        else:
            spread = self.accuracy
        return spread / math.sqrt(max(evaluation.seeds, 1))

    def tolerances(self, a: Evaluation, b: Evaluation, objectives: Sequence[str]) -> list[float]:
        """Per objective, the difference between `a` and `b` that is a tie (one pair of
        `pairwise_tolerances`, so a pair and a whole front are judged by the same figures)."""
        pair = self.pairwise_tolerances([a, b], objectives)
        return [float(tolerance[0, 1]) for tolerance in pair]

    def pairwise_tolerances(self, evaluations: Sequence[Evaluation],
                            objectives: Sequence[str]) -> list[np.ndarray]:
        """Per objective (as `objective_vector` gives it), an n×n array: [j, i] is the difference
        between evaluations j and i that is a tie; for the error, the standard error of the
        difference of their figures, √(se_j² + se_i²)."""
        errors = np.array([self.standard_error(e) for e in evaluations], dtype=float)
        shape = (len(errors), len(errors))
        values = {
            "error": np.hypot(errors[:, None], errors[None, :]),
            # parameter counts are exact: any difference is real
            "params": np.broadcast_to(0.0, shape),
            "latency": self._latency_tolerances(evaluations),
        }
        return [values[name] for name in objectives]

    def _latency_tolerances(self, evaluations: Sequence[Evaluation]) -> np.ndarray:
        """The base's latency tolerance, scaled for pairs slower than the base: a load moves a
        latency by a share of it, so the tie between two 5 ms networks is wider than between
        two of 0.5 ms (never narrower than the base's own)."""
        latencies = np.array([float(e.latency_ms or 0.0) for e in evaluations], dtype=float)
        share = (self.latency_ms / self.base_latency_ms if self.base_latency_ms > 0
                 else LATENCY_FLOOR)
        slower = np.maximum(latencies[:, None], latencies[None, :])
        return np.maximum(float(self.latency_ms), share * slower)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Noise | None:
        return None if not data else cls(**{k: data[k] for k in cls.__dataclass_fields__})


def calibrate(evaluations: Sequence[Evaluation], num_classes: int) -> Noise:
    """The noise of a run from its base network's successful evaluations with several seeds."""
    accuracies = [float(e.accuracy or 0.0) for e in evaluations]
    latencies = [float(e.latency_ms or 0.0) for e in evaluations]
    spreads = [float(e.latency_spread_ms or 0.0) for e in evaluations]
    between = statistics.stdev(latencies) if len(latencies) > 1 else 0.0
    base_latency = statistics.median(latencies)
    return Noise(
        accuracy=max(statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0, ACCURACY_FLOOR),
        # two standard deviations: one seed's latency against another's, both noisy
        latency_ms=max(2 * between, 2 * statistics.median(spreads), LATENCY_FLOOR * base_latency),
        chance=1.0 / max(num_classes, 1), base_accuracy=statistics.fmean(accuracies),
        base_latency_ms=base_latency, seeds=len(evaluations),
    )


def seed_spread(search_accuracy: float, confirmed: Evaluation) -> float:
    """The standard deviation of a variant's accuracy over all the seeds it trained with: the
    search's, which chose it (its luck widens the spread, never narrows it), and the
    confirmation's (`confirmed` is their mean and spread)."""
    n = confirmed.seeds
    mean, spread = float(confirmed.accuracy or 0.0), float(confirmed.accuracy_spread or 0.0)
    grand = (n * mean + search_accuracy) / (n + 1)
    squares = (n - 1) * spread ** 2 + n * (mean - grand) ** 2 + (search_accuracy - grand) ** 2
    return math.sqrt(squares / n)
