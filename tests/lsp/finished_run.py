"""A pytest plugin: one finished run made from a terminal, shared by the tests that read it.

Load it with ``pytest_plugins = ["finished_run"]``. The run is made once per session with
``nnevolve evolve`` (no language server involved), so the server under test only meets it
in the run store: exactly the situation after a restart. ``run_editor`` is a language server
on its workspace, one per test module (whose tests run in the module's event loop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from evolve_support import EditorClient, run_cli, start_editor, stop_editor, write_workspace

from nnevolve.store import RunRecord, RunStore, Variant


@dataclass(frozen=True)
class FinishedRun:
    """A workspace whose model.py has one finished run in `.nnevolve/runs.sqlite`."""

    workspace: Path
    model_file: Path
    result: dict[str, Any]

    @property
    def store_path(self) -> Path:
        return self.workspace / ".nnevolve" / "runs.sqlite"

    def record(self) -> RunRecord:
        with RunStore(self.store_path) as store:
            record = store.get_run(self.result["run_id"])
            assert record is not None
            return record

    def base(self) -> Variant:
        with RunStore(self.store_path) as store:
            base = store.base_variant(self.result["run_id"])
            assert base is not None
            return base

    def front(self) -> list[Variant]:
        """The Pareto variants that change the network, most accurate first."""
        record = self.record()
        with RunStore(self.store_path) as store:
            return [
                v
                for v in store.pareto(record.id)
                if not v.is_base and v.source != record.base_source
            ]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    workspace = tmp_path_factory.mktemp("finished")
    # without latency (timed, so load-dependent) the front is the same on every machine
    # seed 1: its front has several variants (the tests tell them apart); seed 0 has one
    model_file = write_workspace(workspace, population=6, seed=1, objectives=["error", "params"])
    result = run_cli(model_file)
    assert result["status"] == "finished", result
    run = FinishedRun(workspace, model_file, result)
    assert len(run.front()) >= 2, "the tests need two variants to tell them apart"
    return run


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run_editor(finished_run: FinishedRun) -> AsyncIterator[EditorClient]:
    client = await start_editor(finished_run.workspace)
    yield client
    await stop_editor(client)
