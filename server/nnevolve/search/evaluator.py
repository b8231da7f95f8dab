"""Metrics for candidates: from the evaluation cache when known, else trained by the pool.

A source is trained at most once per (dataset, budget) — in this run or any earlier one, except
that a run retries what timed out in an earlier one — and every result is written to the run
store the moment it arrives.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nnevolve.evaluation.budget import is_timeout
from nnevolve.search.candidate import Candidate, SearchCounts
from nnevolve.search.screening import Rung, screening_key
from nnevolve.store import Evaluation

if TYPE_CHECKING:
    from nnevolve.evaluation import EvalResult, EvaluationPool
    from nnevolve.search.time_budget import TimeBudget
    from nnevolve.store import RunStore

_POLL_S = 0.1  # how often a waiting run checks for cancellation
OUT_OF_TIME = "stopped: the run's time budget ran out while it trained"


class RunCancelled(Exception):
    """The user stopped the run (Cancel, SIGTERM, Ctrl-C)."""


class PoolFailure(RuntimeError):
    """The worker pool stopped working (not a variant's fault)."""


class Evaluator:
    """Evaluates statically checked candidates for one run.

    `start` begins a candidate's training at once (the breeder calls it as soon as it accepts
    a child, so training overlaps breeding); `evaluate` starts what has not started and waits
    until every started evaluation is stored.
    """

    def __init__(self, *, store: RunStore, run_id: str, pool: EvaluationPool,
                 dataset_fingerprint: str, budget_key: str, with_test: bool,
                 counts: SearchCounts, should_stop: Callable[[], bool],
                 on_result: Callable[[Candidate], None], train_seed: int = 0,
                 time_budget: TimeBudget | None = None,
                 objectives: Sequence[str] = ("error", "params", "latency")) -> None:
        self.store, self.run_id, self.pool = store, run_id, pool
        self.time_budget = time_budget  # past its grace, what still trains is cut
        self.key = (dataset_fingerprint, budget_key)
        self.train_seed = train_seed  # every candidate of the search trains with it
        self.with_test, self.counts = with_test, counts
        self.should_stop, self.on_result = should_stop, on_result
        # by source hash: the training job, every candidate waiting for it, and the share of
        # the budget it trains with (< 1: a screening)
        self._in_flight: dict[str, tuple[cf.Future[EvalResult], list[Candidate], float]] = {}
        self.screening = 0.0  # share of the budget children are screened with; 0: off
        self.rung = Rung(objectives)
        # screened children (with their repeats) awaiting their promotion, oldest first
        self._undecided: deque[list[Candidate]] = deque()
        # by source hash: candidates whose source another run (sharing the store) is training
        self._elsewhere: dict[str, list[tuple[Candidate, bool]]] = {}

    def start(self, candidate: Candidate, generation: int, *, is_base: bool = False) -> None:
        """Record a checked candidate and start its training (or take its cached result).

        With screening on, a child of the search first trains on the screening share of the
        budget; the full training starts if its screening promotes it.
        """
        if not candidate.checked:
            raise ValueError("only statically checked candidates may be trained")
        if candidate.settled or (candidate.screening is not None and not candidate.promoted):
            return  # done, or its screening waits for its promotion decision
        waiting = self._in_flight.get(candidate.source_hash)
        if waiting is not None:
            if not any(c is candidate for c in waiting[1]):
                self._record(candidate, generation, is_base)
                waiting[1].append(candidate)  # the same source trains once
            return
        elsewhere = self._elsewhere.get(candidate.source_hash)
        if elsewhere is not None:
            if not any(c is candidate for c, _ in elsewhere):
                self._record(candidate, generation, is_base)
                elsewhere.append((candidate, is_base))
            return
        self._record(candidate, generation, is_base)
        cached = self.store.cached_evaluation(candidate.source_hash, *self.key, self.train_seed)
        # a timeout depends on the load at the time: a later run tries the variant again
        if cached is not None and not is_timeout(cached.reason):
            self._use_cached(candidate, cached, is_base)
            return
        if self.screening > 0 and not is_base and not candidate.promoted:
            self._screen(candidate)
            return
        self._train_full([candidate], is_base)

    def _train_full(self, candidates: list[Candidate], is_base: bool) -> None:
        digest = candidates[0].source_hash
        if not self.store.claim(self._claim_key(digest), self.run_id):
            # another run trains it: its result comes through the cache
            self._elsewhere[digest] = [(c, is_base) for c in candidates]
            return
        self._submit(digest, candidates)

    def _screen(self, candidate: Candidate) -> None:
        """Train it on the screening share of the budget (or take that result from the
        cache); its promotion is decided in the order the children came."""
        group = [candidate]
        self._undecided.append(group)
        cached = self.store.cached_evaluation(candidate.source_hash, *self._screening_key(),
                                              self.train_seed)
        if cached is not None and not is_timeout(cached.reason):
            candidate.screening = cached
            self._decide()
            return
        self._submit(candidate.source_hash, group, self.screening)

    def _screening_key(self) -> tuple[str, str]:
        return self.key[0], screening_key(self.key[1], self.screening)

    def _decide(self) -> None:
        """Promote or screen out the screened children, oldest first, as far as their
        screenings are in."""
        while self._undecided and self._undecided[0][0].screening is not None:
            group = self._undecided.popleft()
            screening = group[0].screening
            assert screening is not None
            if self.rung.promote(screening):
                self.counts.promoted += 1
                for candidate in group:
                    candidate.promoted = True
                    assert candidate.variant_id is not None
                    self.store.set_promoted(candidate.variant_id)
                self._train_full(group, is_base=False)
                continue
            for candidate in group:
                self._screen_out(candidate, screening.reason)

    def _screen_out(self, candidate: Candidate, reason: str | None) -> None:
        assert candidate.variant_id is not None
        self.store.set_variant_status(candidate.variant_id, "screened", reason=reason,
                                      fidelity=self.screening)
        candidate.screened_out = True

    def resume_rung(self, screenings: list[Evaluation]) -> None:
        """The screenings an earlier session of the run decided on: competitors again."""
        for screening in screenings:
            self.rung.add(screening)

    def _submit(self, digest: str, candidates: list[Candidate], fraction: float = 1.0) -> None:
        first = candidates[0]
        if fraction < 1.0:  # a screening: a share of the steps, no test split
            future = self.pool.submit(first.source, first.class_name, with_test=False,
                                      seed=self.train_seed, train_source=first.train_source,
                                      fraction=fraction)
        else:
            future = self.pool.submit(first.source, first.class_name, with_test=self.with_test,
                                      seed=self.train_seed, train_source=first.train_source)
        self._in_flight[digest] = (future, candidates, fraction)

    def _claim_key(self, digest: str) -> str:
        """The evaluation's cache key as one string: what concurrent runs claim."""
        return "|".join((digest, *self.key, str(self.train_seed)))

    def evaluate(self, candidates: list[Candidate], generation: int, *,
                 is_base: bool = False) -> None:
        """Set `metrics` on every candidate; raises RunCancelled when the run is stopped."""
        for candidate in candidates:
            self.start(candidate, generation, is_base=is_base)
        self._collect()

    def _record(self, candidate: Candidate, generation: int, is_base: bool) -> None:
        candidate.variant_id = self.store.add_variant(
            self.run_id, source=candidate.source, source_hash=candidate.source_hash,
            parents=candidate.parents, edits=candidate.edits, generation=generation,
            is_base=is_base, train_source=candidate.train_source,
        )

    def _use_cached(self, candidate: Candidate, cached: Evaluation, is_base: bool) -> None:
        assert candidate.variant_id is not None
        stored = self.store.get_variant(candidate.variant_id)
        # a variant this run already evaluated keeps its row as it was
        if stored is None or stored.status == "pending":
            status = "evaluated" if cached.status == "ok" else "failed"
            self.store.set_variant_status(candidate.variant_id, status, reason=cached.reason,
                                          cached=True)
        if not is_base:
            self.counts.cached += 1
        candidate.metrics = cached
        self.on_result(candidate)

    def _collect(self) -> None:
        """Wait for every training in flight (here or in another run) and store each result
        as it arrives; a stop or a failure gives up this run's claims."""
        try:
            self._collect_all()
        except BaseException:
            self.store.release_claims(self.run_id)
            raise

    def _collect_all(self) -> None:
        while self._in_flight or self._elsewhere:
            futures = {future: digest for digest, (future, *_) in self._in_flight.items()}
            if futures:
                done, _ = cf.wait(futures, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
            else:
                done = set()
                time.sleep(_POLL_S)
            self._take_from_elsewhere()
            if self.time_budget is not None and self.time_budget.past_grace():
                self._cut_in_flight()
                return
            stopping = self.should_stop()
            for future in done:
                _, (first, *repeats), fraction = self._in_flight.pop(futures[future])
                result = future.result()  # the pool reports failures as results, never raises
                if stopping and result.status != "ok":
                    continue  # a worker killed by the stop is not the variant's fault
                if result.pool_failure:  # the pool, not the variant: never cached, ends the run
                    raise PoolFailure(result.reason)
                if fraction < 1.0:
                    self._store_screening([first, *repeats], result)
                    continue
                self._store_result(first, result)
                self.store.release_claims(self.run_id, self._claim_key(first.source_hash))
                for repeat in repeats:
                    assert first.metrics is not None
                    self._use_cached(repeat, first.metrics, is_base=False)
            if stopping:
                raise RunCancelled()
        self._decide()
        assert not self._undecided, "a screened child was left without a decision"

    def _store_screening(self, group: list[Candidate], result: EvalResult) -> None:
        candidate = group[0]
        evaluation = as_evaluation(result)
        self.store.put_evaluation(candidate.source_hash, *self._screening_key(), evaluation,
                                  self.train_seed)
        for screened in group:
            screened.screening = evaluation
        self.counts.screened += 1
        self.counts.train_seconds += evaluation.train_seconds
        self.counts.eval_seconds += evaluation.total_seconds
        self._decide()
        self.on_result(candidate)

    def _cut_in_flight(self) -> None:
        """The time budget's grace is over: what still trains (here or in another run) fails
        with OUT_OF_TIME, uncached (the pool's close stops it)."""
        waiting = [c for _, candidates, _ in self._in_flight.values() for c in candidates]
        waiting += [c for candidates in self._elsewhere.values() for c, _ in candidates]
        for future, *_ in self._in_flight.values():
            future.cancel()  # a job still queued never starts
        self._in_flight.clear()
        self._elsewhere.clear()
        self.store.release_claims(self.run_id)
        while self._undecided:  # no time for their full budget
            for candidate in self._undecided.popleft():
                self._screen_out(candidate, OUT_OF_TIME)
        for candidate in waiting:
            if candidate.screened_out:
                continue
            assert candidate.variant_id is not None
            self.store.set_variant_status(candidate.variant_id, "failed", reason=OUT_OF_TIME)
            candidate.metrics = Evaluation(status="failed", reason=OUT_OF_TIME)
            self.counts.failed += 1

    def _take_from_elsewhere(self) -> None:
        """Use another run's result once it is cached; train it here if that run gave up."""
        for digest, waiting in list(self._elsewhere.items()):
            cached = self.store.cached_evaluation(digest, *self.key, self.train_seed)
            if cached is not None and not is_timeout(cached.reason):
                del self._elsewhere[digest]
                for candidate, is_base in waiting:
                    self._use_cached(candidate, cached, is_base)
            elif self.store.claim(self._claim_key(digest), self.run_id):  # its owner is gone
                del self._elsewhere[digest]
                self._submit(digest, [candidate for candidate, _ in waiting])

    def _store_result(self, candidate: Candidate, result: EvalResult) -> None:
        assert candidate.variant_id is not None
        evaluation = as_evaluation(result)
        self.store.put_evaluation(candidate.source_hash, *self.key, evaluation, self.train_seed)
        ok = evaluation.status == "ok"
        self.store.set_variant_status(candidate.variant_id, "evaluated" if ok else "failed",
                                      reason=evaluation.reason)  # with the full budget
        candidate.metrics = evaluation
        self.counts.trained += 1
        self.counts.trained_ok += int(ok)
        self.counts.failed += int(not ok)
        self.counts.train_seconds += evaluation.train_seconds
        self.counts.eval_seconds += evaluation.total_seconds
        self.on_result(candidate)


def as_evaluation(result: EvalResult) -> Evaluation:
    """What the store keeps of a pool's result."""
    return Evaluation(
        status=result.status, accuracy=result.accuracy, test_accuracy=result.test_accuracy,
        params=result.params, latency_ms=result.latency_ms, train_seconds=result.train_seconds,
        total_seconds=result.total_seconds, reason=result.reason,
        latency_spread_ms=result.latency_spread_ms, train_cpu_seconds=result.train_cpu_seconds,
    )
