"""The idiom samples: each builds from its model expression and maps digits to ten logits.

They are the networks the whole-model genome is measured on (config tables, block classes,
factories, constructor arguments), so their idioms and sizes are pinned here; the coverage ground
truth in benchmarks/networks/ground_truth.json must still point at their text.
"""

from __future__ import annotations

import ast
import json
import re
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
GROUND_TRUTH = ROOT / "benchmarks" / "networks" / "ground_truth.json"
# file -> {model expression: parameter count}
MODELS = {
    "vgg_cfg.py": {"VGG('VGG-A')": 15_642, "VGG11": 15_642, "VGG('VGG-D')": 30_258},
    "resnet_blocks.py": {
        "ResNet8": 19_810,
        "ResNet14B": 33_090,
        "ResNet(BasicBlock, [2, 1, 1])": 20_994,
    },
    "mobilenet_table.py": {"MobileNet": 10_634, "MobileNet(num_classes=10)": 10_634},
    "densenet_concat.py": {
        "densenet_tiny": 3_586,
        "DenseNet(Bottleneck, [3, 2], growth_rate=6)": 10_012,
    },
    "ctor_args.py": {
        "Net(32, 10)": 4_538,
        "Net(hidden=32, num_classes=10, dropout=0.2)": 4_538,
    },
}
# the classes that must not build without arguments: that is the idiom they show
NEED_ARGUMENTS = {
    "vgg_cfg.py": "VGG",
    "resnet_blocks.py": "ResNet",
    "densenet_concat.py": "DenseNet",
    "ctor_args.py": "Net",
}


def load(file: str) -> dict[str, object]:
    """Run a sample file as a module of its own; its namespace."""
    module = types.ModuleType(f"nnevolve_idiom_{file[:-3]}")
    path = SAMPLES / file
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, module.__dict__)  # noqa: S102
    return module.__dict__


def build(namespace: dict[str, object], expression: str):
    """The network a model expression names: a call as written, a bare name called with nothing."""
    torch = pytest.importorskip("torch")
    built = eval(expression, namespace)  # noqa: S307
    return built if isinstance(built, torch.nn.Module) else built()


@pytest.mark.parametrize("file", sorted(MODELS))
def test_each_model_expression_builds_maps_digits_to_ten_logits_with_pinned_size(file: str):
    torch = pytest.importorskip("torch")
    namespace = load(file)
    for expression, params in MODELS[file].items():
        network = build(namespace, expression)
        network.eval()
        with torch.no_grad():
            assert network(torch.zeros(4, 1, 8, 8)).shape == (4, 10), expression
        assert sum(p.numel() for p in network.parameters()) == params, expression


@pytest.mark.parametrize("file", sorted(MODELS))
def test_the_evolve_commands_in_the_docstring_name_models_that_build(file: str):
    source = (SAMPLES / file).read_text(encoding="utf-8")
    first = source.splitlines()[0]
    assert re.fullmatch(r"# Input: \(N, 1, 8, 8\) .*; output: \(N, 10\) class logits\.", first)
    doc = ast.get_docstring(ast.parse(source)) or ""
    shown = [m.strip('"') for m in re.findall(r'--model ("[^"]+"|[\w.]+)', doc)]
    assert f"nnevolve evolve samples/{file} --model" in doc
    assert shown and set(shown) <= set(MODELS[file]), shown


@pytest.mark.parametrize("file", sorted(NEED_ARGUMENTS))
def test_the_model_class_needs_constructor_arguments(file: str):
    pytest.importorskip("torch")
    with pytest.raises(TypeError, match="required positional argument"):
        load(file)[NEED_ARGUMENTS[file]]()


def test_the_tables_are_module_level_and_class_level_data():
    vgg = load("vgg_cfg.py")
    assert set(vgg["cfg"]) == {"VGG-A", "VGG-B", "VGG-D"}
    assert vgg["cfg"]["VGG-A"].count("M") == 2
    table = load("mobilenet_table.py")["MobileNet"].cfg
    assert [x if isinstance(x, int) else x[0] for x in table] == [16, 32, 32, 64, 64]
    assert load("resnet_blocks.py")["Bottleneck"].expansion == 4


def test_the_coverage_ground_truth_points_at_the_text_it_names():
    truth = json.loads(GROUND_TRUTH.read_text(encoding="utf-8"))
    assert {f"../../samples/{file}" for file in MODELS} <= set(truth)
    for file, entry in truth.items():
        lines = (GROUND_TRUTH.parent / file).read_text(encoding="utf-8").splitlines()
        assert entry["live_lines"], file
        for item in entry["live_lines"] + entry["dead_lines"]:
            span = lines[item["line"] - 1 : item["end_line"]]
            span[-1] = span[-1][: item["end_col"]]
            span[0] = span[0][item["col"] :]
            assert "\n".join(span) == item["text"], (file, item)
