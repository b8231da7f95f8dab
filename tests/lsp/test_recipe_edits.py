"""A variant that changes the training script (the two-file sample, samples/recipe_split) is
offered as one edit of model.py and train.py, applied cleanly to both files, and withheld with
the reason when train.py was edited where the variant changes it.

The run is constructed in the store (as a finished run of the sample would leave it): which
variants a real search puts on its front is up to chance, the edit of each file is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from evolve_support import EditorClient, start_editor, stop_editor, write_workspace
from lsprotocol import types

from nnevolve.genome import source_hash, variant_hash
from nnevolve.store import Evaluation, RunStore

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "recipe_split"
MODEL = (SAMPLE / "model.py").read_text()
SCRIPT = (SAMPLE / "train.py").read_text()
# a variant that changes train.py only, and one that changes both files
LR_SCRIPT = SCRIPT.replace("lr=0.05", "lr=0.15")
BOTH_MODEL = MODEL.replace("nn.Linear(64, 64)", "nn.Linear(64, 32)").replace(
    "nn.Linear(64, 10)", "nn.Linear(32, 10)")
BOTH_SCRIPT = SCRIPT.replace("gamma=0.7", "gamma=0.9")


@dataclass(frozen=True)
class Project:
    workspace: Path
    model: Path
    train: Path
    run_id: str
    ids: dict[str, int]  # "lr": the train-only variant, "both": the two-file one


def _variant(store: RunStore, run_id: str, source: str, train: str | None,
             accuracy: float, params: int, **kwargs: object) -> int:
    digest = variant_hash(source, train)
    variant_id = store.add_variant(run_id, source=source, source_hash=digest,
                                   train_source=train, **kwargs)  # type: ignore[arg-type]
    store.put_evaluation(digest, "digits", "b", Evaluation(
        status="ok", accuracy=accuracy, params=params, latency_ms=0.1))
    store.set_variant_status(variant_id, "evaluated")
    return variant_id


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    workspace = tmp_path_factory.mktemp("recipe_split")
    model = write_workspace(workspace, model=MODEL, train_file="train.py")
    train = workspace / "train.py"
    train.write_text(SCRIPT)
    with RunStore(workspace / ".nnevolve" / "runs.sqlite") as store:
        run_id = store.create_run(
            file=str(model.resolve()), class_name="Net", base_source=MODEL,
            base_hash=source_hash(MODEL), config={"dataset": "digits"},
            dataset_fingerprint="digits", budget_key="b", train_file=str(train.resolve()),
            train_source=SCRIPT)
        _variant(store, run_id, MODEL, None, 0.80, 4810, is_base=True)
        ids = {"lr": _variant(store, run_id, MODEL, LR_SCRIPT, 0.90, 4810),
               "both": _variant(store, run_id, BOTH_MODEL, BOTH_SCRIPT, 0.85, 2410)}
        store.set_pareto(run_id, ids.values())
        store.set_run_status(run_id, "finished")
    return Project(workspace, model, train, run_id, ids)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def editor(project: Project) -> AsyncIterator[EditorClient]:
    client = await start_editor(project.workspace)
    yield client
    await stop_editor(client)


@pytest.fixture
def files(editor: EditorClient, project: Project):  # type: ignore[no-untyped-def]
    """model.py opened afresh; every document closed after the test, the files restored."""
    uri = editor.open(project.model)
    yield uri
    for open_uri in list(editor.texts):
        editor.close(open_uri)
        editor.texts.pop(open_uri)
    project.train.write_text(SCRIPT)


async def _actions(editor: EditorClient, uri: str) -> list[types.CodeAction]:
    line = MODEL.splitlines().index("class Net(nn.Module):")
    for _ in range(100):  # the stored run is looked up in the background on opening
        actions = await editor.code_actions(uri, line)
        if actions:
            return actions
        await __import__("asyncio").sleep(0.1)
    raise AssertionError("no variant offered")


def _edited_uris(action: types.CodeAction) -> list[str]:
    assert action.edit is not None and action.edit.document_changes is not None
    return [c.text_document.uri for c in action.edit.document_changes
            if isinstance(c, types.TextDocumentEdit)]


async def test_a_train_only_variant_edits_train_py_and_lands_cleanly(
        editor: EditorClient, project: Project, files: str) -> None:
    actions = await _actions(editor, files)
    lr = next(a for a in actions if "train.py line 16: SGD lr 0.05→0.15" in a.title)
    train_uri = project.train.resolve().as_uri()
    assert _edited_uris(lr) == [train_uri]  # the model file is as the variant has it
    applied, reason = editor.apply(lr.edit)  # type: ignore[arg-type]
    assert applied, reason
    assert editor.texts[train_uri] == LR_SCRIPT
    assert editor.texts[files] == MODEL


async def test_a_two_file_variant_is_one_edit_of_both_files(
        editor: EditorClient, project: Project, files: str) -> None:
    result = await editor.execute("nnevolve.applyVariant", {
        "uri": files, "run": project.run_id, "variant": project.ids["both"]})
    assert result["applied"] is True, result
    (params,) = editor.applied[-1:]
    assert sorted(_edited_uris(types.CodeAction(title="", edit=params.edit))) == sorted(
        [files, project.train.resolve().as_uri()])
    assert editor.texts[files] == BOTH_MODEL
    assert editor.texts[project.train.resolve().as_uri()] == BOTH_SCRIPT


async def test_editing_train_py_where_the_variant_changes_it_withholds_it(
        editor: EditorClient, project: Project, files: str) -> None:
    train_uri = editor.open(project.train)
    editor.set_text(train_uri, SCRIPT.replace("lr=0.05", "lr=0.07"))  # unsaved, in the editor
    actions = await _actions(editor, files)
    lr = next(a for a in actions if "SGD lr 0.05→0.15" in a.title)
    assert lr.edit is None and lr.disabled is not None
    assert "changes lines of train.py that were edited" in lr.disabled.reason
    refused = await editor.execute("nnevolve.applyVariant", {
        "uri": files, "run": project.run_id, "variant": project.ids["lr"]})
    assert refused["applied"] is False and "train.py" in refused["reason"]
    # an edit of other lines of train.py: the variant is re-based onto the user's text
    noted = SCRIPT.replace("(as in the common", "(as in many of the common")
    editor.set_text(train_uri, noted)
    actions = await _actions(editor, files)
    lr = next(a for a in actions if "SGD lr 0.05→0.15" in a.title)
    assert lr.edit is not None
    applied, reason = editor.apply(lr.edit)
    assert applied, reason
    assert editor.texts[train_uri] == LR_SCRIPT.replace("(as in the common",
                                                        "(as in many of the common")


async def test_a_train_py_changed_on_disk_during_the_run_withholds_the_variant(
        editor: EditorClient, project: Project, files: str) -> None:
    project.train.write_text(SCRIPT.replace("lr=0.05", "lr=0.01"))  # saved, not open
    actions = await _actions(editor, files)
    lr = next(a for a in actions if "SGD lr 0.05→0.15" in a.title)
    assert lr.edit is None and lr.disabled is not None
    assert "lines of train.py that were edited" in lr.disabled.reason
