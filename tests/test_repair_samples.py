"""The bundled samples, built for digits (1, 8, 8), repaired to run on MNIST and CIFAR shapes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nnevolve.repair import repair
from repair_support import CIFAR, DIGITS, MNIST, run_for_real

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_CLASSES = {"fcn.py": "FCN", "convnet_small.py": "SmallConvNet",
                  "convnet_large.py": "LargeConvNet", "layers_append.py": "AppendNet"}


def layer_calls(source: str) -> list[str]:
    """The layer constructors a source calls, in order (what a width repair must not change)."""
    return [ast.unparse(node.func) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and ast.unparse(node.func).startswith("nn.")]


@pytest.mark.parametrize("file", sorted(SAMPLE_CLASSES))
@pytest.mark.parametrize("task", [MNIST, CIFAR], ids=["mnist", "cifar"])
def test_each_sample_is_repaired_to_run_on_larger_images(file, task):
    source = (SAMPLES / file).read_text(encoding="utf-8")
    class_name = SAMPLE_CLASSES[file]
    as_is = repair(source, class_name, *DIGITS)
    assert as_is.ok and as_is.source == source and as_is.fixes == ()  # built for digits
    result = repair(source, class_name, *task)
    assert result.ok, result.reason
    assert any("in_features" in fix for fix in result.fixes)  # larger maps, wider classifier
    # only width arguments changed: the same layers, and no more changed lines than fixes
    assert layer_calls(result.source) == layer_calls(source)
    changed = [a for a, b in zip(source.splitlines(), result.source.splitlines()) if a != b]
    assert 0 < len(changed) <= len(result.fixes)
    run_for_real(result.source, class_name, *task)


def test_a_sample_fed_a_three_class_task_keeps_its_num_classes_argument():
    source = (SAMPLES / "layers_append.py").read_text(encoding="utf-8")
    # the output width is the num_classes argument: repair never writes a literal over it
    result = repair(source, "AppendNet", (1, 8, 8), 3)
    assert not result.ok
    assert result.reason == ("Linear out_features `num_classes` at line 20 would need 3: it is a "
                             "name, not rewritten (give the model this width through its "
                             "arguments)")
