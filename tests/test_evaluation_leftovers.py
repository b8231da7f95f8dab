"""Processes a variant starts die with its evaluation, and a variant that kills its worker or
the worker's parent fails alone: the pool replaces the worker and goes on."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nnevolve.evaluation import Budget, EvaluationPool
from nnevolve.process_tree import descendants, is_running
from run_support import NET

pytestmark = pytest.mark.slow

MLP = "import os, subprocess, time  # what the variants below call\n" + NET
BUDGET = Budget(epochs=1, max_train_seconds=5, time_limit_s=6, memory_mb=600)


def spawning(marker: str, *, then: str = "return self.net(x)") -> str:
    """The MLP whose first forward starts `sleep` three ways: a plain child, a child in a
    session of its own, and a double-forked daemon; all carry `marker` on their command line."""
    start = (
        "if not hasattr(self, 'spawned'):\n"
        f"            self.spawned = [subprocess.Popen(['sleep', '{marker}']),\n"
        f"                subprocess.Popen(['sleep', '{marker}'], start_new_session=True),\n"
        f"                subprocess.Popen(['sh', '-c', 'sleep {marker} &'])]\n"
        "            time.sleep(0.3)\n"
        "        "
    )
    return MLP.replace("return self.net(x)", start + then)


def new_marker() -> str:
    """A `sleep` duration no other process uses: 300 s and a random fraction."""
    return f"300.{secrets.randbelow(10**8):08d}"


# holds the GIL in C code for good (2**40 steps of backtracking): its worker's threads stop
HOLDS_THE_GIL = "import re; re.match(r'(a+)+$', 'a' * 40 + 'b'); return self.net(x)"


def leftovers(marker: str) -> list[int]:
    """Live processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def none_left(marker: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while leftovers(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not leftovers(marker)


def started(marker: str, count: int = 3, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while len(leftovers(marker)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(leftovers(marker)) >= count


@pytest.fixture(scope="module")
def pool():
    with EvaluationPool("digits", workers=1, budget=BUDGET, max_train=300, max_val=100) as shared:
        yield shared


@pytest.fixture(autouse=True)
def _no_strays():
    yield
    for marker_pid in leftovers("300."):  # never leave a test's sleeps running
        try:
            os.kill(marker_pid, 9)
        except OSError:
            pass


def test_children_of_a_finished_evaluation_are_killed(pool):
    marker = new_marker()
    result = pool.submit(spawning(marker), "Net").result(timeout=120)
    assert result.status == "ok", result.reason
    assert none_left(marker, timeout=2.0), leftovers(marker)


def test_children_of_a_timed_out_evaluation_are_killed(pool):
    marker = new_marker()
    result = pool.submit(spawning(marker, then="time.sleep(60)"), "Net").result(timeout=120)
    assert result.reason == "timeout after 6 s"
    assert none_left(marker), leftovers(marker)


def test_children_of_an_evaluation_that_killed_its_worker_are_killed(pool):
    marker = new_marker()
    result = pool.submit(spawning(marker, then="os._exit(5)"), "Net").result(timeout=120)
    assert result.reason == "the variant ended its worker process (exit code 5)"
    assert none_left(marker), leftovers(marker)  # in its group, or marked in its environment


def test_children_are_killed_when_the_pool_closes():
    marker = new_marker()
    with EvaluationPool("digits", workers=1, budget=Budget(time_limit_s=300),
                        max_train=300, max_val=100) as closing:
        future = closing.submit(spawning(marker, then="time.sleep(300)"), "Net")
        assert started(marker)
    assert future.result(timeout=10).reason == "cancelled"
    assert none_left(marker), leftovers(marker)


def test_a_variant_that_kills_its_worker_fails_alone(pool):
    before = pool.worker_pids
    killer = MLP.replace("return self.net(x)", "os.kill(os.getpid(), 9)")
    result = pool.submit(killer, "Net").result(timeout=120)
    assert result.status == "failed" and not result.pool_failure
    assert result.reason == "the variant killed its worker process (SIGKILL)"
    assert pool.submit(MLP, "Net").result(timeout=120).status == "ok"
    assert pool.worker_pids != before


def test_a_variant_that_kills_its_workers_parent_leaves_the_other_workers_alone():
    killer = MLP.replace("return self.net(x)", "os.kill(os.getppid(), 9); return self.net(x)")
    slow = MLP.replace("return self.net(x)", "time.sleep(0.002); return self.net(x)")
    with EvaluationPool("digits", workers=2, budget=BUDGET, max_train=300,
                        max_val=100) as two:
        innocent = two.submit(slow, "Net")
        guilty = two.submit(killer, "Net")
        later = [two.submit(MLP, "Net") for _ in range(3)]
        results = [f.result(timeout=180) for f in (innocent, guilty, *later)]
    assert results[0].status == "ok", results[0].reason  # not taken down with the forkserver
    assert not any(r.pool_failure for r in results), [r.reason for r in results]
    assert all(r.status == "ok" for r in results[2:]), [r.reason for r in results]  # new workers


def test_the_cli_returns_while_a_variants_children_would_hold_its_stderr(tmp_path):
    """`nnevolve evolve` with stderr captured ends with the run, not with the seed's sleeps."""
    marker = new_marker()
    seed = MLP.replace("        super().__init__()\n",
                       "        super().__init__()\n"
                       f"        subprocess.Popen(['sleep', '{marker}'])\n"
                       f"        subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n")
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent('''
        [tool.nnevolve]
        dataset = "digits"
        generations = 1
        population = 2
        max_evals = 1
        confirm_seeds = 0
        epochs = 3
        lr = 0.01
        workers = 1
        objectives = ["error", "params"]
    '''))
    (tmp_path / "net.py").write_text(seed)
    started_at = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "nnevolve", "evolve", "net.py", "--json"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=200,
                               check=False)
    # finished, or failed for a reason of its own: either way it has ended, with its result
    assert completed.returncode in (0, 1), completed.stderr[-3000:]
    assert json.loads(completed.stdout)["status"] in ("finished", "failed")
    assert time.monotonic() - started_at < 150
    assert none_left(marker, timeout=2.0), leftovers(marker)


def test_a_killed_engine_leaves_no_process_behind_even_when_its_variant_holds_the_gil():
    """A SIGKILLed pool's process takes its forkserver, its workers and their programs with
    it, even a worker whose own watch of the pool cannot run."""
    marker = new_marker()
    script = textwrap.dedent(f'''
        import time
        from nnevolve.evaluation import Budget, EvaluationPool
        if __name__ == "__main__":
            pool = EvaluationPool("digits", workers=1, budget=Budget(time_limit_s=300),
                                  max_train=300, max_val=100)
            pool.submit({spawning(marker, then=HOLDS_THE_GIL)!r}, "Net")
            time.sleep(300)
    ''')
    engine = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert started(marker, timeout=120)
        tree = descendants(engine.pid)  # the forkserver, the worker, the variant's programs
        assert len(tree) >= 5, tree
        os.kill(engine.pid, signal.SIGKILL)
        engine.wait(timeout=10)
        killed_at = time.monotonic()
        while any(is_running(pid) for pid in tree) and time.monotonic() - killed_at < 5:
            time.sleep(0.05)
        assert not [pid for pid in tree if is_running(pid)]
        assert none_left(marker, timeout=0)
    finally:
        engine.kill()
        engine.wait()
