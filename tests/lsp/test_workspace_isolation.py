"""Opening a folder runs none of its code; an untrusted workspace gets analysis only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from raw_server import RawServer

from nnevolve.lsp.run_lenses import LABEL_COMMAND
from nnevolve.lsp.trust import UNTRUSTED_LENS, UNTRUSTED_REASON

# the arguments the VS Code extension starts the server and its import check with
LAUNCH = json.loads(
    (Path(__file__).parents[2] / "extension" / "src" / "serverLaunch.json").read_text()
)
MODEL = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x)
"""
# modules Python or the server import at start, and the package itself
PLANTED = ("difflib", "runpy", "json", "argparse", "asyncio", "logging", "nnevolve", "typing")


def planted_workspace(folder: Path) -> Path:
    """A workspace whose modules, if imported, leave a marker file behind."""
    folder.mkdir()
    for name in PLANTED:
        code = f"open({str(folder / f'ran-{name}')!r}, 'w').close()\n"
        if name == "nnevolve":
            (folder / "nnevolve").mkdir()
            (folder / "nnevolve" / "__init__.py").write_text(code)
        else:
            (folder / f"{name}.py").write_text(code)
    (folder / "model.py").write_text(MODEL)
    return folder


def test_the_server_started_as_the_extension_starts_it_runs_no_workspace_file(tmp_path: Path):
    workspace = planted_workspace(tmp_path / "workspace")
    server = RawServer([sys.executable, *LAUNCH["server"]], cwd=workspace)
    try:
        server.initialize()
        uri = (workspace / "model.py").as_uri()
        server.open(uri, MODEL)
        hover = server.hover(uri, 6, 18)
        assert "Linear 64→10" in hover["result"]["contents"]["value"]
        lenses = server.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
        assert len(lenses["result"]) == 1  # the large-file child analysis aside, all features run
    finally:
        server.stop()
    assert sorted(p.name for p in workspace.glob("ran-*")) == []


def test_the_import_check_runs_no_workspace_file(tmp_path: Path):
    import subprocess

    workspace = planted_workspace(tmp_path / "workspace")
    done = subprocess.run(
        [sys.executable, *LAUNCH["importCheck"]], cwd=workspace, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).parent.parent != workspace
    assert sorted(p.name for p in workspace.glob("ran-*")) == []


def test_the_old_launch_did_run_workspace_files(tmp_path: Path):
    # what the test above guards against: `python -m nnevolve.lsp` in the workspace
    workspace = planted_workspace(tmp_path / "workspace")
    server = RawServer([sys.executable, "-m", "nnevolve.lsp"], cwd=workspace)
    server.process.wait(timeout=60)  # the planted nnevolve/ replaces the real one: no server
    assert (workspace / "ran-nnevolve").exists()


def test_an_untrusted_workspace_gets_analysis_but_no_evolve(tmp_path: Path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "model.py").write_text(MODEL)
    uri = (workspace / "model.py").as_uri()
    server = RawServer()
    try:
        server.initialize({"workspaceTrusted": False})
        server.open(uri, MODEL)
        hover = server.hover(uri, 6, 18)
        assert "Linear 64→10" in hover["result"]["contents"]["value"]  # analysis runs

        (lens,) = server.request("textDocument/codeLens", {"textDocument": {"uri": uri}})["result"]
        assert lens["command"] == {"title": UNTRUSTED_LENS, "command": LABEL_COMMAND}

        answer = server.request(
            "workspace/executeCommand",
            {"command": "nnevolve.evolve", "arguments": [{"uri": uri}]},
        )["result"]
        assert answer["started"] is False and UNTRUSTED_REASON in answer["reason"]
        shown = [m for m in server.received if m.get("method") == "window/showMessage"]
        assert UNTRUSTED_REASON in shown[-1]["params"]["message"]
        runs = server.request("nnevolve/runs", {"uri": uri})["result"]
        assert runs["runs"] == [] and runs["error"] == UNTRUSTED_REASON
    finally:
        server.stop()
    assert not (workspace / ".nnevolve").exists()  # nothing written, no engine started


@pytest.mark.parametrize("options", [None, {}, {"workspaceTrusted": True}])
def test_a_client_that_does_not_say_untrusted_can_evolve(tmp_path: Path, options):
    uri = (tmp_path / "model.py").as_uri()
    server = RawServer()
    try:
        server.initialize(options)
        server.open(uri, MODEL)
        (lens,) = server.request("textDocument/codeLens", {"textDocument": {"uri": uri}})["result"]
        assert lens["command"]["command"] == "nnevolve.evolve"
    finally:
        server.stop()
