"""Imported once by the forkserver, so every worker starts with torch ready (forks in ~0.1 s).

Import only: running torch operations here could start thread pools that a fork would copy.
"""

from __future__ import annotations

import torch
import torch._dynamo  # the first optimizer imports it: ~3 s per fresh process
import torch.optim  # noqa: F401

import nnevolve.datasets.splits
import nnevolve.evaluation.train
import nnevolve.repair.check  # noqa: F401  (the static checker forks from here too)
