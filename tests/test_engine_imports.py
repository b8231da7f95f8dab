"""The engine process, waiting for its run, has not imported torch: torch is for the processes
that check and train variants (the forkserver preloads it for them), ~300 MB the waiting
engine would otherwise hold."""

from __future__ import annotations

import os
import subprocess
import sys

# the engine's start path (`python -m nnevolve.lsp.engine_guard`'s warm-up), then what it holds;
# a run already on stdin skips the wait for the forkserver's own torch import
PROBE = """
import json, sys
from nnevolve.lsp import engine_guard
engine_guard.warm_up()
print(json.dumps(sorted(m for m in ("torch", "nnevolve.run", "nnevolve.commands.evolve")
                        if m in sys.modules)))
"""


def test_the_waiting_engine_has_not_imported_torch() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", PROBE], input='{"args": []}\n', env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    loaded = done.stdout.strip().splitlines()[-1]
    assert loaded == '["nnevolve.commands.evolve", "nnevolve.run"]', done.stderr


def test_the_engine_asks_a_forked_process_which_devices_torch_sees() -> None:
    # the run's first step: importing torch here would delay a failing network's report
    probe = ("import sys; from nnevolve.evaluation.device import resolve_devices; "
             "print(resolve_devices('auto'), 'torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    devices, torch_here = done.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert torch_here == "False", done.stderr
    assert devices.startswith("['c")  # ['cpu'] or ['cuda:0', ...]: what torch sees
