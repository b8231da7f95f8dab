"""Fixtures of the VS Code extension tests."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest
from e2e_support import Runner, marked_pids


@pytest.fixture
def run_isolated() -> Iterator[Runner]:
    """Runs node / shell tools so that no process they start outlives the test."""
    runner = Runner(uuid.uuid4().hex)
    yield runner
    leftovers = marked_pids(runner.marker)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"processes left behind: {leftovers}"
