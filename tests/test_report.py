"""What the terminal shows: figures against the original, changes, progress lines."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from rich.console import Console

from nnevolve.config import EvolveConfig
from nnevolve.report import (
    JsonLines,
    changes_text,
    lineage_text,
    pareto_table,
    print_result,
    progress_line,
    relative,
    signed_points,
)
from nnevolve.results import ParetoVariant, RunProgress, RunResult, RunStats
from nnevolve.store import RunCounts


def variant(vid: int, accuracy: float, params: int, latency: float,
            changes: list[str] | None = None,
            lineage: list[dict[str, str]] | None = None) -> ParetoVariant:
    return ParetoVariant(variant_id=vid, source="", source_hash=str(vid), accuracy=accuracy,
                         params=params, latency_ms=latency, test_accuracy=None,
                         changes=changes or [], lineage=lineage or [],
                         file=f"/out/variant-{vid:02d}.py")


def test_changes_read_as_points_and_percent_with_a_true_minus() -> None:
    assert signed_points(0.982, 0.978) == "+0.4"
    assert signed_points(0.95, 0.962) == "−1.2"
    assert relative(18204, 29360) == "−38%"
    assert relative(120, 100) == "+20%"
    assert relative(5, 0) == "–"


def test_changes_are_one_per_line_and_many_are_counted() -> None:
    assert changes_text(["line 3: delete nn.ReLU()", "line 9: F.relu → F.silu"]) == (
        "line 3: delete nn.ReLU()\nline 9: F.relu → F.silu")
    many = changes_text([f"line {i}: delete x" for i in range(9)])
    assert many.splitlines()[-1] == "+3 more changed lines (pareto.json has them all)"
    assert changes_text([]) == "(unchanged)"
    assert lineage_text([{"op": "delete", "summary": "delete line 3"},
                         {"op": "insert", "summary": "insert nn.ReLU() after line 4"}]) == (
        "delete line 3; insert nn.ReLU() after line 4")


def test_progress_line_has_counts_and_the_best_so_far() -> None:
    progress = RunProgress(run_id="r", phase="search", generation=3, generations=10, evaluated=27,
                           cached=4, rejected=5, failed=1, budget=80, best_accuracy=0.978,
                           smallest_params=21000, percent=30.0, message="")
    assert progress_line(progress) == ("27 evaluated · 4 cached · 5 rejected · 1 failed · "
                                       "best 97.8% · smallest 21,000 params")
    assert progress.to_json()["event"] == "progress"


def test_a_screened_run_says_how_many_children_were_screened_and_promoted() -> None:
    progress = RunProgress(run_id="r", phase="search", generation=3, generations=None,
                           evaluated=9, cached=0, rejected=1, failed=0, budget=40,
                           best_accuracy=None, smallest_params=None, percent=30.0, message="",
                           screened=14, promoted=9)
    assert progress_line(progress) == ("9 evaluated · 9 promoted · 14 screened out · 0 cached · "
                                       "1 rejected · 0 failed")
    result = dataclasses.replace(_result(), counts=RunCounts(evaluated=9, screened=14, promoted=9),
                                 screening=0.25)
    console = Console(width=200, record=True)
    print_result(console, result)
    assert ("screening: 23 children trained on 25% of the budget first; 9 promoted to the full "
            "budget, 14 screened out") in console.export_text()


def _result(*variants: ParetoVariant, status: str = "finished") -> RunResult:
    return RunResult(run_id="r1", status=status, error=None, file="/w/net.py", class_name="Net",
                     config=EvolveConfig(), base=variant(1, 0.95, 10000, 0.5),
                     pareto=list(variants), counts=RunCounts(evaluated=3),
                     stats=RunStats(1, 1, 1, 0.1, 0.5, 0.2, 1), out_dir=Path("/out"))


def table_text(result: RunResult) -> str:
    console = Console(width=160, record=True)
    console.print(pareto_table(result))
    return console.export_text()


def test_pareto_table_compares_each_variant_with_the_original() -> None:
    text = table_text(_result(variant(2, 0.96, 6000, 0.25, ["line 9: delete nn.ReLU()"])))
    assert "Net on digits" in text
    assert "95.0%" in text and "10,000" in text and "your network" in text
    assert "96.0% (+1.0)" in text and "6,000 (−40%)" in text and "0.250 ms (−50%)" in text
    assert "01" in text and "line 9: delete nn.ReLU()" in text


def test_confirmed_accuracies_read_as_a_mean_and_its_spread() -> None:
    base = dataclasses.replace(variant(1, 0.95, 10000, 0.5), accuracy_spread=0.004, seeds=2)
    smaller = dataclasses.replace(variant(2, 0.941, 6000, 0.25), accuracy_spread=0.006, seeds=2)
    text = table_text(dataclasses.replace(_result(smaller), base=base))
    assert "95.0% ± 0.4" in text and "94.1% ± 0.6 (−0.9)" in text


def test_at_80_columns_the_changes_wrap_below_the_table_and_keep_every_word() -> None:
    changes = ["line 12: Conv2d out_channels 8→16", "line 20: F.relu → F.silu",
               "line 14: insert nn.MaxPool2d(kernel_size=2, stride=2)"]
    console = Console(width=80, record=True)
    print_result(console, _result(variant(2, 0.961, 16000, 0.25, changes)))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    listed = [line.strip() for line in text.splitlines()]
    assert "01  line 12: Conv2d out_channels 8→16" in listed  # under the variant's number
    for change in changes:  # whole: no "…"
        assert change in " ".join(listed)
    assert "…" not in text


def test_a_wide_terminal_shows_the_changes_in_a_column() -> None:
    console = Console(width=160, record=True)
    print_result(console, _result(variant(2, 0.961, 16000, 0.25, ["line 20: F.relu → F.silu"])))
    text = console.export_text()
    assert "changes below" not in text
    (row,) = [line for line in text.splitlines() if "│   01 │" in line]
    assert "line 20: F.relu → F.silu" in row


def test_show_lineage_lists_the_edits_that_bred_each_variant() -> None:
    lineage = [{"op": "insert", "summary": "insert nn.ReLU() after line 14"},
               {"op": "delete", "summary": "delete nn.ReLU() at line 15"}]
    result = _result(variant(2, 0.96, 6000, 0.25, ["line 9: F.relu → F.silu"], lineage))
    plain = Console(width=120, record=True)
    print_result(plain, result)
    assert "insert nn.ReLU() after line 14" not in plain.export_text()
    with_lineage = Console(width=120, record=True)
    print_result(with_lineage, result, lineage=True)
    assert ("01 lineage: insert nn.ReLU() after line 14; delete nn.ReLU() at line 15"
            in with_lineage.export_text())


def test_a_cancelled_run_says_how_to_resume_it_and_where_its_files_are() -> None:
    console = Console(width=200, record=True)
    print_result(console, _result(variant(2, 0.96, 6000, 0.25), status="cancelled"))
    text = console.export_text()
    assert "continue it with: nnevolve evolve --resume r1" in text
    assert "what the run found so far" in text  # its variant file exists (file is set)


class _ClosedPipe(io.StringIO):
    """stdout after the language server (its reader) died."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_progress_lines_to_a_reader_that_went_away_mark_it_gone_and_do_not_raise():
    lines = JsonLines(_ClosedPipe())
    lines.emit("started", run_id="r")
    assert lines.gone
    lines.emit("result")  # nothing more is tried, nothing raised
