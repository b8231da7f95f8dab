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


def head_input(model: torch.nn.Module) -> tuple[int, ...]:
    """The shape the output layer (the last Linear) is given for a batch of digits."""
    seen: list[tuple[int, ...]] = []
    head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    head.register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape)))
    model.eval()
    with torch.no_grad():
        assert tuple(model(torch.zeros(2, 1, 8, 8)).shape) == (2, 10)
    return seen[-1]


def trains(model: torch.nn.Module) -> bool:
    """Whether one training step on a batch of digits runs (False: autograd refuses it)."""
    model.train()
    try:
        model(torch.randn(2, 1, 8, 8)).sum().backward()
    except RuntimeError as exc:
        assert "modified by an inplace operation" in str(exc), exc
        return False
    return True
