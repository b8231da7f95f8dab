"""Plain records read from and written to the run store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RUN_STATUSES = ("running", "finished", "cancelled", "failed")
# screened: trained on the run's screening share of the budget only (never offered)
VARIANT_STATUSES = ("pending", "rejected", "screened", "evaluated", "failed")
# the confirmation trains a variant with more seeds, up to this many, while its mean is not
# pinned down (search.noise)
MAX_CONFIRM_SEEDS = 8


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one trained variant, as cached by (source hash, dataset, budget, training
    seed); or, with `seeds` > 1, the mean over several training seeds (a confirmed figure)."""

    status: str  # "ok" | "failed"
    accuracy: float | None = None  # the mean over `seeds` when there are several
    test_accuracy: float | None = None
    params: int | None = None
    latency_ms: float | None = None  # median
    train_seconds: float = 0.0
    total_seconds: float = 0.0
    reason: str | None = None
    latency_spread_ms: float | None = None
    accuracy_spread: float | None = None  # standard deviation over the seeds
    seeds: int = 1
    # CPU time of the training loop, as the worker measured it (not stored: None when read,
    # so not compared either: a cached result equals the fresh one)
    train_cpu_seconds: float | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunCounts:
    """How many variants of a run reached each outcome."""

    evaluated: int = 0  # trained in this run, with a result
    cached: int = 0  # result reused from the cache, not trained
    rejected: int = 0  # refused by the static check, never trained
    failed: int = 0  # training crashed, hung or ran out of memory
    pending: int = 0
    screened: int = 0  # trained on the screening share of the budget only, not promoted
    promoted: int = 0  # screened first, then trained with the full budget

    @property
    def trained(self) -> int:
        """Full-budget evaluations that cost training time."""
        return self.evaluated + self.failed

    def spent(self, screening: float) -> float:
        """The evaluation budget used, in full-budget evaluations: a screening costs
        `screening` of one. A result taken from the cache costs what training it did (a warm
        cache makes a run faster, never different)."""
        return self.trained + self.cached + screening * (self.screened + self.promoted)

    def to_json(self) -> dict[str, int]:
        return {**asdict(self), "trained": self.trained}


def seed_dataset_key(fingerprint: str, split_seed: int | None) -> str:
    """The dataset part of the cache key of a result measured on the splits of `fingerprint`,
    redrawn with `split_seed` (None: as they are): a redrawn split is a dataset of its own."""
    return fingerprint if split_seed is None else f"{fingerprint};split={split_seed}"


@dataclass(frozen=True)
class RunRecord:
    """One row of `runs`, with its variant counts."""

    id: str
    file: str
    class_name: str
    base_source: str
    base_hash: str
    config: dict[str, Any]
    dataset_fingerprint: str
    budget_key: str
    status: str
    error: str | None
    out_dir: str | None
    generation: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    counts: RunCounts = field(default_factory=RunCounts)
    train_seed: int = 0  # the search trains every variant with this seed
    confirm_seeds: int = 0  # the front is confirmed with seeds train_seed + 1 … + confirm_seeds
    calibration: dict[str, Any] | None = None  # the noise measured on the base network
    train_file: str | None = None  # the project's training script (train_file), if any
    train_source: str | None = None  # its text when the run started
    # share of the budget children are screened with first; 0: off; None: not decided yet
    screening: float | None = None
    # each seed after train_seed (calibration, confirmation) trains and validates on the
    # training and validation samples split anew with that seed; False: runs of older stores,
    # whose every seed used the run's split
    redraw_splits: bool = False

    def split_seed(self, seed: int) -> int | None:
        """The seed of the split training seed `seed` uses (None: the run's own split). The
        search keeps one split, so its comparisons are paired; every further seed draws its
        own, so a mean over seeds averages the split's luck too (the same split for every
        network at a seed: confirmed means stay paired)."""
        return seed if self.redraw_splits and seed != self.train_seed else None

    def seed_key(self, seed: int) -> tuple[str, str]:
        """The (dataset, budget) part of the cache key of training seed `seed`'s results."""
        return seed_dataset_key(self.dataset_fingerprint, self.split_seed(seed)), self.budget_key

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("base_source")
        data.pop("train_source")
        data["counts"] = self.counts.to_json()
        return data


@dataclass(frozen=True)
class Variant:
    """One row of `variants`, joined with its evaluation when there is one."""

    id: int
    run_id: str
    source_hash: str
    source: str
    parents: list[int]
    edits: list[dict[str, str]]
    generation: int
    status: str
    reason: str | None  # why it was rejected, failed, or (evaluated) is withheld
    cached: bool
    is_base: bool
    is_pareto: bool
    evaluation: Evaluation | None  # trained with the run's seed
    # the mean over the run's confirmation seeds (and any further ones), once all of them trained
    confirmed: Evaluation | None = None
    # the run's training script as this variant changed it (None: unchanged)
    train_source: str | None = None
    fidelity: float = 1.0  # share of the budget its last training had (< 1: screened out)
    promoted: bool = False  # screened first, then trained with the full budget

    @property
    def figures(self) -> Evaluation | None:
        """What to report: the confirmed means when there are, else the search's evaluation."""
        return self.confirmed or self.evaluation

    def to_json(self, *, with_source: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["evaluation"] = self.evaluation.to_json() if self.evaluation else None
        data["confirmed"] = self.confirmed.to_json() if self.confirmed else None
        if not with_source:
            data.pop("source")
            data.pop("train_source")
        return data
