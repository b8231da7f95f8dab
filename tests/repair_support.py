"""Shared helpers for the repair tests: run a repaired model for real, on CPU tensors."""

from __future__ import annotations

import textwrap
import types

import torch

DIGITS = ((1, 8, 8), 10)
MNIST = ((1, 28, 28), 10)
CIFAR = ((3, 32, 32), 10)


def src(text: str) -> str:
    """Dedented source with a single trailing newline (fixtures read like files)."""
    return textwrap.dedent(text).lstrip("\n")


def run_for_real(source: str, class_name: str, input_shape: tuple[int, ...],
                 num_classes: int) -> torch.Tensor:
    """Build the model with real tensors, run forward and backward on a batch of 2."""
    module = types.ModuleType("repaired_variant")
    exec(compile(source, "<repaired>", "exec"), module.__dict__)  # noqa: S102
    model = getattr(module, class_name)()
    output = model(torch.randn(2, *input_shape))
    assert isinstance(output, torch.Tensor)
    assert tuple(output.shape) == (2, num_classes)
    output.sum().backward()  # trainable end to end, not only shape-consistent
    return output
