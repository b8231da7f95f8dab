"""A cancelled run's Pareto variants are offered as code actions, like a finished run's.

Live: a run cancelled from the editor offers what it found so far (its ``variant-NN.py``
files are never written). After a restart: the latest finished-or-cancelled run whose base
matches the text is offered again (here made directly in a run store, so the figures and
titles are known exactly).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_asyncio
from evolve_support import (
    MODEL,
    EditorClient,
    create_model_run,
    document_edit,
    end_message,
    start_editor,
    stop_editor,
    wait_for,
    write_workspace,
)
from lsprotocol import types

from nnevolve.genome.normalize import source_hash
from nnevolve.search.front import pareto_indices
from nnevolve.store import Evaluation, RunStore, Variant

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CLASS_LINE = MODEL.splitlines().index("class Net(nn.Module):")
OBJECTIVES = ("error", "params", "latency")

# two variants of MODEL: a wider hidden layer, another activation
WIDER = MODEL.replace("nn.Linear(64, 32)", "nn.Linear(64, 48)").replace(
    "nn.Linear(32, 10)", "nn.Linear(48, 10)"
)
GELU = MODEL.replace("self.act = nn.ReLU()", "self.act = nn.GELU()")


def found_so_far(store_path: Path) -> list[Variant]:
    """The variants (not the base) on the Pareto front of what the newest run has evaluated
    so far: what a cancel now would offer."""
    if not store_path.is_file():
        return []
    with RunStore(store_path) as store:
        runs = store.list_runs()
        if not runs:
            return []
        variants = [v for v in store.variants(runs[0].id) if v.evaluation is not None]
    front = [variants[i] for i in pareto_indices([v.evaluation for v in variants], OBJECTIVES)]
    return [v for v in front if not v.is_base and v.source != runs[0].base_source]


async def test_a_run_cancelled_in_the_editor_offers_what_it_found(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path, generations=50, population=8)
    store_path = tmp_path / ".nnevolve" / "runs.sqlite"
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        run = client.evolve(uri)
        # cancel once a variant that the front will keep has been evaluated
        await wait_for(
            lambda: found_so_far(store_path),
            300,
            "a variant on the Pareto front",
            every=0.25,
        )
        assert await client.execute("nnevolve.cancel", {"uri": uri}) == {"cancelled": True}
        result = await asyncio.wait_for(run, 60)
        assert result["status"] == "cancelled"

        with RunStore(store_path) as store:
            record = store.get_run(result["run"])
            assert record is not None and record.status == "cancelled"
            base = store.base_variant(record.id)
            front = [v for v in store.pareto(record.id) if not v.is_base and v.source != MODEL]
        assert front and result["variants"] == len(front)
        assert base is not None and base.evaluation is not None
        summary = end_message(client.progress_of("Evolving Net"))
        assert summary.startswith(f"Cancelled: {len(front)} Pareto-optimal variant")
        # nothing is read from output files: a cancelled run has none
        assert record.out_dir is not None
        assert not list(Path(record.out_dir).glob("variant-*.py"))

        actions = await client.code_actions(uri, CLASS_LINE)
        assert len(actions) == len(front)  # the base network is never offered
        for index, (action, variant) in enumerate(zip(actions, front), start=1):
            assert variant.evaluation is not None
            assert action.title.startswith(f"Apply variant {index}/{len(front)} (cancelled run): ")
            assert f"{variant.evaluation.accuracy * 100:.1f}% (" in action.title
            assert f"{variant.evaluation.params:,} params" in action.title
        change = document_edit(actions[0])
        assert change.text_document.version == client.versions[uri]
        assert client.apply(types.WorkspaceEdit(document_changes=[change])) == (True, None)
        assert client.texts[uri] == front[0].source
    finally:
        await stop_editor(client)


# -- after a restart: runs written to the store directly ----------------------------------

BASE_FIGURES = (0.96, 2410, 0.20)
WIDER_FIGURES = (0.972, 3610, 0.24)  # more accurate, larger, slower: on the front
GELU_FIGURES = (0.951, 2410, 0.15)  # faster: on the front


def record_run(
    model_file: Path,
    status: str,
    variants: list[tuple[str, tuple[float, int, float]]],
    base: str = MODEL,
) -> tuple[str, dict[str, int]]:
    """A run of `model_file` with these evaluated variants (the base first), all of them on
    its Pareto front; the run's id and each source's variant id."""
    store_path = model_file.parent / ".nnevolve" / "runs.sqlite"
    with RunStore(store_path) as store:
        budget_key = f"budget-{len(store.list_runs())}"  # each run its own evaluations
        run_id = create_model_run(store, model_file, base=base, budget_key=budget_key,
                                  config={"dataset": "digits", "generations": 3})
        ids = {}
        for source, (accuracy, params, latency_ms) in [(base, BASE_FIGURES), *variants]:
            ids[source] = store.add_variant(
                run_id,
                source=source,
                source_hash=source_hash(source),
                edits=[] if source == base else [{"op": "replace", "summary": "a change"}],
                status="evaluated",
                is_base=source == base,
            )
            store.put_evaluation(
                source_hash(source),
                "digits",
                budget_key,
                Evaluation("ok", accuracy=accuracy, params=params, latency_ms=latency_ms),
            )
        store.set_pareto(run_id, ids.values())  # the base is on the front too
        store.set_run_status(run_id, status)
    return run_id, ids


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def editor(tmp_path_factory: pytest.TempPathFactory):
    client = await start_editor(tmp_path_factory.mktemp("restart"))
    yield client
    await stop_editor(client)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    return write_workspace(tmp_path)


async def titles(editor: EditorClient, uri: str) -> list[str]:
    return [action.title for action in await editor.code_actions(uri, CLASS_LINE)]


# the figures, then the variant's changes against the user's network (nnevolve.changes)
WIDER_CHANGES = "line 10: Linear out_features 32→48; line 12: Linear in_features 32→48"
GELU_CHANGES = "line 11: nn.ReLU → nn.GELU"
CANCELLED_TITLES = [
    "Apply variant 1/2 (cancelled run): 97.2% (+1.2), 3,610 params (+50%), 0.24 ms (+20%)"
    f" — {WIDER_CHANGES}",
    (
        "Apply variant 2/2 (cancelled run): 95.1% (\u22120.9), 2,410 params (\u00b10%), "
        f"0.15 ms (\u221225%) — {GELU_CHANGES}"
    ),
]


async def test_reopening_offers_the_latest_cancelled_run(
    editor: EditorClient, model_file: Path
) -> None:
    record_run(model_file, "finished", [(GELU, GELU_FIGURES)])
    run_id, ids = record_run(
        model_file, "cancelled", [(WIDER, WIDER_FIGURES), (GELU, GELU_FIGURES)]
    )
    uri = editor.open(model_file)
    try:
        assert await titles(editor, uri) == CANCELLED_TITLES
        runs = await editor.request("nnevolve/runs", {"uri": uri})
        assert [(r["status"], r["offered"]) for r in runs["runs"]] == [
            ("cancelled", True),
            ("finished", False),
        ]
        # applying an action gives the variant's source exactly
        for index, source in enumerate([WIDER, GELU]):
            action = (await editor.code_actions(uri, CLASS_LINE))[index]
            change = document_edit(action)
            assert editor.apply(types.WorkspaceEdit(document_changes=[change])) == (True, None)
            assert editor.texts[uri] == source
            editor.set_text(uri, MODEL)
        # and so does the command, with the run and variant ids
        answer = await editor.execute(
            "nnevolve.applyVariant", {"uri": uri, "run": run_id, "variant": ids[GELU]}
        )
        assert answer == {"applied": True} and editor.texts[uri] == GELU
    finally:
        editor.close(uri)


async def test_a_cancelled_run_that_found_nothing_leaves_the_previous_run_offered(
    editor: EditorClient, model_file: Path
) -> None:
    record_run(model_file, "cancelled", [(WIDER, WIDER_FIGURES), (GELU, GELU_FIGURES)])
    record_run(model_file, "cancelled", [])  # cancelled while its base was evaluated
    uri = editor.open(model_file)
    try:
        assert await titles(editor, uri) == CANCELLED_TITLES
    finally:
        editor.close(uri)
    # a newer finished run is offered, and says it finished
    record_run(model_file, "finished", [(GELU, GELU_FIGURES)])
    uri = editor.open(model_file)
    try:
        assert await titles(editor, uri) == [
            "Apply variant 1/1: 95.1% (\u22120.9), 2,410 params (\u00b10%), 0.15 ms (\u221225%)"
            f" — {GELU_CHANGES}"
        ]
    finally:
        editor.close(uri)


async def test_a_cancelled_run_is_rebased_or_withheld_after_edits(
    editor: EditorClient, model_file: Path
) -> None:
    record_run(model_file, "cancelled", [(WIDER, WIDER_FIGURES), (GELU, GELU_FIGURES)])
    uri = editor.open(model_file)
    try:
        # a line of the user's own, away from both variants' lines: both re-based
        note = "import torch.nn as nn\n"
        mine = MODEL.replace(note, note + "import math\n", 1)
        version = editor.set_text(uri, mine)
        actions = await editor.code_actions(uri, CLASS_LINE + 1)
        assert [a.title for a in actions] == CANCELLED_TITLES
        change = document_edit(actions[1])
        assert change.text_document.version == version
        assert editor.apply(types.WorkspaceEdit(document_changes=[change])) == (True, None)
        assert editor.texts[uri] == GELU.replace(note, note + "import math\n", 1)
        # the user changes the line next to the wider variant's: it is withheld, GELU is not
        editor.set_text(uri, MODEL.replace("nn.Flatten()", "nn.Flatten(1)"))
        actions = await editor.code_actions(uri, CLASS_LINE)
        assert [a.title for a in actions if a.disabled is None] == CANCELLED_TITLES[1:]
        # the withheld one is shown disabled, with the reason, before any click
        reason = (
            "variant 1/2 changes lines of Net that were edited since the run started; "
            "undo those edits or evolve again"
        )
        assert [(a.title, a.disabled.reason, a.edit) for a in actions if a.disabled] == [
            (CANCELLED_TITLES[0], reason, None)
        ]
        # and so does the results view, with the same changes text as the code actions
        run_id = (await editor.request("nnevolve/runs", {"uri": uri}))["runs"][0]["id"]
        view = await editor.request("nnevolve/pareto", {"run": run_id, "uri": uri})
        assert [(v["withheld"], "; ".join(v["changes"])) for v in view["variants"]] == [
            (reason, WIDER_CHANGES),
            (None, GELU_CHANGES),
        ]
    finally:
        editor.close(uri)
