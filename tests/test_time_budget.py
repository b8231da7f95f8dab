"""The wall-clock budget (`--time 10m`, `time = "10m"`, the editor's override): durations,
the budget's clock, evaluations cut past its grace, and a whole run that stops on time."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from nnevolve.commands import evolve as evolve_command
from nnevolve.config import ConfigError, EvolveConfig, load_config
from nnevolve.duration import parse_duration, time_left
from nnevolve.evaluation.budget import Budget, EvalResult
from nnevolve.lsp import figures
from nnevolve.lsp.evolve_request import engine_arguments, parse_request
from nnevolve.report import progress_line
from nnevolve.results import RunProgress
from nnevolve.run import run_evolution
from nnevolve.search.candidate import Candidate, SearchCounts
from nnevolve.search.evaluator import OUT_OF_TIME, Evaluator
from nnevolve.search.time_budget import TimeBudget
from nnevolve.store import RunStore
from run_support import MLP, make_workspace
from test_search_level import StandInPool


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400), ("2.5m", 150), ("10min", 600),
    ("1h 5m", 3900), ("600", 600), (45, 45), (0.5, 0.5),
])
def test_durations_read_as_people_write_them(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "m", "0", "0m", "-5m", True, None])
def test_a_duration_that_is_not_one_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match="such as '90s', '10m'"):
        parse_duration(text)


def test_time_left_is_said_in_whole_units_rounded_up() -> None:
    assert [time_left(s) for s in (0, 5.2, 59.5, 61, 240, 3600, 4800)] == [
        "no time left", "6 s left", "1 min left", "2 min left", "4 min left", "1 h left",
        "1 h 20 min left"]


def test_the_pyproject_time_is_seconds_and_replaces_the_generation_limit(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, 'time = "1h30m"\nmax-evals = 50', {})
    config = load_config(workspace)
    assert config.time == 5400.0 and config.evaluation_budget == 50
    assert config.with_overrides({"max_evals": None, "time": "10m"}).time == 600.0
    assert EvolveConfig(root=tmp_path, time=60.0).evaluation_budget is None  # time alone
    assert EvolveConfig.from_json(config.to_json()).time == 5400.0


def test_a_bad_time_setting_says_what_a_duration_looks_like(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, 'time = "ten minutes"', {})
    with pytest.raises(ConfigError, match=r"\[tool.nnevolve\]: 'time' must be a duration such "
                                          r"as '90s', '10m', '1h' or '1h30m'.*'ten minutes'"):
        load_config(workspace)
    with pytest.raises(ConfigError, match="override: 'time' must be a duration"):
        EvolveConfig(root=tmp_path).with_overrides({"time": "0s"})


def test_the_command_line_and_the_editor_pass_the_time_on(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    evolve_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["evolve", "m.py", "--time", "1h30m"])
    config = EvolveConfig(root=tmp_path).with_overrides(evolve_command._overrides(args))
    assert config.time == 5400.0
    request = parse_request(({"uri": "file:///m.py", "overrides": {"time": "10m"}},))
    command = engine_arguments(tmp_path / "m.py", "Net",
                               EvolveConfig(root=tmp_path).with_overrides(request.overrides),
                               request.overrides)
    assert command[-2:] == ["--time", "10m"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breeding_stops_when_the_budget_is_spent_and_training_after_its_grace() -> None:
    clock = FakeClock()
    budget = TimeBudget(600.0, clock)
    assert budget.grace_s == 60.0  # 10% of the budget ...
    assert TimeBudget(90.0).grace_s == 30.0  # ... at least 30 s ...
    assert TimeBudget(10.0).grace_s == 10.0  # ... never more than the budget
    clock.now += 1000
    assert budget.left() == 600.0  # it counts from the search's start
    budget.start()
    clock.now += 599
    assert not budget.spent() and budget.left() == pytest.approx(1.0)
    clock.now += 1
    assert budget.spent() and not budget.past_grace()
    clock.now += 60
    assert budget.past_grace() and budget.share_used() == 1.0


def test_the_breeder_accepts_no_child_once_the_time_is_spent() -> None:
    import random

    from nnevolve.search.breeder import Breeder
    from nnevolve.search.time_budget import OutOfTime

    clock = FakeClock()
    budget = TimeBudget(10.0, clock)
    budget.start()
    clock.now += 10
    breeder = Breeder(store=None, run_id="r", class_name="Net", pool=None,  # type: ignore[arg-type]
                      checker=None, rng=random.Random(0), counts=SearchCounts(),
                      time_budget=budget)
    with pytest.raises(OutOfTime):  # before the static check: nothing more is bred
        breeder.accept(Candidate(source="x = 1\n", source_hash="c", class_name="Net"))


class NeverDone:
    """A pool whose training never ends (as a variant that takes far longer than the budget)."""

    def __init__(self) -> None:
        self.futures: list[Future[EvalResult]] = []

    def submit(self, source: str, class_name: str, **_: object) -> Future[EvalResult]:
        self.futures.append(Future())
        return self.futures[-1]


def test_what_still_trains_past_the_grace_is_cut_and_marked(tmp_path: Path) -> None:
    clock = FakeClock()
    budget = TimeBudget(10.0, clock)
    budget.start()
    pool = NeverDone()
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(file="m.py", class_name="Net", base_source="x = 1\n",
                                  base_hash="h", config={}, dataset_fingerprint="d",
                                  budget_key="b")
        counts = SearchCounts()
        evaluator = Evaluator(store=store, run_id=run_id, pool=pool,  # type: ignore[arg-type]
                              dataset_fingerprint="d", budget_key="b", with_test=False,
                              counts=counts, should_stop=lambda: False,
                              on_result=lambda c: None, time_budget=budget)
        candidate = Candidate(source="y = 2\n", source_hash="c1", class_name="Net", checked=True)
        evaluator.start(candidate, 1)
        threading.Timer(0.3, lambda: setattr(clock, "now", clock.now + 25.0)).start()
        # returns once the grace is over, not when training ends (a thread: never hangs here)
        waiting = threading.Thread(target=evaluator.evaluate, args=([], 1), daemon=True)
        waiting.start()
        waiting.join(timeout=10)
        assert not waiting.is_alive(), "still waiting for a training past the grace"
        assert candidate.metrics is not None and candidate.metrics.reason == OUT_OF_TIME
        [variant] = store.variants(run_id)
        assert (variant.status, variant.reason, variant.evaluation) == ("failed", OUT_OF_TIME,
                                                                         None)
        assert counts.failed == 1 and pool.futures[0].cancelled()


def test_progress_says_the_time_left_in_the_terminal_and_the_editor() -> None:
    progress = RunProgress(run_id="r", phase="search", generation=3, generations=None,
                           evaluated=27, cached=4, rejected=5, failed=1, budget=None,
                           best_accuracy=0.978, smallest_params=21000, percent=30.0, message="",
                           seconds_left=235.0)
    assert progress_line(progress).endswith("smallest 21,000 params · 4 min left")
    line = figures.progress_line(progress.to_json())
    assert line.startswith("generation 3 · 4 min left · 37 variants")


class SlowStandInPool(StandInPool):
    """The stand-in fitness, but each evaluation takes `SECONDS` on one of two workers."""

    SECONDS = 0.25
    size = 2  # evaluations at once

    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.slots = threading.Semaphore(2)

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> Future[EvalResult]:
        answer = super().submit(source, class_name, with_test=with_test, seed=seed)
        future: Future[EvalResult] = Future()

        def train() -> None:
            with self.slots:
                time.sleep(self.SECONDS)
            if future.set_running_or_notify_cancel():
                future.set_result(answer.result())

        threading.Thread(target=train, daemon=True).start()
        return future


SETTINGS = """
dataset = "digits"
population = 2
generations = 1
epochs = 1
workers = 2
confirm_seeds = 0
objectives = ["error", "params"]
time = "4s"
"""


def test_a_run_with_a_time_budget_stops_on_time_and_writes_its_outputs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nnevolve.run.open_backend",
                        lambda config, budget, **_: SlowStandInPool(budget))
    workspace = make_workspace(tmp_path, SETTINGS, {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py")
    reports: list[tuple[float, RunProgress]] = []
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "mlp.py", store=store,
                               progress=lambda p: reports.append((time.monotonic(), p)))
        generations = store.get_run(result.run_id).generation
    assert result.status == "finished", result.error
    searching = [(at, p) for at, p in reports if p.phase == "search"]
    # 4 s of breeding from the search's start, then at most the grace (4 s) for what trained
    search_wall = time.monotonic() - searching[0][0]
    assert 4 <= search_wall < 4 + 4 + 4, search_wall
    # the time, not the one generation configured, ended the search
    assert generations > config.generations + 1
    assert result.out_dir is not None and (result.out_dir / "pareto.json").is_file()
    assert all(p.seconds_left is not None and p.generations is None for _, p in searching)
    lefts = [p.seconds_left for _, p in searching]
    assert lefts == sorted(lefts, reverse=True) and lefts[-1] < 2  # counted down to the end


class SwingingStandInPool(SlowStandInPool):
    """Every variant but the first source (the original network) swings ±6 points between
    training seeds, and a confirmation seed takes a second: the time's grace cuts the pass
    before any variant's mean is pinned down."""

    SECONDS = 0.05

    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.base: str | None = None

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               fraction: float = 1.0, split_seed: int | None = None) -> Future[EvalResult]:
        self.base = self.base or source
        answer = StandInPool.submit(self, source, class_name, with_test=with_test, seed=seed)
        result = answer.result()
        if source != self.base and result.accuracy is not None and seed:
            result = dataclasses.replace(result, accuracy=result.accuracy
                                         + (0.06 if seed % 2 else -0.06))
        future: Future[EvalResult] = Future()
        slow = source != self.base and bool(seed)  # a variant's confirmation seed

        def train() -> None:
            with self.slots:
                time.sleep(1.0 if slow else self.SECONDS)
            if future.set_running_or_notify_cancel():
                future.set_result(result)

        threading.Thread(target=train, daemon=True).start()
        return future


def test_a_confirmation_cut_by_the_time_budget_still_offers_the_searchs_front(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nnevolve.run.open_backend",
                        lambda config, budget, **_: SwingingStandInPool(budget))
    workspace = make_workspace(tmp_path, SETTINGS.replace("confirm_seeds = 0", "confirm_seeds = 2"),
                               {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "mlp.py", store=store)
        variants = store.variants(result.run_id)
    assert result.status == "finished", result.error
    # the pass began (some variant has a confirmation seed) but pinned none down in time
    assert any(v.confirmed is not None for v in variants if not v.is_base)
    assert result.pareto, "nothing offered: the cut pass hid the whole front"
