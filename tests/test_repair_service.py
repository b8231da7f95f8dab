"""StaticChecker: repair() in a persistent subprocess that survives hangs and crashes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nnevolve.repair import StaticChecker, repair
from repair_support import DIGITS, src

NEEDS_REPAIR = src("""
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))

        def forward(self, x):
            return self.net(x)
    """)

HANGS_IN_INIT = src("""
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            while True:
                pass
    """)

KILLS_ITS_PROCESS = src("""
    import os
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            os._exit(7)
    """)


@pytest.fixture(scope="module")
def checker():
    with StaticChecker(*DIGITS, timeout_s=3.0) as checker:
        yield checker


def test_check_gives_the_same_result_as_repair_in_process(checker):
    result = checker.check(NEEDS_REPAIR, "Net")
    assert result == repair(NEEDS_REPAIR, "Net", *DIGITS)
    assert result.ok and "nn.Linear(64, 32)" in result.source


def test_a_variant_that_hangs_in_init_is_rejected_and_the_checker_keeps_working(checker):
    first_worker = checker._process.pid
    result = checker.check(HANGS_IN_INIT, "Net")
    assert not result.ok
    assert result.reason == "static check timed out after 3 s (building or running the model hangs)"
    assert result.source == HANGS_IN_INIT
    assert checker._process.pid != first_worker  # the hung worker was replaced...
    with pytest.raises(ProcessLookupError):
        os.kill(first_worker, 0)  # ...and is gone, not left spinning
    assert checker.check(NEEDS_REPAIR, "Net").ok


def test_a_variant_that_kills_the_worker_is_rejected_and_the_checker_keeps_working(checker):
    result = checker.check(KILLS_ITS_PROCESS, "Net")
    assert not result.ok
    assert result.reason == "the static-check worker died while checking this variant (exit code 7)"
    assert checker.check(NEEDS_REPAIR, "Net").ok


def test_a_closed_checker_refuses_checks_and_leaves_no_process():
    checker = StaticChecker((1, 28, 28), 10)
    process = checker._process
    checker.close()
    assert not process.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        checker.check(NEEDS_REPAIR, "Net")
    checker.close()  # closing twice is harmless


def test_bad_task_shapes_are_refused_before_any_process_starts():
    with pytest.raises(ValueError, match="num_classes"):
        StaticChecker((1, 8, 8), -1)


NOISY = src("""
    import os
    import torch.nn as nn

    os.write(1, b"noise from the file\\n")
    print("more noise")


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            os.write(1, b"noise from __init__\\n")
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))
    """)

SCRIPT = """
import sys
from nnevolve.repair import StaticChecker
if __name__ == "__main__":
    with StaticChecker((1, 8, 8), 10) as checker:
        result = checker.check(sys.stdin.read(), "Net")
    print("ok" if result.ok else result.reason)
"""


def test_nothing_a_variant_writes_reaches_the_parents_stdout():
    # a language server speaks its protocol on stdout: variants must not write into it
    done = subprocess.run([sys.executable, "-c", SCRIPT], input=NOISY, capture_output=True,
                          text=True, timeout=300, check=True)
    assert done.stdout == "ok\n"
    assert "noise from the file" in done.stderr  # moved to stderr, not lost silently
