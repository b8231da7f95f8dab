"""A run's variants are applied only to the file that run evolved."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lsprotocol import types

from nnevolve.genome.normalize import source_hash
from nnevolve.store import Evaluation, RunStore

if TYPE_CHECKING:
    from conftest import RecordingClient

pytestmark = pytest.mark.asyncio(loop_scope="function")

MODEL = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, {width})
        self.out = nn.Linear({width}, 10)

    def forward(self, x):
        return self.out(self.fc(x.flatten(1)))
"""


def stored_run(store_path: Path, model_file: Path) -> tuple[str, int]:
    """A finished run of `model_file` with one Pareto variant (recorded, not trained)."""
    base, variant = MODEL.format(width=32), MODEL.format(width=16)
    with RunStore(store_path) as store:
        run_id = store.create_run(
            file=str(model_file.resolve()), class_name="Net", base_source=base,
            base_hash=source_hash(base), config={}, dataset_fingerprint="d", budget_key="b",
        )
        ids = []
        for source, accuracy, is_base in ((base, 0.9, True), (variant, 0.91, False)):
            ids.append(store.add_variant(
                run_id, source=source, source_hash=source_hash(source), status="evaluated",
                is_base=is_base,
            ))
            store.put_evaluation(
                source_hash(source), "d", "b",
                Evaluation("ok", accuracy=accuracy, params=1000, latency_ms=0.1),
            )
        store.set_pareto(run_id, ids)
        store.set_run_status(run_id, "finished")
    return run_id, ids[1]


async def test_apply_variant_refuses_another_documents_run(launch, tmp_path: Path):
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    mine, other = workspace / "mine.py", workspace / "other.py"
    for file in (mine, other):
        file.write_text(MODEL.format(width=32))
    run_id, variant_id = stored_run(workspace / ".nnevolve" / "runs.sqlite", other)

    client: RecordingClient = await launch()
    edits: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def record_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    for file in (mine, other):
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=file.as_uri(), language_id="python", version=1, text=file.read_text()
                )
            )
        )

    async def apply(file: Path) -> dict:
        return await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="nnevolve.applyVariant",
                arguments=[{"uri": file.as_uri(), "run": run_id, "variant": variant_id}],
            )
        )

    try:
        refused = await apply(mine)
        assert refused["applied"] is False
        assert f"run {run_id} evolved other.py, not mine.py" in refused["reason"]
        assert edits == []  # nothing was sent to the editor
        assert any("evolved other.py" in m.message for m in client.messages)

        applied = await apply(other)  # the run's own file takes it
        assert applied["applied"] is True
        (edit,) = edits
        assert edit.edit.document_changes[0].text_document.uri == other.as_uri()
    finally:
        await client.shutdown_session()
