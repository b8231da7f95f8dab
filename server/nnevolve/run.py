"""One evolution run, from a model file to its Pareto variants (used by the CLI and the LSP).

The pipeline: the seed network is statically checked (repaired to the dataset's shape if
needed) and evaluated as the run's base; the search breeds statically checked children and
evaluates them through the cache and the worker pool; every step is written to the run store
as it happens; at the end the Pareto front is marked and the output files are written. The
user's file is never modified.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnevolve.analysis import analyze
from nnevolve.config import EvolveConfig
from nnevolve.datasets import DatasetError
from nnevolve.evaluation import Budget, EvaluationPool
from nnevolve.evaluation.backend import open_backend
from nnevolve.evaluation.device import DeviceError
from nnevolve.evaluation.pool import WorkerStartError
from nnevolve.gene_pool import GenePool, default_gene_pool
from nnevolve.genome import GenomeError, source_hash
from nnevolve.genome.model_spec import ModelSpec, in_package, package_of, resolve_model
from nnevolve.output_folder import free_out_dir, mark_out_dir
from nnevolve.recipe import read_recipe
from nnevolve.outputs import (
    pareto_entry,
    variant_file_name,
    write_pareto_json,
    write_pareto_plot,
    write_variant_files,
)
from nnevolve.repair import StaticChecker
from nnevolve.results import RunProgress, RunResult, RunStats, build_result
from nnevolve.search import (
    ALGORITHMS,
    Breeder,
    Candidate,
    Evaluator,
    RunCancelled,
    SearchContext,
    SearchCounts,
)
from nnevolve.search.candidate import edit_dicts
from nnevolve.search.confirmation import (REFILL_ROUNDS, SeedJob, hidden_by_the_fallen,
                                          offered_front, pin_down, pinned, train_seeds,
                                          withheld_reasons)
from nnevolve.search.evaluator import PoolFailure
from nnevolve.search.noise import CALIBRATION_SEEDS, Noise, calibrate
from nnevolve.search.screening import screening_fraction, screening_key
from nnevolve.search.time_budget import TimeBudget
from nnevolve.store import Evaluation, RunStore, StoreError, Variant
from nnevolve.variant_files import TRAIN, files_changes, variant_files


class RunError(ValueError):
    """The run cannot start: no model, a bad dataset, an unknown run id (one-line message)."""


ProgressHook = Callable[[RunProgress], None]


def run_evolution(
    config: EvolveConfig,
    file: Path | str | None,
    *,
    model: str | None = None,
    store: RunStore,
    progress: ProgressHook | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume_run: str | None = None,
) -> RunResult:
    """Evolve the model class of `file` (or continue the run `resume_run`).

    Raises RunError when the run cannot start. Once started, a cancel (`should_stop`,
    KeyboardInterrupt) ends it as `cancelled` and a failure as `failed`, with everything
    evaluated kept in `store`.
    """
    setup = _resume(config, store, resume_run) if resume_run else _new(config, file, model)
    session = _Session(setup, store, progress or (lambda _: None), should_stop or (lambda: False))
    return session.run()


@dataclass
class _Setup:
    config: EvolveConfig
    file: str
    class_name: str
    base_source: str
    run_id: str | None = None  # set when resuming
    # the project's training script (train_file) and its text as the run started ("": none)
    train_file: str | None = None
    train_source: str = ""


def _new(config: EvolveConfig, file: Path | str | None, model: str | None) -> _Setup:
    if file is None:
        raise RunError("no model file given")
    path = Path(file).resolve()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        spec = resolve_model(source, model)
    except GenomeError as exc:
        raise RunError(f"{file}: {exc}") from exc
    train_path = config.train_path
    return _Setup(config, str(path), spec.expression, source,
                  train_file=str(train_path.resolve()) if train_path is not None else None,
                  train_source=_train_source(config))


def _resume(config: EvolveConfig, store: RunStore, run_id: str) -> _Setup:
    try:
        run_id = store.resolve_run_id(run_id)
    except StoreError as exc:
        raise RunError(str(exc)) from exc
    record = store.get_run(run_id)
    assert record is not None
    if record.status == "finished":
        raise RunError(f"run {run_id} has already finished")
    stored = EvolveConfig.from_json(record.config)
    # the machine may differ from the one that started the run: take this one's workers, and
    # the cluster it names (a cluster's address may change between sessions)
    resumed = stored.with_overrides({"workers": config.workers, "cluster": config.cluster})
    if record.train_source is not None:  # the script as the run started, as for the model
        return _Setup(resumed, record.file, record.class_name, record.base_source, run_id,
                      train_file=record.train_file, train_source=record.train_source)
    # a run stored before runs kept their script: it is read again (the budget key checks it)
    train_path = resumed.train_path
    return _Setup(resumed, record.file, record.class_name, record.base_source, run_id,
                  train_file=str(train_path.resolve()) if train_path is not None else None,
                  train_source=_train_source(resumed))


class _Session:
    """One invocation of a run: starts the workers, searches, finishes, cleans up."""

    def __init__(self, setup: _Setup, store: RunStore, progress: ProgressHook,
                 should_stop: Callable[[], bool]) -> None:
        self.setup, self.config, self.store = setup, setup.config, store
        self.progress, self.should_stop = progress, should_stop
        self.counts = SearchCounts()
        self.run_id = setup.run_id or ""
        self.generation = 0
        self.best_accuracy: float | None = None
        self.smallest_params: int | None = None
        self.started = time.monotonic()
        # the wall-clock budget of the search (it starts once the base network is measured)
        self.time_budget = (TimeBudget(setup.config.time)
                            if setup.config.time is not None else None)
        self.workers = setup.config.workers  # evaluations at once: the pool's size once it runs
        self.noise: Noise | None = None  # measured on the base network before the search
        self.screening = 0.0  # share of the budget children are screened with (0: off)
        self.confirming = False  # the confirmation pass has begun: the front is on its means
        self.phase, self.message = "starting", ""  # the last progress report's

    def run(self) -> RunResult:
        config = self.config
        budget = Budget(epochs=config.epochs, max_train_seconds=config.max_train_seconds,
                        batch_size=config.batch_size, lr=config.lr,
                        time_limit_s=config.time_limit_s, memory_mb=config.memory_mb,
                        amp=config.amp, train_source=self.setup.train_source,
                        latency_precise="latency" in config.objectives)
        try:
            # workers start in the background: the seed is checked meanwhile, so a model that
            # cannot be built is reported without waiting for them
            pool = open_backend(config, budget)
        except (DatasetError, DeviceError, WorkerStartError) as exc:
            raise RunError(str(exc)) from exc
        budget = pool.budget  # with the device the workers train on: part of the cache key
        self.workers = pool.size  # per GPU or on a cluster, not `workers`
        checker: StaticChecker | None = None
        try:
            if self.setup.run_id is None:
                # the network sizes its own output through its class-count parameter
                self.setup.class_name = resolve_model(
                    self.setup.base_source, self.setup.class_name).with_classes(
                        pool.num_classes).expression
            self._open_run(pool, budget)
            self._report("starting", f"starting {self.workers} workers")
            checker = StaticChecker(pool.input_shape, pool.num_classes)
            status, error = self._search(pool, checker)
        except KeyboardInterrupt:
            if not self.run_id:
                raise
            status, error = "cancelled", None  # interrupted while starting: still resumable
        finally:
            pool.close()
            if checker is not None:
                checker.close()
            if self.run_id:  # what it claimed but did not train, another run may train now
                self.store.release_claims(self.run_id)
        return self._finish(status, error)

    # -- setup ------------------------------------------------------------------------------

    def _evolve_training(self) -> bool:
        """Whether the recipe lines are sites: the setting, else whenever the model file or the
        training script writes one."""
        if self.config.evolve_training is not None:
            return self.config.evolve_training
        return any(not read_recipe(text).empty
                   for text in (self.setup.base_source, self.setup.train_source) if text)

    @property
    def engine_model(self) -> str:
        """The model expression the workers build: a file inside a package runs as a member
        of it (its relative imports work)."""
        return in_package(self.setup.class_name, package_of(Path(self.setup.file)))

    def _open_run(self, pool: EvaluationPool, budget: Budget) -> None:
        setup = self.setup
        if setup.run_id is None:
            self.run_id = self.store.create_run(
                file=setup.file, class_name=setup.class_name, base_source=setup.base_source,
                base_hash=source_hash(setup.base_source), config=self.config.to_json(),
                dataset_fingerprint=pool.fingerprint, budget_key=budget.key(),
                train_seed=self.config.seed, confirm_seeds=self.config.confirm_seeds,
                train_file=setup.train_file,
                train_source=setup.train_source if setup.train_file else None,
            )
            self.store.set_out_dir(self.run_id, str(self.config.out_dir(self.run_id)))
            return
        record = self.store.get_run(self.run_id)
        assert record is not None
        if (record.dataset_fingerprint, record.budget_key) != (pool.fingerprint, budget.key()):
            raise RunError(f"run {self.run_id} cannot be resumed: its dataset or budget changed")
        self.store.restart_run(self.run_id)

    def _search(self, pool: EvaluationPool, checker: StaticChecker) -> tuple[str, str | None]:
        config, setup = self.config, self.setup
        record = self.store.get_run(self.run_id)
        assert record is not None
        self.generation = record.generation  # a resumed run goes on from its checkpoint
        evaluator = Evaluator(
            store=self.store, run_id=self.run_id, pool=pool,
            dataset_fingerprint=record.dataset_fingerprint, budget_key=record.budget_key,
            with_test=pool.has_test, counts=self.counts, should_stop=self.should_stop,
            on_result=self._on_result, train_seed=record.train_seed,
            time_budget=self.time_budget, objectives=config.objectives,
        )
        genes: GenePool | None = None  # its SQLite connection is closed when the search ends
        try:
            genes = default_gene_pool(Path(setup.file), config.store_path.parent,
                                      config.zoo_packages)
            breeder = Breeder(
                store=self.store, run_id=self.run_id, class_name=self.engine_model,
                pool=genes,
                checker=checker, rng=random.Random(f"{config.seed}:{record.generation}"),
                counts=self.counts, should_stop=self.should_stop,
                # training starts the moment a child passes the check, while others are bred
                on_accept=lambda child: evaluator.start(child, breeder.generation),
                time_budget=self.time_budget,
                evolve_training=self._evolve_training(),
                train_file=Path(setup.train_file).name if setup.train_file else "",
                train_source=setup.train_source,
            )
            seed = self._seed(breeder, evaluator, pool)
            self._decide_screening(evaluator, seed, record.screening)
            resumed = self._resumed(breeder, evaluator)
            context = SearchContext(
                config=config, store=self.store, run_id=self.run_id, breeder=breeder,
                evaluator=evaluator, seed=seed, resumed=resumed,
                start_generation=record.generation, should_stop=self.should_stop,
                on_generation=self._on_generation, noise=self.noise,
                time_budget=self.time_budget,
            )
            if self.time_budget is not None:
                self.time_budget.start()
            self._report("search", "searching")
            ALGORITHMS[config.algorithm](context)
            barren = self._no_variants_reason(breeder, seed)
            if barren is not None:
                return "failed", barren
            if record.confirm_seeds > 0:
                self._confirm(pool)
        except (RunCancelled, KeyboardInterrupt):
            return "cancelled", None
        except _SeedRejected as exc:
            return "failed", str(exc)
        except PoolFailure as exc:
            return "failed", f"the evaluation workers failed: {exc}"
        except Exception as exc:  # noqa: BLE001 - any other failure ends this run, not the caller
            if self.should_stop():
                return "cancelled", None  # e.g. the static checker killed along with the run
            return "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if genes is not None:
                genes.close()
        return "finished", None

    def _no_variants_reason(self, breeder: Breeder, seed: Candidate) -> str | None:
        """Why a run that bred no trainable variant found none (None when it found some)."""
        variants = [v for v in self.store.variants(self.run_id) if not v.is_base]
        if any(v.status != "rejected" for v in variants):
            return None
        model = self.setup.class_name
        if variants:
            reasons = Counter(v.reason or "rejected" for v in variants).most_common(3)
            said = "; ".join(f"{reason} ({n}×)" for reason, n in reasons)
            return (f"every one of the {len(variants)} variants bred from {model} was rejected "
                    f"by the static check; most common reasons: {said}")
        genome = breeder.genome(seed)
        if genome is None:
            return f"{model} could not be read as a genome, so nothing could be edited"
        looked = ", ".join(genome.owners) or genome.class_name
        live, entries = genome.live_sites(), genome.config[0]
        if not live and not entries:
            return (f"{model} has no editable site: the code it runs ({looked}) builds no layer "
                    "line and reads no configuration entry of this file (layers made by library "
                    "code, such as torchvision's own classes, cannot be edited here)")
        return (f"no edit of {model} could be made: the operators found no legal change among "
                f"{len(live)} layer lines and {len(entries)} configuration entries of {looked}")

    def _seed(self, breeder: Breeder, evaluator: Evaluator, pool: EvaluationPool) -> Candidate:
        """The user's network, checked against the dataset and evaluated (the run's base)
        with CALIBRATION_SEEDS seeds: their spread is the run's noise. A base that does not
        beat chance by three times it stops the run."""
        setup = self.setup
        stored = self.store.base_variant(self.run_id)
        if stored is not None and stored.evaluation is not None:
            seed = _candidate(stored, self.engine_model)
            checked = breeder.check_source(stored.source)  # its liveness decides the sites
            seed.liveness = checked.liveness if checked.ok else None
            self._track(seed)
        else:
            result = breeder.check_source(setup.base_source)
            if not result.ok:
                raise _SeedRejected(
                    f"{setup.class_name} cannot be built for dataset '{self.config.dataset}': "
                    f"{result.reason}")
            seed = Candidate(source=result.source, source_hash=source_hash(result.source),
                             class_name=self.engine_model, edits=edit_dicts(result.fixes),
                             checked=True, liveness=result.liveness)
            self._report("seed", f"evaluating {setup.class_name} as it is")
            evaluator.start(seed, 0, is_base=True)  # trains beside the calibration seeds
        breeder.remember(seed)
        breeder.seen.add(source_hash(setup.base_source))
        self._report("calibrating", f"training {setup.class_name} with {CALIBRATION_SEEDS} "
                                    "seeds to measure the noise")
        extra = self._more_seeds([(seed, CALIBRATION_SEEDS - 1)], pool)
        evaluator.evaluate([seed], 0, is_base=True)
        metrics = seed.metrics
        assert metrics is not None  # evaluate() returns once each candidate has its evaluation
        if metrics.status != "ok":
            raise _SeedRejected(f"{setup.class_name} failed to train: {metrics.reason}")
        measured = [metrics, *(e for e in extra.values() if e.status == "ok")]
        self.noise = calibrate(measured, pool.num_classes)
        self.store.set_calibration(self.run_id, self.noise.to_json())
        if self.noise.base_accuracy < self.noise.chance_threshold:
            raise _SeedRejected(_at_chance(setup.class_name, self.config, self.noise,
                                           metrics.train_seconds))
        return seed

    def _decide_screening(self, evaluator: Evaluator, seed: Candidate,
                          decided: float | None) -> None:
        """Whether children are screened (a run decides once: a resumed run keeps it)."""
        if decided is None:
            assert seed.metrics is not None
            measured = seed.metrics  # the CPU time where known: the load does not change it
            decided = screening_fraction(self.config.screening, measured.train_seconds
                                         if measured.train_cpu_seconds is None
                                         else measured.train_cpu_seconds)
            self.store.set_screening(self.run_id, decided)
        evaluator.screening = self.screening = decided

    def _more_seeds(self, wanted: list[tuple[Candidate, int]], pool: EvaluationPool,
                    should_stop: Callable[[], bool] | None = None,
                    ) -> dict[tuple[str, int], Evaluation]:
        """Train each candidate with the `count` seeds after the run's (cached ones are free);
        RunCancelled when `should_stop` (by default the run's cancel) says so."""
        record = self.store.get_run(self.run_id)
        assert record is not None
        first = record.train_seed + 1
        jobs = [SeedJob(c.source, c.source_hash, self.engine_model, s, c.train_source)
                for c, count in wanted for s in range(first, first + count)]

        def progress(done: int, total: int) -> None:
            if self.confirming:
                self._report("confirming", f"confirming the front: {done}/{total} re-trainings")

        return train_seeds(jobs, store=self.store, pool=pool, run=record,
                           with_test=pool.has_test,
                           should_stop=should_stop or self.should_stop, on_result=progress)

    def _confirm(self, pool: EvaluationPool) -> None:
        """Train the search's front and the base with the run's confirmation seeds, and the
        variants of the confirmed front whose mean is not pinned down with more; from here on
        the front is decided on the means (a cancel offers what is confirmed so far)."""
        record = self.store.get_run(self.run_id)
        assert record is not None
        variants = self.store.variants(self.run_id)
        front = offered_front(variants, self.config.objectives, self.noise, confirmed=False)
        base = [v for v in variants if v.is_base]
        # the base first (mostly cached by the calibration), then the most accurate: a variant
        # is confirmed once all its seeds are in, so the pass confirms them one after another
        ranked = base + sorted((v for v in front if not v.is_base),
                               key=lambda v: -(v.evaluation.accuracy or 0.0))  # type: ignore[union-attr]
        time_budget = self.time_budget
        if time_budget is not None and time_budget.past_grace():
            return  # no time left to confirm: the front stands on the search's figures
        self.confirming = True
        stop = lambda: self.should_stop() or (  # noqa: E731
            time_budget is not None and time_budget.past_grace())
        try:
            tried: set[int] = set()
            for _ in range(REFILL_ROUNDS + 1):
                self._more_seeds([(_candidate(v, self.engine_model), record.confirm_seeds)
                                  for v in ranked], pool, should_stop=stop)
                pin_down(lambda: self.store.variants(self.run_id), self.config.objectives,
                         self.noise, lambda wanted: self._more_seeds(
                             [(_candidate(v, self.engine_model), n) for v, n in wanted], pool,
                             should_stop=stop))
                # a variant whose mean fell leaves a gap: what it hid is confirmed next
                tried.update(v.id for v in ranked)
                ranked = hidden_by_the_fallen(self.store.variants(self.run_id),
                                              self.config.objectives, self.noise, tried=tried)
                if not ranked:
                    break
        except RunCancelled:
            if self.should_stop():
                raise
            # the time budget's grace ended it: the front is what was pinned down, or, when
            # no variant was (a cut confirmation proves no swing), the search's figures
            self.confirming = any(pinned(v, self.noise) for v in self.store.variants(
                self.run_id) if not v.is_base)

    def _resumed(self, breeder: Breeder, evaluator: Evaluator) -> list[Candidate]:
        """Variants an earlier session of this run evaluated; remembered so none is redone.

        The variants it left pending (in training when it was killed) are settled first:
        from the cache when their result got there, else trained now.
        """
        resumed, pending, screenings = [], [], []
        record = self.store.get_run(self.run_id)
        assert record is not None
        for variant in self.store.variants(self.run_id):
            if variant.is_base:
                continue
            if variant.fidelity < 1 or variant.promoted:  # its screening was decided on
                screening = self.store.cached_evaluation(
                    variant.source_hash, record.dataset_fingerprint,
                    screening_key(record.budget_key, self.screening), record.train_seed)
                if screening is not None:
                    screenings.append(screening)
            if variant.status == "rejected":
                breeder.remember_rejected(variant.source_hash)
            elif variant.status == "screened":
                breeder.remember(_candidate(variant, self.engine_model))
            elif variant.status == "pending":
                pending.append(dataclasses.replace(_candidate(variant, self.engine_model),
                                                   metrics=None))
            elif variant.evaluation is not None:
                candidate = _candidate(variant, self.engine_model)
                breeder.remember(candidate)
                self._track(candidate)
                resumed.append(candidate)
        evaluator.resume_rung(screenings)  # competitors of the screenings still to decide
        for candidate in pending:
            evaluator.start(candidate, 0)  # its row, and generation, stay as they were
        evaluator.evaluate([], 0)  # waits for them
        for candidate in pending:
            breeder.remember(candidate)
            if candidate.evaluated:  # not screened out
                resumed.append(candidate)
        return resumed

    # -- progress ---------------------------------------------------------------------------

    def _on_result(self, candidate: Candidate) -> None:
        self._track(candidate)
        # the base's result arrives while it is calibrated: the phase stays what it is
        self._report(self.phase, "" if self.phase == "search" else self.message)

    def _on_generation(self, generation: int) -> None:
        self.generation = generation + 1
        self._report("search", f"generation {generation} done")

    def _track(self, candidate: Candidate) -> None:
        metrics = candidate.metrics
        if metrics is None or metrics.status != "ok":
            return
        if self.best_accuracy is None or (metrics.accuracy or 0) > self.best_accuracy:
            self.best_accuracy = metrics.accuracy
        if self.smallest_params is None or (metrics.params or 0) < self.smallest_params:
            self.smallest_params = metrics.params

    def _track_shown(self, variants: list[Variant]) -> None:
        """The last report's best figures are those of what the run offers (confirmed means)."""
        shown = [v.figures for v in variants if v.figures is not None and v.figures.status == "ok"]
        if shown:
            self.best_accuracy = max(float(f.accuracy or 0.0) for f in shown)
            self.smallest_params = min(int(f.params or 0) for f in shown)

    def _report(self, phase: str, message: str) -> None:
        self.phase, self.message = phase, message
        config = self.config
        counts = self.store.counts(self.run_id)
        budget = config.evaluation_budget
        by_budget = counts.spent(self.screening) / budget if budget else 0.0
        generations: int | None = config.generations
        seconds_left: float | None = None
        if self.time_budget is not None:  # the time, not the generations, ends the search
            generation, generations = self.generation, None
            by_schedule = self.time_budget.share_used()
            seconds_left = round(max(0.0, self.time_budget.left()), 1)
        elif self.screening > 0:  # the budget, not the generations, ends a screened search
            generation, generations, by_schedule = self.generation, None, 0.0
        else:
            generation = min(self.generation, config.generations)
            by_schedule = min(self.generation, config.generations + 1) / (config.generations + 1)
        percent = 100.0 if phase == "done" else min(99.0, 100.0 * max(by_schedule, by_budget))
        self.progress(RunProgress(
            run_id=self.run_id, phase=phase, generation=generation, generations=generations,
            evaluated=counts.evaluated, cached=counts.cached, rejected=counts.rejected,
            failed=counts.failed, budget=budget, best_accuracy=self.best_accuracy,
            smallest_params=self.smallest_params, percent=round(percent, 1), message=message,
            seconds_left=seconds_left, screened=counts.screened, promoted=counts.promoted,
        ))

    # -- the end ----------------------------------------------------------------------------

    def _finish(self, status: str, error: str | None) -> RunResult:
        wall = time.monotonic() - self.started
        variants = [v for v in self.store.variants(self.run_id) if v.evaluation is not None]
        # decided on the confirmed means once the confirmation began; never at chance level
        front = offered_front(variants, self.config.objectives, self.noise,
                              confirmed=self.confirming)
        self.store.set_pareto(self.run_id, [v.id for v in front])
        self.store.set_withheld(self.run_id, withheld_reasons(
            variants, self.config.objectives, self.noise) if self.confirming else {})
        self._track_shown(front + [v for v in variants if v.is_base])
        if status == "finished":
            self._report("finishing", "writing the variants")
            try:
                write_outputs(self.store, self.run_id)
            except OSError as exc:
                status, error = "failed", f"cannot write the results: {exc}"
        self.store.set_run_status(self.run_id, status, error)
        result = build_result(self.store, self.run_id, stats=self._stats(wall))
        self._report("done", error or status)
        return result


    def _stats(self, wall: float) -> RunStats:
        c = self.counts
        checked = c.accepted + c.rejected
        return RunStats(
            wall_seconds=round(wall, 2), trained=c.trained,
            evals_per_minute=round(60.0 * c.trained / wall, 2) if wall > 0 else 0.0,
            overhead_share=_ratio(c.eval_seconds - c.train_seconds, c.eval_seconds),
            utilisation=_ratio(c.eval_seconds, wall * self.workers),
            static_rejection_rate=_ratio(c.rejected, checked),
            valid_rate=_ratio(c.trained_ok, c.trained),
        )


def write_outputs(store: RunStore, run_id: str) -> Path:
    """The run's output folder: its Pareto variants as files, pareto.json and pareto.png.

    Written for a finished run, and for a run cancelled from the terminal (what it found);
    raises OSError when the folder cannot be written.
    """
    record = store.get_run(run_id)
    assert record is not None and record.out_dir is not None
    out_dir = free_out_dir(Path(record.out_dir), run_id)
    if str(out_dir) != record.out_dir:  # the folder holds other outputs: the run says where
        store.set_out_dir(run_id, str(out_dir))
    mark_out_dir(out_dir, run_id)
    front = [v for v in store.pareto(run_id) if not v.is_base]
    files = [variant_files(record, v) for v in front]
    write_variant_files(out_dir, files)
    base_analysis = analyze(record.base_source)  # one base, many variants
    try:
        spec = resolve_model(record.base_source, record.class_name, check_arguments=False)
    except GenomeError:  # a stored run of an older file: the name is all there is
        spec = ModelSpec(record.class_name, record.class_name, record.class_name, False)
    write_pareto_json(out_dir, [
        pareto_entry(variant_file_name(i), spec.class_name, v.figures,
                     files_changes(f, base_analysis=base_analysis),
                     v.edits, cancelled=record.status == "cancelled",
                     model=spec.expression, kwargs=spec.keywords,
                     train_file=next((variant_file_name(i, t.name) for t in f
                                      if t.role == TRAIN), None))
        for i, (v, f) in enumerate(zip(front, files), start=1) if v.figures is not None
    ])
    base = store.base_variant(run_id)
    front_ids = {v.id for v in front}
    cancelled = " (cancelled run)" if record.status == "cancelled" else ""
    write_pareto_plot(
        out_dir,
        front=[v.figures for v in front if v.figures is not None],
        others=[v.evaluation for v in store.variants(run_id) if v.evaluation is not None
                and v.evaluation.status == "ok" and v.id not in front_ids and not v.is_base],
        base=base.figures if base is not None else None,
        title=f"{record.class_name} on {record.config.get('dataset', '?')}{cancelled}",
    )
    return out_dir


class _SeedRejected(Exception):
    """The user's network cannot be built or trained on the dataset."""


def _at_chance(class_name: str, config: EvolveConfig, noise: Noise, train_seconds: float) -> str:
    """Why a base at chance level stops the run, and which budget settings to raise."""
    found = (f"{class_name} does not beat chance on {config.dataset}: "
             f"{100 * noise.base_accuracy:.1f}% ± {100 * noise.accuracy:.1f} over {noise.seeds} "
             f"seeds, where guessing gives {100 * noise.chance:.1f}% and comparing variants "
             f"needs at least {100 * noise.chance_threshold:.1f}%")
    if train_seconds >= 0.95 * config.max_train_seconds:
        advice = (f"training stopped at max_train_seconds ({config.max_train_seconds:g} s) "
                  f"before its {config.epochs} epoch(s) ended: raise max_train_seconds, and "
                  f"time_limit_s (now {config.time_limit_s:g} s) above it, or epochs")
    else:
        advice = (f"raise epochs (now {config.epochs}); if training then reaches "
                  f"max_train_seconds ({config.max_train_seconds:g} s) or time_limit_s "
                  f"({config.time_limit_s:g} s), raise those too")
    return (f"{found}. The training budget is too small to tell variants apart: {advice} "
            "([tool.nnevolve] in pyproject.toml, or --epochs on the command line)")


def _train_source(config: EvolveConfig) -> str:
    """The text of the project's training script (``train_file``), "" when there is none."""
    path = config.train_path
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read the training script {path}: "
                       f"{getattr(exc, 'strerror', None) or exc}") from exc


def _candidate(variant: Variant, class_name: str) -> Candidate:
    return Candidate(source=variant.source, source_hash=variant.source_hash,
                     class_name=class_name, parents=tuple(variant.parents),
                     edits=tuple(variant.edits), checked=True, variant_id=variant.id,
                     metrics=variant.evaluation, train_source=variant.train_source,
                     promoted=variant.promoted, screened_out=variant.status == "screened")


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None
