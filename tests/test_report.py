"""What the terminal shows: figures against the original, edit summaries, progress lines."""

from __future__ import annotations

from rich.console import Console

from nnevolve.config import EvolveConfig
from nnevolve.report import edit_summary, pareto_table, progress_line, relative, signed_points
from nnevolve.results import ParetoVariant, RunProgress, RunResult, RunStats
from nnevolve.store import RunCounts


def variant(vid: int, accuracy: float, params: int, latency: float,
            edits: list[dict[str, str]] | None = None) -> ParetoVariant:
    return ParetoVariant(variant_id=vid, source="", source_hash=str(vid), accuracy=accuracy,
                         params=params, latency_ms=latency, test_accuracy=None,
                         edits=edits or [], file=f"/out/variant-{vid:02d}.py")


def test_changes_read_as_points_and_percent_with_a_true_minus() -> None:
    assert signed_points(0.982, 0.978) == "+0.4"
    assert signed_points(0.95, 0.962) == "−1.2"
    assert relative(18204, 29360) == "−38%"
    assert relative(120, 100) == "+20%"
    assert relative(5, 0) == "–"


def test_edit_summary_shows_the_first_edits_and_counts_the_rest() -> None:
    edits = [{"op": "delete", "summary": f"delete line {i}"} for i in range(5)]
    assert edit_summary(edits) == "delete line 0; delete line 1; +3 more"
    assert edit_summary([]) == "(unchanged)"


def test_progress_line_has_counts_and_the_best_so_far() -> None:
    progress = RunProgress(run_id="r", phase="search", generation=3, generations=10, evaluated=27,
                           cached=4, rejected=5, failed=1, budget=80, best_accuracy=0.978,
                           smallest_params=21000, percent=30.0, message="")
    assert progress_line(progress) == ("27 evaluated · 4 cached · 5 rejected · 1 failed · "
                                       "best 97.8% · smallest 21,000 params")
    assert progress.to_json()["event"] == "progress"


def test_pareto_table_compares_each_variant_with_the_original() -> None:
    base = variant(1, 0.95, 10000, 0.5)
    smaller = variant(2, 0.96, 6000, 0.25, [{"op": "delete", "summary": "delete nn.ReLU()"}])
    result = RunResult(run_id="r1", status="finished", error=None, file="/w/net.py",
                       class_name="Net", config=EvolveConfig(), base=base, pareto=[smaller],
                       counts=RunCounts(evaluated=3), stats=RunStats(1, 1, 1, 0.1, 0.5, 0.2, 1))
    console = Console(width=160, record=True)
    console.print(pareto_table(result))
    text = console.export_text()
    assert "Net on digits" in text
    assert "95.0%" in text and "10,000" in text and "your network" in text
    assert "96.0% (+1.0)" in text and "6,000 (−40%)" in text and "0.250 ms (−50%)" in text
    assert "01" in text and "delete nn.ReLU()" in text
