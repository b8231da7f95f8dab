"""A run's wall-clock budget: when breeding stops, and when what is still training is cut."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

GRACE_SHARE = 0.1  # of the budget, for the evaluations in flight when it runs out
MIN_GRACE_S = 30.0  # ... but at least this (never more than the budget itself)


class OutOfTime(Exception):
    """The time budget is spent: no more children are bred."""


@dataclass
class TimeBudget:
    """`seconds` of wall-clock to search in, from `start()` (the search's start: starting the
    workers and measuring the user's network come before it); the evaluations in flight then
    get `grace_s` more to finish (what is still training after it is cut)."""

    seconds: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    started: float | None = None  # a `clock` reading; None: the search has not started

    def start(self) -> None:
        self.started = self.clock()

    @property
    def grace_s(self) -> float:
        return min(max(GRACE_SHARE * self.seconds, MIN_GRACE_S), self.seconds)

    def left(self) -> float:
        """Seconds of breeding left (negative once spent)."""
        if self.started is None:
            return self.seconds
        return self.seconds - (self.clock() - self.started)

    def spent(self) -> bool:
        """Whether breeding must stop."""
        return self.left() <= 0

    def past_grace(self) -> bool:
        """Whether what still trains must be cut."""
        return self.left() <= -self.grace_s

    def share_used(self) -> float:
        """The part of the budget used, in [0, 1]."""
        return min(1.0, max(0.0, 1.0 - self.left() / self.seconds))
