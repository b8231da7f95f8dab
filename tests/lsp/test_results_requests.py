"""The results view's requests: `nnevolve/runs` and `nnevolve/pareto`, over stdio."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from evolve_support import EditorClient, create_model_run, write_workspace

from nnevolve.changes import variant_changes
from nnevolve.store import Evaluation, RunStore

if TYPE_CHECKING:
    from finished_run import FinishedRun

pytest_plugins = ["finished_run"]
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def apply_unified_diff(text: str, diff: str) -> str:
    """Apply a unified diff (as `patch` would) to `text`."""
    old = text.splitlines(True)
    out: list[str] = []
    position = 0
    lines = diff.splitlines(True)[2:]  # past the --- / +++ header
    for line in lines:
        if hunk := re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", line):
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            out.extend(old[position:start])
            position = start
        elif line.startswith(" "):
            assert old[position] == line[1:]
            out.append(line[1:])
            position += 1
        elif line.startswith("-"):
            assert old[position] == line[1:]
            position += 1
        elif line.startswith("+"):
            out.append(line[1:])
    return "".join(out + old[position:])


async def test_runs_lists_the_files_runs_with_status_and_counts(
    run_editor: EditorClient, finished_run: FinishedRun
) -> None:
    uri = run_editor.open(finished_run.model_file)
    try:
        answer = await run_editor.request("nnevolve/runs", {"uri": uri})
    finally:
        run_editor.close(uri)
    (run,) = answer["runs"]
    record = finished_run.record()
    assert run["id"] == record.id and run["status"] == "finished" and run["model"] == "Net"
    assert run["dataset"] == "digits" and run["generations"] == 1
    assert run["counts"] == record.counts.to_json()
    assert run["offered"] is True


async def test_runs_come_newest_first_with_why_a_run_failed(
    run_editor: EditorClient, tmp_path: Path
) -> None:
    model_file = write_workspace(tmp_path)
    with RunStore(tmp_path / ".nnevolve" / "runs.sqlite") as store:
        older = create_model_run(store, model_file, fingerprint="f",
                                 config={"dataset": "digits", "generations": 3})
        store.set_run_status(older, "failed", "the evaluation workers failed")
        newer = create_model_run(store, model_file, fingerprint="f",
                                 config={"dataset": "mnist", "generations": 2})
        store.set_run_status(newer, "cancelled")
    answer = await run_editor.request("nnevolve/runs", {"uri": model_file.resolve().as_uri()})
    assert [(r["id"], r["status"], r["error"]) for r in answer["runs"]] == [
        (newer, "cancelled", None),
        (older, "failed", "the evaluation workers failed"),
    ]
    assert answer["runs"][0]["dataset"] == "mnist"
    assert not any(r["offered"] for r in answer["runs"])


async def test_runs_of_a_file_without_a_store_is_empty(
    run_editor: EditorClient, tmp_path: Path
) -> None:
    answer = await run_editor.request("nnevolve/runs", {"uri": (tmp_path / "m.py").as_uri()})
    assert answer["runs"] == []
    assert not (tmp_path / ".nnevolve").exists()  # asking never creates a store
    bad = await run_editor.request("nnevolve/runs", {"uri": "untitled:Untitled-1"})
    assert bad["runs"] == [] and "file: URI" in bad["error"]


async def test_pareto_gives_each_variant_with_figures_source_and_diff(
    run_editor: EditorClient, finished_run: FinishedRun
) -> None:
    answer = await run_editor.request("nnevolve/pareto", {"run": finished_run.result["run_id"]})
    record, base, front = finished_run.record(), finished_run.base(), finished_run.front()
    assert answer["run"]["id"] == record.id and answer["run"]["status"] == "finished"
    assert isinstance(base.figures, Evaluation)  # the confirmed means the run offers
    assert answer["base"]["accuracy"] == base.figures.accuracy
    assert answer["base"]["params"] == base.figures.params
    assert answer["base"]["source"] == record.base_source
    assert [v["id"] for v in answer["variants"]] == [v.id for v in front]
    for index, (given, stored) in enumerate(zip(answer["variants"], front), start=1):
        assert given["index"] == index
        assert stored.figures is not None
        assert (given["accuracy"], given["params"], given["latency_ms"]) == (
            stored.figures.accuracy,
            stored.figures.params,
            stored.figures.latency_ms,
        )
        assert given["source"] == stored.source
        assert given["lineage"] == stored.edits and given["lineage"]
        assert given["changes"] == variant_changes(record.base_source, stored.source)
        assert given["changes"] and given["withheld"] is None
        assert given["diff"].startswith("--- a/model.py\n+++ b/model.py\n")
        assert apply_unified_diff(record.base_source, given["diff"]) == stored.source


async def test_pareto_of_an_unknown_run_is_null(
    run_editor: EditorClient, finished_run: FinishedRun
) -> None:
    assert await run_editor.request("nnevolve/pareto", {"run": "no-such-run"}) is None
    assert await run_editor.request("nnevolve/pareto", {}) is None
    # the document's own store is searched first when the request names it
    answer = await run_editor.request(
        "nnevolve/pareto",
        {"run": finished_run.result["run_id"], "uri": finished_run.model_file.as_uri()},
    )
    assert answer["run"]["id"] == finished_run.result["run_id"]
