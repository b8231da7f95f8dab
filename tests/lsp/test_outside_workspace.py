"""A model file outside every workspace folder (and every project) writes nothing next to itself:
its run store and outputs go to the user's cache, where its runs are found again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from evolve_support import MODEL, start_editor, stop_editor

from nnevolve.store import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

# no pyproject.toml covers the file: the budget comes with the command
# (without latency, which is timed, the front does not depend on the machine's load)
# 10 epochs: at 5 the variants' seeds disagree by more than 4 confirmation seeds pin down
BUDGET = {"dataset": "digits", "generations": 1, "population": 6, "epochs": 10, "workers": 1,
          "seed": 0, "objectives": ["error", "params"]}
CLASS_LINE = MODEL.splitlines().index("class Net(nn.Module):")


async def test_a_file_outside_the_workspace_keeps_its_runs_in_the_user_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # the server and its engine inherit it
    workspace, outside = tmp_path / "workspace", tmp_path / "downloads"
    workspace.mkdir()
    outside.mkdir()  # a folder the user may write, but not one they opened
    model_file = outside / "model.py"
    model_file.write_text(MODEL)

    client = await start_editor(workspace)
    try:
        uri = client.open(model_file)
        result = await asyncio.wait_for(
            client.execute("nnevolve.evolve", {"uri": uri, "model": "Net", "overrides": BUDGET}),
            600)
        assert result["status"] == "finished", result
    finally:
        await stop_editor(client)

    assert sorted(path.name for path in outside.iterdir()) == ["model.py"]
    (store_path,) = cache.rglob("runs.sqlite")
    assert store_path.is_relative_to(cache / "nnevolve")
    with RunStore(store_path, read_only=True) as store:
        run = store.get_run(result["run"])
    assert run is not None and run.file == str(model_file.resolve())
    assert run.out_dir is not None and Path(run.out_dir).is_relative_to(cache / "nnevolve")
    assert sorted(Path(run.out_dir).glob("variant-*.py"))  # the outputs were written there

    # a later session finds the run in the cache: offered again, listed, its front readable
    client = await start_editor(workspace)
    try:
        uri = client.open(model_file)
        listed = await client.request("nnevolve/runs", {"uri": uri})
        assert [(r["id"], r["offered"]) for r in listed["runs"]] == [(result["run"], True)]
        pareto = await client.request("nnevolve/pareto", {"run": result["run"], "uri": uri})
        assert pareto is not None and len(pareto["variants"]) == result["variants"]
        actions = await client.code_actions(uri, CLASS_LINE + 1)
        assert len(actions) == result["variants"]
    finally:
        await stop_editor(client)
    assert sorted(path.name for path in outside.iterdir()) == ["model.py"]
