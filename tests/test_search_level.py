"""Search behaviour at the level of whole runs, on a cheap deterministic stand-in fitness.

The real engine runs (operators, static check, store, NSGA-II or random search); only the
training is replaced: a stand-in pool builds each variant and scores it by a fixed function of
its structure (more activation layers: more accurate, as if depth helped), with exact parameter
counts. So the selection direction and the use of crossover can be tested in seconds, and a
test fails when NSGA-II selects the worst variants or when crossover is switched off.
"""

from __future__ import annotations

import hashlib
import math
from concurrent.futures import Future
from pathlib import Path

import pytest
from torch import nn

from nnevolve.config import load_config
from nnevolve.evaluation.budget import Budget, EvalResult
from nnevolve.evaluation.train import build_model
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import MLP, make_workspace

SETTINGS = """
dataset = "digits"
population = 8
generations = 6
epochs = 1
workers = 1
confirm_seeds = 0
objectives = ["error", "params"]
"""
ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.ELU, nn.LeakyReLU, nn.Mish,
               nn.Hardswish, nn.Softplus, nn.PReLU, nn.SELU, nn.CELU, nn.ReLU6, nn.Hardtanh)


def stand_in_accuracy(model: nn.Module) -> float:
    """Deterministic: each activation layer closes a fifth of the remaining gap to 95%."""
    activations = sum(isinstance(m, ACTIVATIONS) for m in model.modules())
    return 0.95 - 0.85 * 0.8 ** activations


def screened_accuracy(model: nn.Module, source: str, fraction: float) -> float:
    """On a share of the budget: lower than the full figure (by 7 to 13 points at a quarter),
    with a deterministic per-source scatter, so it ranks variants only roughly."""
    scatter = int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) / 16**8 - 0.5
    return stand_in_accuracy(model) - (1 - fraction) * (0.133 + 0.08 * scatter)


class StandInPool:
    """The evaluation pool's interface, answering at once with the stand-in fitness."""

    fingerprint = "stand-in"
    size = 1  # workers, as the run reports them
    input_shape = (1, 8, 8)
    num_classes = 10
    has_test = False
    worker_pids: list[int] = []

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               fraction: float = 1.0, split_seed: int | None = None) -> Future[EvalResult]:
        future: Future[EvalResult] = Future()
        try:
            model = build_model(source, class_name)
        except Exception as exc:  # noqa: BLE001 - a variant that cannot be built fails alone
            future.set_result(EvalResult.failed(f"crash: {exc}"))
            return future
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        accuracy = (stand_in_accuracy(model) if fraction == 1.0
                    else screened_accuracy(model, source, fraction))
        future.set_result(EvalResult(
            status="ok", accuracy=accuracy, test_accuracy=None, params=params,
            latency_ms=1.0, train_seconds=0.01, total_seconds=0.01, reason=None))
        return future

    def wait_ready(self) -> None:
        pass

    def close(self) -> None:
        pass


def hypervolume(points: list[tuple[float, int]]) -> float:
    """Of (error, log10 params), reference (1.0, 7.0)."""
    from pymoo.indicators.hv import HV

    import numpy as np

    front = np.array([[error, math.log10(max(params, 1))] for error, params in points])
    return float(HV(ref_point=np.array([1.0, 7.0]))(front))


def run(tmp_path: Path, algorithm: str, seed: int, monkeypatch: pytest.MonkeyPatch, *,
        generations: int = 6, screening: str = "off"):
    """A whole run of the engine on the stand-in fitness: its result and its variants."""
    monkeypatch.setattr("nnevolve.run.open_backend",
                        lambda config, budget, **_: StandInPool(budget))
    settings = SETTINGS.replace("generations = 6", f"generations = {generations}")
    workspace = make_workspace(tmp_path / f"{algorithm}-{seed}-{screening}",
                               settings + f'algorithm = "{algorithm}"\nseed = {seed}\n'
                               f'screening = "{screening}"\n', {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "mlp.py", store=store)
        variants = store.variants(result.run_id)
    assert result.status == "finished", result.error
    return result, variants


def front_hv(variants) -> float:
    points = [(1.0 - v.evaluation.accuracy, v.evaluation.params) for v in variants
              if v.evaluation is not None and v.evaluation.status == "ok"]
    return hypervolume(points)


def test_nsga2_beats_random_search_at_an_equal_budget(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    wins = 0
    for seed in (0, 1, 2):
        _, nsga2 = run(tmp_path, "nsga2", seed, monkeypatch)
        _, random = run(tmp_path, "random", seed, monkeypatch)
        trained = [sum(v.evaluation is not None for v in vs) for vs in (nsga2, random)]
        assert abs(trained[0] - trained[1]) <= 2  # the same budget
        wins += front_hv(nsga2) > front_hv(random)
    assert wins == 3


def test_a_run_breeds_and_evaluates_crossover_children(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _, variants = run(tmp_path, "nsga2", 0, monkeypatch)
    crossed = [v for v in variants if len(v.parents) == 2 and v.evaluation is not None
               and any(e["op"] == "crossover" for e in v.edits)]
    assert crossed, "no evaluated child of two parents with a crossover edit"


def test_screening_spends_less_full_budget_work_for_an_equal_or_better_front(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the same evaluation budget (a screening costs its share of a full evaluation), a
    screened run trains fewer children with the full budget and finds a front at least as
    good; every figure it offers is a full-budget one."""
    hv = {"on": 0.0, "off": 0.0}
    for seed in (0, 1, 2):
        full = {}
        for screening in ("off", "on"):
            result, variants = run(tmp_path, "nsga2", seed, monkeypatch, screening=screening)
            full[screening] = result.counts.trained
            hv[screening] += front_hv([v for v in variants if v.is_pareto or v.is_base])
            if screening == "off":
                continue
            assert result.counts.screened > 0 and result.counts.promoted > 0
            screened = [v for v in variants if v.status == "screened"]
            assert screened and all(v.fidelity == 0.25 and v.evaluation is None
                                    for v in screened)
            offered = [v for v in variants if v.is_pareto]
            assert offered and all(v.status == "evaluated" and v.fidelity == 1.0
                                   for v in offered)
            for v in offered:  # the figure is the full-budget one, never the screening's
                model = build_model(v.source, result.class_name)
                assert v.figures.accuracy == pytest.approx(stand_in_accuracy(model))
            shown = {p.variant_id: p.accuracy for p in result.pareto}
            assert shown == {v.id: v.figures.accuracy for v in offered if not v.is_base}
        assert full["on"] < full["off"]
    # on a par (a screened run trades some search for less training; promoting the worst
    # third instead of the best falls far below)
    assert hv["on"] >= 0.85 * hv["off"]


def test_a_screened_run_resumes_mid_rung_without_training_anything_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    submitted: list[tuple[str, float, int | None]] = []

    class CountingPool(StandInPool):
        def submit(self, source: str, class_name: str, **kwargs) -> Future[EvalResult]:
            submitted.append((source, kwargs.get("fraction", 1.0), kwargs.get("seed")))
            return super().submit(source, class_name, **kwargs)

    monkeypatch.setattr("nnevolve.run.open_backend",
                        lambda config, budget, **_: CountingPool(budget))
    workspace = make_workspace(tmp_path, SETTINGS + 'screening = "on"\n', {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py")
    reports: list = []
    with RunStore(config.store_path) as store:
        # stopped in its first generation, with children screened and others still to screen
        first = run_evolution(config, workspace / "mlp.py", store=store, progress=reports.append,
                              should_stop=lambda: bool(reports) and reports[-1].screened >= 2)
        assert first.status == "cancelled"
        stopped_at = len(submitted)
        result = run_evolution(config, None, store=store, resume_run=first.run_id)
        variants = store.variants(result.run_id)
    assert result.status == "finished", result.error
    assert 0 < stopped_at < len(submitted)
    assert len(set(submitted)) == len(submitted), "a screening or a training was done twice"
    assert result.counts.screened > 2 and result.counts.promoted > 0
    # the full budget went only to children whose screening promoted them (and the seed's
    # calibration)
    full = {source for source, fraction, _ in submitted if fraction == 1.0}
    promoted = {v.source for v in variants if v.promoted}
    assert full - promoted == {v.source for v in variants if v.is_base}


class _SetUp(Exception):
    """Stops the run once pymoo is set up: these tests need nothing after that."""


def run_until_pymoo_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Start an NSGA-II run and stop it as pymoo is set up; the seeds pymoo was given."""
    from pymoo.core.algorithm import Algorithm

    seeds: list[int] = []

    def recording_setup(self: Algorithm, problem, **kwargs) -> None:
        seeds.append(kwargs["seed"])
        raise _SetUp

    monkeypatch.setattr(Algorithm, "setup", recording_setup)
    monkeypatch.setattr("nnevolve.run.open_backend",
                        lambda config, budget, **_: StandInPool(budget))
    workspace = make_workspace(tmp_path, SETTINGS + "seed = 4\n", {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "mlp.py", store=store)
    assert result.status == "failed" and "_SetUp" in (result.error or "")
    return seeds


def test_pymoo_is_seeded_from_the_breeders_stream(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's randomness has one source: pymoo's generator is drawn from the breeder's."""
    import random

    from nnevolve.search.breeder import Breeder

    streams: list[random.Random] = []  # a copy of each breeder's stream as it starts
    breeder_init = Breeder.__init__

    def recording_init(self: Breeder, **kwargs) -> None:
        breeder_init(self, **kwargs)
        streams.append(random.Random())
        streams[-1].setstate(self.rng.getstate())

    monkeypatch.setattr(Breeder, "__init__", recording_init)
    seeds = run_until_pymoo_setup(tmp_path, monkeypatch)
    # nothing draws from the stream before pymoo is set up: its seed is the first draw
    assert seeds == [streams[0].getrandbits(32)]


def test_the_runs_gene_pool_is_closed_when_its_search_ends(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from nnevolve.gene_pool import GenePool, default_gene_pool

    opened: list[GenePool] = []

    def recording_pool(*args, **kwargs) -> GenePool:
        opened.append(default_gene_pool(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr("nnevolve.run.default_gene_pool", recording_pool)
    run_until_pymoo_setup(tmp_path, monkeypatch)
    [genes] = opened
    with pytest.raises(sqlite3.ProgrammingError):
        len(genes)  # a closed connection refuses queries
