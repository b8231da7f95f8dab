"""The whole "Evolve this network" flow over stdio: the bundled FCN sample, one tiny run on digits.

Lens → command → progress begin/report/end → code actions with the run's figures → one
applied through the client → the document reads exactly as the variant and analyses cleanly.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from evolve_support import (
    EditorClient,
    document_edit,
    hover_text,
    start_editor,
    stop_editor,
    wait_for,
    write_workspace,
)
from lsprotocol import types

from nnevolve.changes import variant_changes
from nnevolve.report import changes_text
from nnevolve.store import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SAVED = (Path(__file__).parents[2] / "samples" / "fcn.py").read_text()
# the user edited the sample and has not saved it: the run evolves what they see
SAMPLE = SAVED.replace("nn.Dropout(0.2)", "nn.Dropout(0.1)")
CLASS_LINE = SAMPLE.splitlines().index("class FCN(nn.Module):")
LINEAR_LINE = next(i for i, line in enumerate(SAMPLE.splitlines()) if "nn.Linear(" in line)


@dataclass
class Flow:
    client: EditorClient
    uri: str
    workspace: Path
    lenses: list[types.CodeLens]
    result: dict[str, Any]
    second: dict[str, Any]
    hover_during_run: types.Hover | None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def flow(tmp_path_factory: pytest.TempPathFactory):
    workspace = tmp_path_factory.mktemp("flow")
    model_file = write_workspace(workspace, model=SAVED)
    client = await start_editor(workspace)
    try:
        uri = client.open(model_file)
        client.set_text(uri, SAMPLE)
        lenses = await client.code_lenses(uri)
        run = client.evolve(uri, model="FCN")
        await wait_for(lambda: client.progress_of("Evolving FCN"), 120, "the progress to begin")
        second = await client.execute("nnevolve.evolve", {"uri": uri})
        hover = await client.hover(uri, LINEAR_LINE, SAMPLE.splitlines()[LINEAR_LINE].index("nn."))
        result = await asyncio.wait_for(run, 600)
        yield Flow(client, uri, workspace, lenses, result, second, hover)
    finally:
        await stop_editor(client)


def pareto_variants(flow: Flow) -> tuple[Any, list[Any]]:
    """The run's seed network and its Pareto variants that change it, as the store holds them."""
    with RunStore(flow.workspace / ".nnevolve" / "runs.sqlite") as store:
        run = store.get_run(flow.result["run"])
        assert run is not None
        front = [v for v in store.pareto(run.id) if not v.is_base and v.source != run.base_source]
        return store.base_variant(run.id), front


def expected_title(index: int, count: int, variant: Any, base: Any) -> str:
    v, b = variant.figures, base.figures  # the confirmed means the run offers
    points = round((v.accuracy - b.accuracy) * 100, 1)
    size = round((v.params / b.params - 1) * 100)
    latency = round((v.latency_ms / b.latency_ms - 1) * 100)

    def signed(value: float, text: str) -> str:
        return ("\u00b1" if float(text) == 0 else "+" if value > 0 else "\u2212") + text

    ms = v.latency_ms
    ms_text = f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"
    changes = variant_changes(SAMPLE, variant.source)  # against the text the run started from
    shown = "; ".join(changes[:2]) + (f"; +{len(changes) - 2} more" if len(changes) > 2 else "")
    return (
        f"Apply variant {index}/{count}: {v.accuracy * 100:.1f}% "
        f"({signed(points, f'{abs(points):.1f}')}), {v.params:,} params "
        f"({signed(size, f'{abs(size):.0f}')}%), {ms_text} ms "
        f"({signed(latency, f'{abs(latency):.0f}')}%) — {shown}"
    )


async def test_a_lens_offers_to_evolve_the_model_class(flow: Flow) -> None:
    (lens,) = flow.lenses
    assert lens.range.start.line == CLASS_LINE
    assert lens.command is not None and lens.command.title == "Evolve this network"
    assert lens.command.command == "nnevolve.evolve"
    assert list(lens.command.arguments or []) == [{"uri": flow.uri, "model": "FCN"}]


async def test_the_command_reports_progress_from_begin_to_end(flow: Flow) -> None:
    assert flow.result["status"] == "finished" and flow.result["started"] is True
    reports = flow.client.progress_of("Evolving FCN")
    begin, *middle, end = reports
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable is True
    assert isinstance(end, types.WorkDoneProgressEnd)
    generations = [
        r
        for r in middle
        if isinstance(r, types.WorkDoneProgressReport)
        and r.message
        and r.message.startswith("generation ")
    ]
    assert generations, [r.message for r in middle]
    last = str(generations[-1].message)
    assert "variants (" in last and "cached" in last and "best " in last and " params" in last
    percentages = [r.percentage for r in middle if r.percentage is not None]
    assert percentages == sorted(percentages) and percentages[-1] > 0
    assert end.message is not None and end.message.startswith("Finished: ")
    assert "FCN" in end.message


async def test_a_second_request_during_the_run_starts_nothing(flow: Flow) -> None:
    assert flow.second["started"] is False
    assert any("already evolving FCN" in m.message for m in flow.client.messages)
    assert (
        len(
            [
                r
                for r in flow.client.progress_reports.values()
                if isinstance(r[0], types.WorkDoneProgressBegin)
            ]
        )
        == 1
    )


async def test_hovers_are_answered_during_a_run(flow: Flow) -> None:
    assert flow.hover_during_run is not None
    assert "connection layer" in hover_text(flow.hover_during_run)


async def test_each_pareto_variant_is_a_code_action_titled_with_its_figures(flow: Flow) -> None:
    base, front = pareto_variants(flow)
    assert front, "a run on digits finds at least one variant worth offering"
    assert flow.result["variants"] == len(front)
    actions = await flow.client.code_actions(flow.uri, LINEAR_LINE)
    assert [a.title for a in actions] == [
        expected_title(i, len(front), v, base) for i, v in enumerate(front, start=1)
    ]
    assert all(a.kind == types.CodeActionKind.RefactorRewrite for a in actions)
    # outside the class (the import line) nothing is offered
    assert await flow.client.code_actions(flow.uri, 0) == []


def nnevolve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nnevolve", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, check=False, env={**os.environ, "COLUMNS": "80"},
    )


async def test_results_view_code_actions_and_cli_show_the_same_changes(flow: Flow) -> None:
    _, front = pareto_variants(flow)
    expected = [variant_changes(SAMPLE, v.source) for v in front]
    assert all(expected)
    view = await flow.client.request("nnevolve/pareto", {"run": flow.result["run"]})
    assert [v["changes"] for v in view["variants"]] == expected
    titles = [a.title for a in await flow.client.code_actions(flow.uri, CLASS_LINE)]
    for title, changes in zip(titles, expected):
        assert title.split(" — ", 1)[1].startswith(changes[0])
    shown = nnevolve("show", flow.result["run"], "--json", cwd=flow.workspace)
    assert shown.returncode == 0, shown.stderr
    assert [v["changes"] for v in json.loads(shown.stdout)["pareto"]] == expected
    table = nnevolve("show", flow.result["run"], cwd=flow.workspace).stdout
    # wrapped in its column, word for word, as many as the table lists (then how many more)
    listed = changes_text(expected[0]).splitlines()
    assert listed[0] == expected[0][0]
    for line in listed:
        assert all(word in table for word in line.split())


async def test_applying_an_action_changes_only_the_differing_lines(flow: Flow) -> None:
    client, uri = flow.client, flow.uri
    _, front = pareto_variants(flow)
    actions = await client.code_actions(uri, CLASS_LINE)
    action, variant = actions[0], front[0]
    change = document_edit(action)
    assert change.text_document.version == client.versions[uri]
    differing = [
        op
        for op in difflib.SequenceMatcher(
            None, SAMPLE.splitlines(True), variant.source.splitlines(True), autojunk=False
        ).get_opcodes()
        if op[0] != "equal"
    ]
    assert [(e.range.start.line, e.range.end.line) for e in change.edits] == [
        (i1, i2) for _, i1, i2, _, _ in differing
    ]

    applied, reason = client.apply(types.WorkspaceEdit(document_changes=[change]))
    assert applied, reason
    assert client.texts[uri] == variant.source
    # the new text analyses cleanly: no syntax diagnostic, typed lines found
    assert await client.diagnostics_for(uri, client.versions[uri]) == []
    line_types = await client.request("nnevolve/lineTypes", {"textDocument": {"uri": uri}})
    assert line_types["version"] == client.versions[uri] and line_types["items"]
    # an applied variant is not offered again
    titles = [a.title for a in await client.code_actions(uri, CLASS_LINE)]
    assert action.title not in titles
    # the old edit, for a version that has passed, is refused by the client
    refusal = (
        f"{uri} is at version {client.versions[uri]}, "
        f"the edit is for {change.text_document.version}"
    )
    assert client.apply(types.WorkspaceEdit(document_changes=[change])) == (False, refusal)
    client.set_text(uri, SAMPLE)


async def test_apply_variant_command_applies_through_the_client(flow: Flow) -> None:
    client, uri = flow.client, flow.uri
    _, front = pareto_variants(flow)
    variant = front[-1]
    answer = await client.execute(
        "nnevolve.applyVariant",
        {
            "uri": uri,
            "run": flow.result["run"],
            "variant": variant.id,
            "version": client.versions[uri],
        },
    )
    assert answer == {"applied": True}
    assert client.texts[uri] == variant.source
    client.set_text(uri, SAMPLE)


async def test_the_run_is_recorded_under_the_file_it_evolved(flow: Flow) -> None:
    runs = await flow.client.request("nnevolve/runs", {"uri": flow.uri})
    (run,) = runs["runs"]
    assert run["id"] == flow.result["run"] and run["status"] == "finished"
    assert run["file"] == str((flow.workspace / "model.py").resolve())
    assert run["model"] == "FCN" and run["offered"] is True
    assert run["counts"]["evaluated"] + run["counts"]["cached"] >= 1


async def test_the_run_evolves_the_unsaved_text_and_keeps_the_file_untouched(flow: Flow) -> None:
    assert SAMPLE != SAVED
    with RunStore(flow.workspace / ".nnevolve" / "runs.sqlite") as store:
        record = store.get_run(flow.result["run"])
    assert record is not None and record.base_source == SAMPLE
    assert (flow.workspace / "model.py").read_text() == SAVED
    # the engine read a copy of the unsaved text, removed once the run was over
    assert list((flow.workspace / ".nnevolve" / "unsaved").iterdir()) == []
