"""A run's result as the run store holds it: its figures, its Pareto variants, its statistics.

Kept free of the engine's heavy imports, so `nnevolve show` and the language server read
results without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnevolve.analysis import Analysis, analyze
from nnevolve.config import EvolveConfig
from nnevolve.outputs import variant_file_name
from nnevolve.recipe import Recipe, read_recipe
from nnevolve.store import RunCounts, RunRecord, RunStore, StoreError, Variant
from nnevolve.variant_files import changes_of


@dataclass(frozen=True)
class RunProgress:
    """One progress report: where the run is and what it found so far."""

    run_id: str
    phase: str  # "starting" | "seed" | "calibrating" | "search" | "confirming" | "finishing" | "done"
    generation: int  # the generation being bred and evaluated (0 = initial population)
    generations: int | None  # None: a time budget, not a number of generations, ends the search
    evaluated: int
    cached: int
    rejected: int
    failed: int
    budget: int | None  # trained evaluations allowed (None: only the time limits them)
    best_accuracy: float | None
    smallest_params: int | None
    percent: float
    message: str
    seconds_left: float | None = None  # of the run's time budget, when it has one
    screened: int = 0  # children screened out (trained on a share of the budget only)
    promoted: int = 0  # children screened, then trained with the full budget

    def to_json(self) -> dict[str, Any]:
        return {"event": "progress", **self.__dict__}


@dataclass(frozen=True)
class RunStats:
    """How efficiently this session of the run used its workers."""

    wall_seconds: float
    trained: int
    evals_per_minute: float
    overhead_share: float | None  # of evaluation time, the part not spent training
    utilisation: float | None  # evaluation time / (wall time × workers)
    static_rejection_rate: float | None  # children refused by the static check
    valid_rate: float | None  # trained variants that trained to the end

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ParetoVariant:
    """A variant of the result (or the seed network), with its figures.

    `changes` is its net difference from the user's network, one phrase per changed line
    (:mod:`nnevolve.changes`); `lineage` the edits that bred it, cumulative from the seed.
    Accuracy and latency are the means over `seeds` training seeds once the run confirmed
    them (with their spreads), else the search's single evaluation.
    """

    variant_id: int
    source: str
    source_hash: str
    accuracy: float
    params: int
    latency_ms: float
    test_accuracy: float | None
    changes: list[str]
    lineage: list[dict[str, str]]
    file: str | None = None  # its file in the output folder
    # the project's training script as the variant changes it (None: unchanged), and its
    # file in the output folder
    train_source: str | None = None
    train_file: str | None = None
    accuracy_spread: float | None = None  # standard deviation over the seeds
    latency_spread_ms: float | None = None
    seeds: int = 1

    @classmethod
    def from_variant(cls, variant: Variant, run: RunRecord, file: str | None = None, *,
                     base_analysis: Analysis | None = None,
                     train_file: str | None = None) -> ParetoVariant:
        metrics = variant.figures
        assert metrics is not None and metrics.status == "ok"
        return cls(variant_id=variant.id, source=variant.source, source_hash=variant.source_hash,
                   accuracy=float(metrics.accuracy or 0.0), params=int(metrics.params or 0),
                   latency_ms=float(metrics.latency_ms or 0.0),
                   test_accuracy=metrics.test_accuracy,
                   changes=changes_of(run, variant, base_analysis=base_analysis),
                   lineage=list(variant.edits), file=file,
                   train_source=variant.train_source,
                   train_file=train_file if variant.train_source is not None else None,
                   accuracy_spread=metrics.accuracy_spread,
                   latency_spread_ms=metrics.latency_spread_ms, seeds=metrics.seeds)

    def to_json(self, *, with_source: bool = False) -> dict[str, Any]:
        data = dict(self.__dict__)
        if not with_source:
            data.pop("source")
            data.pop("train_source")
        return data


@dataclass(frozen=True)
class RunResult:
    """What a run produced; `status` is finished, cancelled or failed."""

    run_id: str
    status: str
    error: str | None
    file: str
    class_name: str
    config: EvolveConfig
    base: ParetoVariant | None
    pareto: list[ParetoVariant]
    counts: RunCounts
    stats: RunStats
    out_dir: Path | None = None
    base_on_front: bool = False
    recipe: str = ""  # the training recipe variants were trained with, and from which lines
    warnings: tuple[str, ...] = ()  # what of the user's training code is not honoured
    screening: float = 0.0  # share of the budget children were screened with (0: none)
    # variants of the front not offered, each with why: "1,450 params (line 12: …): its accuracy …"
    withheld: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status, "error": self.error,
            "file": self.file, "class": self.class_name, "dataset": self.config.dataset,
            "objectives": list(self.config.objectives),
            "base": self.base.to_json() if self.base else None,
            "base_on_front": self.base_on_front,
            "pareto": [v.to_json() for v in self.pareto],
            "counts": self.counts.to_json(), "stats": self.stats.to_json(),
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "recipe": self.recipe, "warnings": list(self.warnings),
            "screening": self.screening,
            "withheld": list(self.withheld),
        }


def build_result(store: RunStore, run_id: str, *, stats: RunStats | None = None) -> RunResult:
    """A run's result as the store holds it (used at the end of a run and by `nnevolve show`)."""
    record = store.get_run(run_id)
    if record is None:
        raise StoreError(f"no run '{run_id}' in the run store")
    base_variant = store.base_variant(run_id)
    base_analysis = analyze(record.base_source)  # one base, many variants
    base = None
    if base_variant is not None and base_variant.evaluation is not None \
            and base_variant.evaluation.status == "ok":
        base = ParetoVariant.from_variant(base_variant, record, base_analysis=base_analysis)
    front = [v for v in store.pareto(run_id) if not v.is_base]
    out_dir = Path(record.out_dir) if record.out_dir else None
    script = Path(record.train_file).name if record.train_file else None
    pareto = [ParetoVariant.from_variant(v, record,
                                         _output_file(out_dir, i, record.status),
                                         base_analysis=base_analysis,
                                         train_file=_output_file(out_dir, i, record.status,
                                                                 script))
              for i, v in enumerate(front, start=1)]
    withheld = tuple(_withheld(v, record, base_analysis)
                     for v in store.withheld(run_id))
    config = EvolveConfig.from_json(record.config)
    recipe, warnings = describe_recipe(record.base_source, config, record.train_source)
    return RunResult(
        run_id=run_id, status=record.status, error=record.error, file=record.file,
        class_name=record.class_name, config=config, base=base,
        pareto=pareto, counts=record.counts, stats=stats or _empty_stats(),
        out_dir=out_dir, base_on_front=bool(base_variant and base_variant.is_pareto),
        recipe=recipe, warnings=warnings, screening=record.screening or 0.0,
        withheld=withheld,
    )


def _withheld(variant: Variant, record: RunRecord, base_analysis: Analysis) -> str:
    params = variant.figures.params if variant.figures is not None else None
    changes = "; ".join(changes_of(record, variant, base_analysis=base_analysis))
    return f"{params or 0:,} params ({changes or 'no change'}): {variant.reason}"


def describe_recipe(base_source: str, config: EvolveConfig,
                    train_source: str | None = None) -> tuple[str, tuple[str, ...]]:
    """Which recipe trains the variants, in words, and what of it is not honoured
    (`train_source`: the training script's text as the run stored it; None: read it)."""
    recipe = read_recipe(base_source)
    where = "the model file"
    if recipe.empty and config.train_path is not None:
        try:
            recipe = read_recipe(train_source if train_source is not None
                                 else config.train_path.read_text(encoding="utf-8"))
            where = config.train_path.name
        except (OSError, UnicodeDecodeError):
            recipe = Recipe()
    if recipe.empty:
        return (f"built-in: Adam(lr={config.lr:g}) · cross-entropy · batch {config.batch_size}",
                ())
    return f"{recipe.describe()} of {where}", recipe.ignored


def _output_file(out_dir: Path | None, index: int, status: str,
                 script: str | None = None) -> str | None:
    if out_dir is None or status not in ("finished", "cancelled"):  # Ctrl-C writes what it found
        return None
    path = out_dir / variant_file_name(index, script)
    return str(path) if path.is_file() else None


def _empty_stats() -> RunStats:
    return RunStats(0.0, 0, 0.0, None, None, None, None)
