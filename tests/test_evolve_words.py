"""What the evolve command reads and says: its arguments, progress lines and action titles."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnevolve.config import EvolveConfig
from nnevolve.lsp import figures
from nnevolve.lsp.evolve import (
    LATE_CANCEL,
    every_variant_invalid,
    finished_summary,
    named_line,
    run_summary,
)
from nnevolve.lsp.evolve_request import RequestError, engine_arguments, parse_request
from nnevolve.lsp.offers import OfferedRun, OfferedVariant
from nnevolve.store import Evaluation, RunCounts, RunRecord


def test_progress_line_counts_variants_and_names_the_best_figures() -> None:
    line = figures.progress_line(
        {
            "event": "progress",
            "phase": "search",
            "generation": 3,
            "generations": 10,
            "evaluated": 17,
            "cached": 4,
            "rejected": 5,
            "failed": 1,
            "best_accuracy": 0.9781,
            "smallest_params": 21_300,
            "percent": 30.0,
            "message": "",
        }
    )
    assert line == (
        "generation 3/10 · 27 variants (4 cached, 5 rejected, 1 failed) · best 97.8% / 21k params"
    )


def test_progress_line_of_a_screened_run_counts_the_screened_out_and_the_budget() -> None:
    line = figures.progress_line(
        {"event": "progress", "phase": "search", "generation": 7, "generations": None,
         "evaluated": 10, "cached": 0, "rejected": 2, "failed": 0, "screened": 20,
         "promoted": 10, "percent": 41.6, "seconds_left": None, "message": ""})
    assert line == ("generation 7 · 42% of the budget · 32 variants "
                    "(0 cached, 2 rejected, 0 failed, 20 screened out)")


def test_progress_line_before_the_search_says_what_happens() -> None:
    assert figures.progress_line({"phase": "starting", "message": "starting 2 workers"}) == (
        "starting 2 workers"
    )
    assert figures.progress_line({"phase": "search", "generation": 0, "generations": 1}) == (
        "generation 0/1 · 0 variants (0 cached, 0 rejected, 0 failed)"
    )


def test_variant_figures_compare_with_the_original_network() -> None:
    text = figures.variant_figures(
        acc=0.982, size=18_204, time_ms=0.21, base_acc=0.978, base_size=29_360, base_time_ms=0.2386
    )
    assert text == "98.2% (+0.4), 18,204 params (\u221238%), 0.21 ms (\u221212%)"


def test_variant_figures_without_an_original_show_plain_figures() -> None:
    assert figures.variant_figures(acc=0.5, size=1, time_ms=120.4) == "50.0%, 1 param, 120 ms"
    assert figures.variant_figures(acc=0.9, size=10, time_ms=None, base_acc=0.9, base_size=10) == (
        "90.0% (\u00b10.0), 10 params (\u00b10%)"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(812, "812"), (9_500, "9.5k"), (21_300, "21k"), (1_000, "1k"), (1_200_000, "1.2M")],
)
def test_compact_params(value: int, text: str) -> None:
    assert figures.compact_params(value) == text


def test_parse_request_reads_uri_model_and_overrides() -> None:
    request = parse_request(
        (
            {
                "uri": "file:///m.py",
                "model": "Net",
                "overrides": {"generations": 1, "dataset": "digits"},
            },
        )
    )
    assert (request.uri, request.model) == ("file:///m.py", "Net")
    assert request.overrides == {"generations": 1, "dataset": "digits"}
    assert parse_request(("file:///m.py",)).model is None


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ((), "expects one argument"),
        (({"model": "Net"},), '"uri"'),
        (({"uri": "file:///m.py", "overrides": {"generation": 2}},), "unknown override generation"),
        (({"uri": "file:///m.py", "overrides": [1]},), '"overrides" must be an object'),
        (({"uri": "file:///m.py", "model": 3},), '"model"'),
    ],
)
def test_parse_request_refuses_unusable_arguments(arguments: tuple, complaint: str) -> None:
    with pytest.raises(RequestError, match=complaint):
        parse_request(arguments)


def test_engine_arguments_pass_only_the_overrides(tmp_path: Path) -> None:
    config = EvolveConfig(root=tmp_path).with_overrides(
        {"epochs": 1, "objectives": ["params", "error"]}
    )
    args = engine_arguments(
        tmp_path / "m.py", "Net", config, {"epochs": 1, "objectives": ["params", "error"]}
    )
    assert args == [
        "evolve",
        str(tmp_path / "m.py"),
        "--model",
        "Net",
        "--progress-jsonl",
        "--store",
        str(tmp_path / ".nnevolve" / "runs.sqlite"),
        "--root",
        str(tmp_path),
        "--epochs",
        "1",
        "--objectives",
        "error,params",
    ]


def _offered(valid: int, counts: RunCounts, variants: int = 0) -> OfferedRun:
    record = RunRecord(
        id="r",
        file="/m.py",
        class_name="Net",
        base_source="",
        base_hash="",
        config={},
        dataset_fingerprint="f",
        budget_key="b",
        status="finished",
        error=None,
        out_dir=None,
        generation=2,
        created_at=0.0,
        started_at=0.0,
        finished_at=1.0,
        counts=counts,
    )
    offered = tuple(
        OfferedVariant(
            id=i,
            index=i,
            source="",
            accuracy=0.9 - i / 100,
            params=1000 * i,
            latency_ms=0.1,
            test_accuracy=None,
            changes=(),
            lineage=(),
        )
        for i in range(1, variants + 1)
    )
    base = Evaluation(status="ok", accuracy=0.9, params=4000, latency_ms=0.1)
    return OfferedRun(record, Path("/s"), base, offered, valid=valid)


def test_a_run_whose_every_variant_was_invalid_is_a_failure() -> None:
    run = _offered(valid=0, counts=RunCounts(rejected=7, failed=3))
    assert every_variant_invalid(run) == (
        "every variant was invalid (7 rejected by the static check, 3 failed to train)"
    )
    assert every_variant_invalid(_offered(valid=1, counts=RunCounts(evaluated=1))) is None


def test_the_finished_summary_names_the_best_and_the_smallest_variant() -> None:
    summary = finished_summary(_offered(valid=3, counts=RunCounts(evaluated=3), variants=2))
    assert summary == (
        "Finished: 2 Pareto-optimal variants · best 89.0% (\u22121.0) · smallest 1,000 params "
        "(\u221275%) — apply one from the code actions on Net"
    )


def test_a_cancel_after_the_search_ended_says_the_run_finished_anyway() -> None:
    summary = run_summary(_offered(valid=3, counts=RunCounts(evaluated=3), variants=1), LATE_CANCEL)
    assert summary.startswith(
        "Finished before the cancel took effect (the search had ended): 1 Pareto-optimal variant"
    )


def test_a_failure_names_the_line_its_reason_names() -> None:
    reason = "Net cannot be built for dataset 'digits': forward raised RuntimeError at line 12: x"
    assert named_line(reason) == 12
    assert named_line("the evaluation workers failed: out of memory") is None
    assert named_line("a baseline of 3 seeds") is None  # "baseline" is not "line"


def test_lens_status_bar_and_notification_share_the_stage() -> None:
    search = {"phase": "search", "generation": 2, "generations": 8, "message": ""}
    writing = {"phase": "finishing", "generation": 8, "generations": 8,
               "message": "writing the variants"}
    assert figures.stage(search) == "generation 2/8"
    assert figures.progress_line(search).startswith("generation 2/8 · ")
    assert figures.stage(writing) == figures.progress_line(writing) == "writing the variants"


@pytest.mark.parametrize("amp", [True, False])
def test_device_settings_from_the_editor_reach_the_engine(tmp_path: Path, amp: bool) -> None:
    from nnevolve.cli import build_parser
    from nnevolve.commands.evolve import _overrides

    given = {"device": "cuda:1", "workers_per_device": 3, "amp": amp,
             "cluster": "tcp://gpu-head:8786", "evolve_training": not amp}
    request = parse_request(({"uri": "file:///m.py", "overrides": given},))
    config = EvolveConfig(root=tmp_path).with_overrides(request.overrides)
    args = engine_arguments(tmp_path / "m.py", "Net", config, request.overrides)
    assert ("--amp" if amp else "--no-amp") in args
    # the engine reads the command line back into the settings the editor asked for
    parsed = build_parser().parse_args(args)
    engine = EvolveConfig(root=tmp_path).with_overrides(_overrides(parsed))
    assert ((engine.device, engine.workers_per_device, engine.amp, engine.cluster)
            == ("cuda:1", 3, amp, "tcp://gpu-head:8786"))
    assert engine.evolve_training is (not amp)  # the recipe switch travels the same way


def test_an_unusable_device_setting_from_the_editor_is_refused(tmp_path: Path) -> None:
    from nnevolve.config import ConfigError

    for bad in ({"amp": "yes"}, {"workers_per_device": 0}, {"device": "gpu"}):
        request = parse_request(({"uri": "file:///m.py", "overrides": bad},))
        with pytest.raises(ConfigError, match=next(iter(bad))):
            EvolveConfig(root=tmp_path).with_overrides(request.overrides)
