"""The VS Code extension: its unit tests, and the whole user flow in a real VS Code.

The real VS Code is code-server 4.100.3 driven by headless Chromium through playwright-core
(`extension/e2e/run.mjs`); `extension/e2e/setup.sh` installs what it needs once, outside the
repository. Screenshots of every step land in `test-artifacts/e2e/`. Set
`NNEVOLVE_E2E_STEPS=1-2` to run only the first steps (open a model, marks and hover), and
`NNEVOLVE_E2E_PYTHON` to use another interpreter than the checkout's `.venv`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from e2e_support import ARTIFACTS, EXTENSION, REPO, Runner

pytestmark = pytest.mark.e2e


def _workspace_python() -> Path:
    """The checkout's virtual environment (where `make setup` installs nnevolve), unless
    NNEVOLVE_E2E_PYTHON names another interpreter."""
    if os.environ.get("NNEVOLVE_E2E_PYTHON"):
        return Path(os.environ["NNEVOLVE_E2E_PYTHON"])
    venv = REPO / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def _need_node() -> None:
    missing = [tool for tool in ("node", "npm", "make") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"the extension's tests need Node.js 20, npm and make; missing: {', '.join(missing)}"
        )


def test_extension_unit_tests_pass(run_isolated: Runner) -> None:
    _need_node()
    installed = run_isolated(["make", "-C", str(EXTENSION), "node_modules"], cwd=REPO, timeout=600)
    assert installed.returncode == 0, f"npm ci in extension/ failed:\n{installed.tail()}"

    result = run_isolated(["npm", "test"], cwd=EXTENSION, timeout=300)

    assert result.returncode == 0, f"extension unit tests failed:\n{result.tail(80)}"
    assert "ℹ fail 0" in result.output and "ℹ pass " in result.output, result.tail()


@pytest.mark.timeout(1500)
def test_real_vscode_marks_evolve_apply_and_results(run_isolated: Runner) -> None:
    _need_node()
    setup = run_isolated(["bash", str(EXTENSION / "e2e" / "setup.sh")], cwd=REPO, timeout=900)
    assert setup.returncode == 0, f"extension/e2e/setup.sh failed:\n{setup.tail()}"
    # setup.sh logs to stderr and prints the code-server executable last
    code_server = setup.output.strip().splitlines()[-1]
    assert Path(code_server).is_file(), f"setup.sh did not name code-server:\n{setup.tail()}"

    steps = os.environ.get("NNEVOLVE_E2E_STEPS", "all")
    result = run_isolated(
        [
            "node",
            str(EXTENSION / "e2e" / "run.mjs"),
            "--code-server",
            code_server,
            "--python",
            str(_workspace_python()),
            "--artifacts",
            str(ARTIFACTS),
            "--steps",
            steps,
        ],
        cwd=EXTENSION,
        timeout=1200,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "driver.log").write_text(result.output, encoding="utf-8")

    summary_file = ARTIFACTS / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {"steps": []}
    report = "\n".join(
        f"  step {s['step']} {'passed' if s['ok'] else 'FAILED'} in {s['seconds']:.1f} s: {s['name']}"
        + ("" if s["ok"] else f"\n    {s.get('error', '')}")
        for s in summary["steps"]
    )
    if result.returncode is None:
        pytest.fail(f"the VS Code end-to-end test ran out of time\n{report}\n{result.tail()}")
    assert result.returncode == 0, (
        f"the VS Code end-to-end test failed (screenshots and logs in {ARTIFACTS}):\n"
        f"{report}\n--- driver output ---\n{result.tail()}"
    )
    assert all(s["ok"] for s in summary["steps"]) and summary["steps"], report
