"""Seed networks and helpers shared by the run, search and `nnevolve evolve` tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# A poor network for its size: sigmoid activations behind heavy dropout learn little in one
# epoch, so removing or narrowing layers gives smaller networks that are at least as accurate.
SLOW_NET = '''"""A deliberately poor MLP for digits."""
import torch
from torch import nn


class SlowNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 128),
            nn.Sigmoid(),
            nn.Dropout(0.7),
            nn.Linear(128, 128),
            nn.Sigmoid(),
            nn.Dropout(0.7),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.net(x)
'''

# A plain MLP for digits with two hidden layers.
MLP = '''"""A small MLP for digits."""
import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.net(x)
'''

# The smallest digits network, class Net: the evaluation tests train it many times.
NET = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.net(x)
'''


# A small digits run; the tests override what they are about.
SMALL_RUN: dict[str, object] = {
    "dataset": "digits", "population": 4, "generations": 1, "epochs": 2, "lr": 0.01,
    "workers": 2, "seed": 3, "objectives": ["error", "params"],
}


def run_settings(**overrides: object) -> str:
    """`[tool.nnevolve]` lines: SMALL_RUN with `overrides`."""
    return "\n".join(f"{key} = {json.dumps(value)}"
                     for key, value in {**SMALL_RUN, **overrides}.items())


def make_workspace(folder: Path, settings: str, files: dict[str, str]) -> Path:
    """A project folder: `[tool.nnevolve]` settings in its pyproject.toml, and model files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f"[tool.nnevolve]\n{settings.strip()}\n")
    for name, source in files.items():
        (folder / name).write_text(source)
    return folder


def nnevolve(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m nnevolve ARGS` in `cwd`, as a user would run it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "nnevolve", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
