"""Stopping `nnevolve evolve`: SIGTERM (the editor's cancel) ends it within a second, keeping
what it evaluated in the store; Ctrl-C (SIGINT) in a terminal also writes what it found."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from run_support import MLP as MODEL
from run_support import make_workspace
from test_run_resume import wait_for_evaluated, wait_in_store

pytestmark = pytest.mark.slow

SETTINGS = """
population = 6
generations = 4
epochs = 2
workers = 1
"""


def start(workspace: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nnevolve", "evolve", "mlp.py", *args], cwd=workspace,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "100"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path, SETTINGS, {"mlp.py": MODEL})


def test_sigterm_ends_the_run_within_a_second(workspace: Path) -> None:
    process = start(workspace, "--progress-jsonl")
    assert process.stdout is not None
    try:
        wait_for_evaluated(process.stdout, 2)
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        result = json.loads(process.stdout.readline())
        while result["event"] == "progress":  # reports sent before it stopped, and "done"
            result = json.loads(process.stdout.readline())
        recorded = time.monotonic() - stopped
        code = process.wait(timeout=30)
        took = time.monotonic() - stopped
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # what outlives the engine (the forkserver)
    assert result["event"] == "result" and result["status"] == "cancelled"
    assert code == 130
    # the run's end is in the store and on stdout well within the second; the process then
    # exits without the interpreter's teardown (2-5 s with torch loaded)
    assert recorded < 1.0, f"the cancelled run's result came {recorded:.2f} s after SIGTERM"
    assert took < 1.5, f"the engine exited {took:.2f} s after SIGTERM"
    assert not (workspace / ".nnevolve" / "runs" / result["run_id"] / "pareto.json").exists()


def test_ctrl_c_writes_what_the_run_found_and_how_to_resume_it(workspace: Path) -> None:
    process = start(workspace)
    try:
        run_id = wait_in_store(workspace / ".nnevolve" / "runs.sqlite", process, 3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert f"run {run_id} cancelled" in out
    assert f"nnevolve evolve --resume {run_id}" in out
    folder = workspace / ".nnevolve" / "runs" / run_id
    entries = json.loads((folder / "pareto.json").read_text())
    assert entries and all(entry["cancelled"] for entry in entries)
    for entry in entries:
        assert (folder / entry["file"]).is_file() and entry["changes"]
    assert (folder / "pareto.png").is_file()
    assert "what the run found so far" in out
