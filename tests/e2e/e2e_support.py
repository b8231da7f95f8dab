"""Running the extension's node tools from pytest without leaving a process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extension"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
# every process started here inherits this variable: that is how leftovers are found
MARKER = "NNEVOLVE_E2E_RUN"


@dataclass
class Finished:
    returncode: int | None  # None: killed after its time limit
    output: str

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def marked_pids(marker: str) -> list[int]:
    """Processes whose environment carries `marker` (children that left our process group too)."""
    needle = f"{MARKER}={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


def _stop(pgid: int, marker: str) -> None:
    """SIGTERM the process group, then SIGKILL it and every marked process that is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and marked_pids(marker):
        time.sleep(0.2)
    for pid in marked_pids(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Runner:
    marker: str

    def __call__(
        self, command: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None
    ) -> Finished:
        """Run `command` in its own session; whatever it started is stopped when it returns."""
        full_env = {**os.environ, **(env or {}), MARKER: self.marker}
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # setsid: one process group to kill
        )
        try:
            output, _ = process.communicate(timeout=timeout)
            return Finished(process.returncode, output)
        except subprocess.TimeoutExpired:
            _stop(process.pid, self.marker)
            output, _ = process.communicate()
            return Finished(None, output)
        finally:
            _stop(process.pid, self.marker)
