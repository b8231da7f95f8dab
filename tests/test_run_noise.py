"""Numbers a user can trust: a base network at chance level stops the run with the budget
settings to raise; the front is decided on the means over the confirmation seeds, so a variant
that won the search on one lucky seed is not offered; a variant whose seeds disagree gets more
seeds until its mean is pinned down, or is withheld with the reason; differences inside the
noise are ties."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import pytest

from nnevolve.config import load_config
from nnevolve.evaluation import EvalResult
from nnevolve.results import build_result
from nnevolve.run import run_evolution
from nnevolve.search import RunCancelled, dominates, pareto_indices
from nnevolve.search.confirmation import (SeedJob, hidden_by_the_fallen, offered_front,
                                          pin_down, pinned, seeds_wanted, train_seeds,
                                          withheld_reasons)
from nnevolve.search.noise import (MEAN_HALF_WIDTH, Noise, calibrate, half_width, seed_spread,
                                   seeds_to_pin)
from nnevolve.store import Evaluation, RunStore
from run_support import SLOW_NET, make_workspace

OBJECTIVES = ("error", "params")


def ok(accuracy: float, params: int = 1000, latency_ms: float = 1.0) -> Evaluation:
    return Evaluation(status="ok", accuracy=accuracy, params=params, latency_ms=latency_ms)


NOISE = Noise(accuracy=0.02, latency_ms=0.1, chance=0.1, base_accuracy=0.80,
              base_latency_ms=1.0, seeds=3)
# a base that moves by 1 point
PIN_NOISE = Noise(accuracy=0.01, latency_ms=0.1, chance=0.1, base_accuracy=0.80,
                  base_latency_ms=1.0, seeds=3)
# a base that moves by 12 points from seed to seed
NOISY_BASE = Noise(accuracy=0.12, latency_ms=0.1, chance=0.1, base_accuracy=0.80,
                   base_latency_ms=1.0, seeds=3)


# -- calibration ----------------------------------------------------------------------------

@pytest.mark.slow
def test_a_base_at_chance_stops_the_run_and_names_the_budget_to_raise(tmp_path: Path) -> None:
    # SlowNet (sigmoids behind heavy dropout) learns nothing in one epoch at this rate
    workspace = make_workspace(tmp_path, """
dataset = "digits"
population = 4
generations = 1
epochs = 1
workers = 2
seed = 1
max_train = 600
max_val = 300
""", {"slow_net.py": SLOW_NET})
    config = load_config(workspace / "slow_net.py")
    phases: list[str] = []
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "slow_net.py", store=store,
                               progress=lambda p: phases.append(p.phase))
        run = store.get_run(result.run_id)
        variants = store.variants(result.run_id)
    assert result.status == "failed" and result.error is not None
    assert "SlowNet does not beat chance on digits" in result.error
    assert "over 3 seeds" in result.error and "guessing gives 10.0%" in result.error
    for setting in ("epochs (now 1)", "max_train_seconds", "time_limit_s"):
        assert setting in result.error
    assert "search" not in phases and "calibrating" in phases  # no search on noise
    assert [v.is_base for v in variants] == [True] and result.pareto == []
    assert run.calibration is not None and run.calibration["seeds"] == 3
    assert run.calibration["base_accuracy"] < 0.1 + 3 * run.calibration["accuracy"]


def test_calibration_measures_the_spread_with_a_floor() -> None:
    noise = calibrate([ok(0.80, latency_ms=1.0), ok(0.84, latency_ms=1.2),
                       ok(0.76, latency_ms=0.8)], num_classes=10)
    assert noise.base_accuracy == pytest.approx(0.80) and noise.accuracy == pytest.approx(0.04)
    assert noise.chance_threshold == pytest.approx(0.1 + 3 * 0.04)
    assert noise.latency_ms == pytest.approx(0.4) and noise.base_latency_ms == 1.0
    steady = calibrate([ok(0.9), ok(0.9), ok(0.9)], num_classes=2)
    assert steady.accuracy == 0.01 and steady.chance_threshold == pytest.approx(0.53)
    assert steady.latency_ms == pytest.approx(0.1)  # a tenth of the latency at least
    assert Noise.from_json(noise.to_json()) == noise


# -- the front and the noise ----------------------------------------------------------------

def test_a_difference_inside_the_noise_is_a_tie_not_a_dominance() -> None:
    objectives = ("error", "params", "latency")
    base = ok(0.80, 1000, latency_ms=1.00)
    dropout = ok(0.81, 1000, latency_ms=0.95)  # better by less than the noise on both
    assert dominates(dropout, base, objectives) and not dominates(dropout, base, objectives,
                                                                  NOISE)
    # it ties the base: the front offers the base once, not a "−5%" variant
    assert pareto_indices([base, dropout], objectives, NOISE) == [0]
    assert pareto_indices([base, dropout], objectives) == [1]
    # smaller beyond doubt (parameters are exact), as accurate and fast within the noise:
    # it dominates both, though both are nominally more accurate and faster
    smaller = ok(0.795, 500, latency_ms=1.05)
    assert pareto_indices([base, dropout, smaller], objectives, NOISE) == [2]
    # better by more than the noise: a real dominance
    assert dominates(ok(0.85, 1000, 1.0), base, objectives, NOISE)


def test_chance_level_variants_are_never_on_the_front() -> None:
    tiny_guesser = ok(0.11, params=10)  # the smallest network, at chance (threshold 0.16)
    assert pareto_indices([ok(0.8), tiny_guesser], OBJECTIVES) == [0, 1]
    assert pareto_indices([ok(0.8), tiny_guesser], OBJECTIVES, NOISE) == [0]


# -- confirmation ---------------------------------------------------------------------------

class FakePool:
    """A deterministic stand-in for EvaluationPool: accuracy by (source, training seed)."""

    has_test = False

    def __init__(self, accuracies: dict[tuple[str, int], float], params: dict[str, int]) -> None:
        self.accuracies, self.params = accuracies, params
        self.submitted: list[tuple[str, int]] = []

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> cf.Future[EvalResult]:
        assert seed is not None
        self.submitted.append((source, seed))
        future: cf.Future[EvalResult] = cf.Future()
        future.set_result(EvalResult(status="ok", accuracy=self.accuracies[(source, seed)],
                                     test_accuracy=None, params=self.params[source],
                                     latency_ms=1.0, train_seconds=0.1, total_seconds=0.1,
                                     reason=None))
        return future


# the search trained every network with seed 0; 1 to 4 confirm (the fewest that pin a mean).
# "lucky" won the search on seed 0 only; "steady" is as good on every seed; both are larger
# than the base
SEARCH = {"base": 0.80, "lucky": 0.95, "steady": 0.88}
CONFIRM_SEEDS = (1, 2, 3, 4)
CONFIRM = {**{("base", s): 0.80 for s in CONFIRM_SEEDS},
           ("lucky", 1): 0.70, ("lucky", 2): 0.72, ("lucky", 3): 0.71, ("lucky", 4): 0.73,
           ("steady", 1): 0.87, ("steady", 2): 0.89, ("steady", 3): 0.88, ("steady", 4): 0.88}
PARAMS = {"base": 1000, "lucky": 3000, "steady": 2000}


def stored_run(store: RunStore) -> tuple[str, dict[str, int]]:
    run_id = store.create_run(file="net.py", class_name="Net", base_source="base",
                              base_hash="base", config={}, dataset_fingerprint="fp",
                              budget_key="bk", train_seed=0, confirm_seeds=2)
    ids = {}
    for name, accuracy in SEARCH.items():
        ids[name] = store.add_variant(run_id, source=name, source_hash=name,
                                      status="evaluated", is_base=name == "base")
        store.put_evaluation(name, "fp", "bk", ok(accuracy, PARAMS[name]), train_seed=0)
    return run_id, ids


def jobs() -> list[SeedJob]:
    return [SeedJob(name, name, "Net", seed) for name in ("base", "lucky", "steady")
            for seed in CONFIRM_SEEDS]


def test_the_front_is_decided_on_confirmed_means(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id, ids = stored_run(store)
        searched = offered_front(store.variants(run_id), OBJECTIVES, PIN_NOISE,
                                 confirmed=False)
        assert {v.source for v in searched} == {"base", "lucky", "steady"}
        pool = FakePool(CONFIRM, PARAMS)
        train_seeds(jobs(), store=store, pool=pool, run=store.get_run(run_id),  # type: ignore[arg-type]
                    with_test=False, should_stop=lambda: False)
        assert sorted(pool.submitted) == sorted((j.source, j.seed) for j in jobs())
        variants = {v.source: v for v in store.variants(run_id)}
        lucky = variants["lucky"].confirmed
        # the mean over the confirmation seeds: the lucky seed that chose it is left out
        assert lucky is not None and lucky.accuracy == pytest.approx(0.715)
        assert lucky.seeds == 4 and lucky.params == 3000  # parameter counts stay exact
        confirmed = offered_front(list(variants.values()), OBJECTIVES, PIN_NOISE,
                                  confirmed=True)
        # lucky's mean (71%) is beaten by the smaller base: it drops; steady stays
        assert [v.source for v in confirmed] == ["base", "steady"]
        # the store reports the mean and its spread
        steady = store.get_variant(ids["steady"]).figures
        assert steady.accuracy == pytest.approx(0.88)
        assert steady.accuracy_spread == pytest.approx(0.0082, abs=1e-4)
        # a second pass trains nothing: every seed is cached
        again = FakePool(CONFIRM, PARAMS)
        train_seeds(jobs(), store=store, pool=again, run=store.get_run(run_id),  # type: ignore[arg-type]
                    with_test=False, should_stop=lambda: False)
        assert again.submitted == []


def test_what_a_fallen_variant_hid_on_the_searchs_figures_is_confirmed_next(
        tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id, ids = stored_run(store)
        # "hidden" is dominated by lucky's search figure (0.95 with 3,000 params) only
        ids["hidden"] = store.add_variant(run_id, source="hidden", source_hash="hidden",
                                          status="evaluated")
        store.put_evaluation("hidden", "fp", "bk", ok(0.93, 4000), train_seed=0)
        searched = offered_front(store.variants(run_id), OBJECTIVES, PIN_NOISE, confirmed=False)
        assert "hidden" not in {v.source for v in searched}
        sent = {ids[name] for name in SEARCH}  # the search's front goes to confirmation
        pool = FakePool({**CONFIRM, **{("hidden", s): 0.93 for s in CONFIRM_SEEDS},
                         ("hidden", 1): 0.92},
                        {**PARAMS, "hidden": 4000})
        train_seeds(jobs(), store=store, pool=pool, run=store.get_run(run_id),  # type: ignore[arg-type]
                    with_test=False, should_stop=lambda: False)
        # lucky's mean fell to 71%: hidden, on its search figure, is on the front now
        hidden = hidden_by_the_fallen(store.variants(run_id), OBJECTIVES, PIN_NOISE, tried=sent)
        assert [v.source for v in hidden] == ["hidden"]
        train_seeds([SeedJob("hidden", "hidden", "Net", s) for s in CONFIRM_SEEDS], store=store,
                    pool=pool, run=store.get_run(run_id),  # type: ignore[arg-type]
                    with_test=False, should_stop=lambda: False)
        confirmed = offered_front(store.variants(run_id), OBJECTIVES, PIN_NOISE, confirmed=True)
        assert [v.source for v in confirmed] == ["base", "steady", "hidden"]
        assert hidden_by_the_fallen(store.variants(run_id), OBJECTIVES, PIN_NOISE, tried=sent) == []


def test_a_cancel_during_confirmation_offers_what_is_confirmed_so_far(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id, _ = stored_run(store)
        done: list[int] = []
        with pytest.raises(RunCancelled):
            # the base and steady confirmed, then a cancel before lucky's seeds are in
            order = [j for j in jobs() if j.source != "lucky"] + [j for j in jobs()
                                                                  if j.source == "lucky"]
            train_seeds(order, store=store, pool=_Slow(CONFIRM, PARAMS, "lucky"),  # type: ignore[arg-type]
                        run=store.get_run(run_id), with_test=False,
                        should_stop=lambda: len(done) >= 4,
                        on_result=lambda n, total: done.append(n))
        variants = store.variants(run_id)
        offered = offered_front(variants, OBJECTIVES, PIN_NOISE, confirmed=True)
        assert [v.source for v in offered] == ["base", "steady"]
        assert {v.source for v in variants if v.confirmed is not None} == {"base", "steady"}


class _Slow(FakePool):
    """Never finishes the jobs of one source (it is still training when the cancel comes)."""

    def __init__(self, accuracies: dict[tuple[str, int], float], params: dict[str, int],
                 stuck: str) -> None:
        super().__init__(accuracies, params)
        self.stuck = stuck

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> cf.Future[EvalResult]:
        if source == self.stuck:
            return cf.Future()
        return super().submit(source, class_name, with_test=with_test, seed=seed)


# "lucky" was selected on the run's validation split, which happens to suit it: there every
# training seed gives it 95%; on any other split of the same samples it makes 72%
ON_OTHER_SPLITS = {"base": 0.80, "lucky": 0.72, "steady": 0.87}


class SplitPool(FakePool):
    """Accuracy by (source, split): the run's split (split_seed None) or a redrawn one."""

    def __init__(self) -> None:
        super().__init__({}, PARAMS)
        self.splits: dict[tuple[str, int], int | None] = {}

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> cf.Future[EvalResult]:
        assert seed is not None
        self.splits[(source, seed)] = split_seed
        self.accuracies[(source, seed)] = (SEARCH if split_seed is None
                                           else ON_OTHER_SPLITS)[source]
        return super().submit(source, class_name, with_test=with_test, seed=seed)


def test_each_confirmation_seed_sees_its_own_split_so_split_luck_drops(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id, _ = stored_run(store)
        pool = SplitPool()
        train_seeds(jobs(), store=store, pool=pool, run=store.get_run(run_id),  # type: ignore[arg-type]
                    with_test=False, should_stop=lambda: False)
        # a split per confirmation seed, the same for every network at that seed (paired)
        assert pool.splits == {(name, seed): seed for name in PARAMS for seed in CONFIRM_SEEDS}
        variants = {v.source: v for v in store.variants(run_id)}
        assert variants["lucky"].confirmed.accuracy == pytest.approx(0.72)
        assert variants["lucky"].evaluation.accuracy == 0.95  # the search's split and seed
        confirmed = offered_front(list(variants.values()), OBJECTIVES, PIN_NOISE,
                                  confirmed=True)
        assert [v.source for v in confirmed] == ["base", "steady"]
        # cached under the split: the run's own split (seed 0's key) never answers for it
        assert store.cached_evaluation("lucky", "fp;split=1", "bk", 1).accuracy == 0.72
        assert store.cached_evaluation("lucky", "fp", "bk", 1) is None


# -- pinning the means down -------------------------------------------------------------------

# seed 0 is the search's; 1… confirm. A mean is pinned when its 95% interval is within 1.5 points
SEEDS = {
    "base": [0.80] * 9,
    "steady": [0.88, 0.87, 0.89] + [0.88] * 6,  # pinned with 4: no fewer pin a mean
    "wobbly": [0.84, 0.825, 0.855, 0.84, 0.83, 0.85, 0.84, 0.84, 0.84],  # pinned with 6
    # the smallest network, on the front by its size, but ± 14 points from seed to seed
    "swinging": [0.90, 0.60, 0.90, 0.65, 0.88, 0.62, 0.91, 0.70, 0.85],
}
SIZES = {"base": 1000, "steady": 2000, "wobbly": 500, "swinging": 300}


class SeededRun:
    """A stored run whose networks give, at training seed s, `seeds[name][s]` (seed 0: the
    search's; 1…: the confirmation's); `train` trains each (variant, count) with seeds
    1…count."""

    def __init__(self, store: RunStore, seeds: dict[str, list[float]],
                 sizes: dict[str, int]) -> None:
        self.store = store
        self.pool = FakePool({(name, seed): a for name, values in seeds.items()
                              for seed, a in enumerate(values)}, sizes)
        self.run_id = store.create_run(file="net.py", class_name="Net", base_source="base",
                                       base_hash="base", config={}, dataset_fingerprint="fp",
                                       budget_key="bk", train_seed=0, confirm_seeds=2)
        for name, values in seeds.items():
            store.add_variant(self.run_id, source=name, source_hash=name, status="evaluated",
                              is_base=name == "base")
            store.put_evaluation(name, "fp", "bk", ok(values[0], sizes[name]), train_seed=0)

    def variants(self) -> list:  # type: ignore[type-arg]
        return self.store.variants(self.run_id)

    def train(self, wanted: list[tuple[object, int]]) -> None:
        train_seeds([SeedJob(v.source, v.source_hash, "Net", seed)  # type: ignore[attr-defined]
                     for v, count in wanted for seed in range(1, count + 1)],
                    store=self.store, pool=self.pool,  # type: ignore[arg-type]
                    run=self.store.get_run(self.run_id),  # type: ignore[arg-type]
                    with_test=False, should_stop=lambda: False)


def test_a_mean_not_pinned_down_gets_more_seeds_and_is_withheld_at_the_cap(
        tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        seeded = SeededRun(store, SEEDS, SIZES)
        pool, run_id, train = seeded.pool, seeded.run_id, seeded.train
        train([(v, 2) for v in store.variants(run_id)])  # the confirmation seeds
        pin_down(lambda: store.variants(run_id), OBJECTIVES, PIN_NOISE, train)
        variants = {v.source: v for v in store.variants(run_id)}
        trained = {name: sorted(s for n, s in pool.submitted if n == name) for name in SEEDS}
        # its seeds agree: the 4 that pin a spread of a point (the floor), nothing more
        assert trained["steady"] == [1, 2, 3, 4]
        assert trained["wobbly"] == list(range(1, 7))  # the seeds its spread asked for, pinned
        assert trained["swinging"] == list(range(1, 9))  # up to the cap, never pinned down
        assert variants["wobbly"].confirmed.seeds == 6
        assert variants["wobbly"].confirmed.accuracy == pytest.approx(0.84)
        offered = offered_front(list(variants.values()), OBJECTIVES, PIN_NOISE, confirmed=True)
        assert {v.source for v in offered} == {"steady", "wobbly"}
        reasons = withheld_reasons(list(variants.values()), OBJECTIVES, PIN_NOISE)
        assert list(reasons) == [variants["swinging"].id]
        assert "moves ± 13.3 points between training seeds" in reasons[variants["swinging"].id]
        assert "over 8 seeds" in reasons[variants["swinging"].id]
        # the run keeps why, and its result says it
        store.set_withheld(run_id, reasons)
        (said,) = build_result(store, run_id).withheld
        assert said.startswith("300 params (") and reasons[variants["swinging"].id] in said


def test_the_spread_of_all_seeds_counts_the_searchs_lucky_seed(tmp_path: Path) -> None:
    # confirmation seeds that agree do not hide the search's lucky one
    confirmed = Evaluation(status="ok", accuracy=0.80, accuracy_spread=0.0, seeds=2, params=1)
    assert seed_spread(0.80, confirmed) == pytest.approx(0.0, abs=1e-12)
    assert seed_spread(0.95, confirmed) == pytest.approx(0.0866, abs=1e-4)
    with RunStore(tmp_path / "runs.sqlite") as store:
        seeded = SeededRun(store, {"base": [0.8] * 5, "agreed": [0.8] * 5,
                                   "lucky": [0.95, 0.8, 0.8, 0.8, 0.8]},
                           {"base": 1000, "agreed": 500, "lucky": 400})
        seeded.train([(v, 4) for v in seeded.variants()])
        by_name = {v.source: v for v in seeded.variants()}
        assert pinned(by_name["agreed"], PIN_NOISE) and not pinned(by_name["lucky"], PIN_NOISE)


def test_a_mean_is_pinned_at_a_fixed_precision_whatever_the_bases_spread(
        tmp_path: Path) -> None:
    # every offered mean is known to ± 1.5 points at 95%, a noisy base or not
    assert MEAN_HALF_WIDTH == 0.015
    with RunStore(tmp_path / "runs.sqlite") as store:
        seeded = SeededRun(store, {
            "base": [0.80, 0.68, 0.92],
            "steady": [0.90, 0.89, 0.91, 0.90, 0.90, 0.89, 0.91, 0.90, 0.90],  # ± 0.7 over 9
            # ± 2.3 points over 9 seeds: its 95% interval ± 1.9 over the 8 after the search's
            "swinging": [0.87, 0.84, 0.90, 0.85, 0.89, 0.84, 0.90, 0.87, 0.87],
        }, {"base": 1000, "steady": 2000, "swinging": 500})
        seeded.train([(v, 2 if v.is_base else 8) for v in seeded.variants()])
        by_name = {v.source: v for v in seeded.variants()}
        assert by_name["swinging"].confirmed.seeds == 8
        # its own spread counts, not the base's 12 points
        assert pinned(by_name["steady"], NOISY_BASE)
        # not pinned, though half the base's spread (6 points) is far larger
        assert not pinned(by_name["swinging"], NOISY_BASE)
        reasons = withheld_reasons(seeded.variants(), OBJECTIVES, NOISY_BASE)
        assert list(reasons) == [by_name["swinging"].id]
        assert "over 8 seeds (87.0%) is not known to ± 1.5 points at 95%" in reasons[
            by_name["swinging"].id]
    # seeds that agree by chance count as spreading by a point: 3 seeds never pin a mean
    assert seeds_to_pin(0.0) == 4 and seeds_to_pin(0.015) == 6
    assert seeds_to_pin(0.026) == 8  # the cap: such a network is withheld there
    one_seed = Evaluation(status="ok", accuracy=0.9, seeds=1, params=1)
    assert PIN_NOISE.standard_error(one_seed) == 0.01  # a single seed: the base's spread


def test_a_few_seeds_that_happen_to_agree_do_not_pin_a_mean(tmp_path: Path) -> None:
    # 3 confirmation seeds within a point of each other: a standard error of 0.58 points, but
    # a spread measured on so few seeds is often far below the true one; Student's t (3.18
    # for the spread's 3 degrees of freedom, not 1.96) leaves the mean known to ± 1.8 only
    with RunStore(tmp_path / "runs.sqlite") as store:
        seeded = SeededRun(store, {"base": [0.80] * 9,
                                   "agreeing": [0.87, 0.88, 0.86, 0.87, 0.89, 0.85, 0.88,
                                                0.86, 0.87]}, {"base": 1000, "agreeing": 500})
        seeded.train([(v, 3) for v in seeded.variants()])
        (agreeing,) = [v for v in seeded.variants() if v.source == "agreeing"]
        assert agreeing.confirmed.seeds == 3 and not pinned(agreeing, PIN_NOISE)
        assert seeds_wanted(seeded.variants(), OBJECTIVES, PIN_NOISE) == {agreeing.id: 4}
        reason = withheld_reasons(seeded.variants(), OBJECTIVES, PIN_NOISE)[agreeing.id]
        assert "moves ± 0.8 points" in reason and "over 3 seeds (87.0%)" in reason
        # the 8 steady seeds of the cap do pin it
        seeded.train([(agreeing, 8)])
        (agreeing,) = [v for v in seeded.variants() if v.source == "agreeing"]
        assert agreeing.confirmed.seeds == 8 and pinned(agreeing, PIN_NOISE)
        assert withheld_reasons(seeded.variants(), OBJECTIVES, PIN_NOISE) == {}
    assert half_width(0.01, 3) == pytest.approx(0.0184, abs=1e-4)
    assert half_width(0.01, 8) == pytest.approx(0.0082, abs=1e-4)


# -- each comparison with the noise of the two networks compared ------------------------------

def test_a_steadier_variant_clearly_better_than_a_noisy_base_is_not_a_tie(
        tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        seeded = SeededRun(store, {"base": [0.80, 0.68, 0.92, 0.80, 0.80],
                                   "steady": [0.90, 0.89, 0.91, 0.90, 0.90]},
                           {"base": 1000, "steady": 2000})
        seeded.train([(v, 4) for v in seeded.variants()])
        variants = seeded.variants()
        # 10 points better, with a standard error of the difference of 4.3 points: beyond
        # the noise of the two, though inside the base's spread of 12
        offered = offered_front(variants, OBJECTIVES, NOISY_BASE, confirmed=True)
        assert [v.source for v in offered] == ["base", "steady"]
        assert withheld_reasons(variants, OBJECTIVES, NOISY_BASE) == {}


def test_a_noisy_variant_ahead_by_less_than_its_own_noise_is_a_tie(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        # a steady base (its spread: the floor, 1 point); "noisy" is 1.7 points ahead of
        # "steady", beyond the base's spread but not beyond its own 4-point swing
        seeded = SeededRun(store, {"base": [0.80] * 5, "steady": [0.85] * 5,
                                   "noisy": [0.90, 0.81, 0.90, 0.90, 0.86]},
                           {"base": 1000, "steady": 2000, "noisy": 3000})
        seeded.train([(v, 4) for v in seeded.variants()])
        variants = seeded.variants()
        # it ties "steady", which is smaller: it is not on the front of the means, so no
        # seed is spent on pinning it down and it is not reported as withheld
        assert withheld_reasons(variants, OBJECTIVES, PIN_NOISE) == {}
        assert seeds_wanted(variants, OBJECTIVES, PIN_NOISE) == {}
        offered = offered_front(variants, OBJECTIVES, PIN_NOISE, confirmed=True)
        assert [v.source for v in offered] == ["base", "steady"]
    # on single seeds the base's spread is each one's noise: 1.7 points is beyond √2 of it
    single = [ok(0.80, 1000), ok(0.85, 2000), ok(0.867, 3000)]
    assert pareto_indices(single, OBJECTIVES, PIN_NOISE) == [0, 1, 2]
    # ahead of a steady mean (± 0.6) by 1.7 points with a mean of its own ± 1.8: a tie
    steady = Evaluation(status="ok", accuracy=0.85, accuracy_spread=0.01, seeds=3, params=2000)
    noisy = Evaluation(status="ok", accuracy=0.867, accuracy_spread=0.031, seeds=3, params=3000)
    assert pareto_indices([steady, noisy], OBJECTIVES, PIN_NOISE) == [0]
    assert not dominates(noisy, steady, OBJECTIVES, PIN_NOISE)
    assert dominates(steady, noisy, OBJECTIVES, PIN_NOISE)  # as accurate, and smaller
