"""The whole-model genome: model expressions, traced liveness, config sites and their operators.

The networks are the idiom samples (VGG config stack, ResNet blocks and factories, MobileNet
table, DenseNet concatenation) and small inline files with dead code.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nnevolve.gene_pool import GenePool
from nnevolve.genome import Genome, GenomeError
from nnevolve.genome.model_spec import instantiate, resolve_model
from nnevolve.operators import mutate
from nnevolve.operators.config import crossover_config, delete_config, insert_config, mutate_config
from nnevolve.repair import repair
from nnevolve.site_listing import list_sites

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
DIGITS = ((1, 8, 8), 10)
IDIOMS = {
    "vgg_cfg.py": "VGG('VGG-A')",
    "resnet_blocks.py": "ResNet8",
    "mobilenet_table.py": "MobileNet",
    "densenet_concat.py": "densenet_tiny",
    "ctor_args.py": "Net(32, 10)",
}

DEAD_CODE = '''
import torch.nn as nn
import torch.nn.functional as F

cfg = {"small": [8, "M", 16], "big": [64, "M", 128, 128]}


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)


class Net(nn.Module):
    def __init__(self, version="a", num_classes=10):
        super().__init__()
        layers, c = [], 1
        for v in cfg["small"]:
            if v == "M":
                layers += [nn.MaxPool2d(2)]
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
                c = v
        self.features = nn.Sequential(*layers)
        if version == "a":
            self.head = nn.Linear(16 * 4 * 4, num_classes)
        elif version == "b":
            self.head = nn.Linear(16, num_classes)
        self.spare = nn.Dropout(0.5)

    def forward(self, x):
        x = self.features(x).flatten(1)
        return self.head(x)
'''


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def checked_genome(source: str, model: str) -> Genome:
    result = repair(source, model, *DIGITS)
    assert result.ok, result.reason
    return Genome.parse(result.source, model, live=result.liveness)


# -- model expressions -------------------------------------------------------------------------


def test_a_class_a_factory_and_a_call_are_models():
    assert resolve_model(sample("resnet_blocks.py"), "ResNet8").class_name == "ResNet"
    assert resolve_model(sample("resnet_blocks.py"), "ResNet8").factory
    spec = resolve_model(sample("resnet_blocks.py"), "ResNet(BasicBlock, [1, 1, 1])")
    assert (spec.class_name, spec.factory) == ("ResNet", False)
    assert resolve_model(sample("vgg_cfg.py"), "VGG('VGG-B')").expression == "VGG('VGG-B')"


def test_a_model_that_needs_arguments_fails_with_the_exact_fix():
    with pytest.raises(GenomeError, match=r"""VGG needs an argument \(vgg_name\): pass it: --model "VGG\('VGG-A'\)\""""):
        resolve_model(sample("vgg_cfg.py"), "VGG")
    with pytest.raises(GenomeError, match=r"Net needs arguments \(hidden, num_classes\)"):
        resolve_model(sample("ctor_args.py"))


def test_the_default_model_is_a_wrapper_that_needs_no_arguments():
    assert resolve_model(sample("vgg_cfg.py")).expression == "VGG11"


def test_arguments_are_literals_or_names_of_the_file():
    with pytest.raises(GenomeError, match="not defined in the file"):
        resolve_model(sample("resnet_blocks.py"), "ResNet(Missing, [1, 1, 1])")
    with pytest.raises(GenomeError, match="literals or names of the file"):
        resolve_model(sample("vgg_cfg.py"), "VGG(__import__('os').getcwd())")
    with pytest.raises(GenomeError, match="no model class 'Nope'"):
        resolve_model(sample("vgg_cfg.py"), "Nope")


def test_the_class_count_goes_through_the_networks_own_parameter():
    spec = resolve_model(sample("vgg_cfg.py"), "VGG('VGG-A')")
    assert spec.with_classes(10).expression == "VGG('VGG-A')"  # the default already fits
    assert spec.with_classes(3).expression == "VGG('VGG-A', num_classes=3)"
    namespace: dict[str, object] = {}
    exec(sample("vgg_cfg.py"), namespace)  # noqa: S102
    model = instantiate(namespace, spec.with_classes(3).expression)
    assert model.classifier.out_features == 3  # type: ignore[attr-defined]
    positional = resolve_model(sample("ctor_args.py"), "Net(32, 10)")
    assert positional.with_classes(3).expression == "Net(32, 10)"  # the user's own choice
    result = repair(sample("vgg_cfg.py"), spec.with_classes(3).expression, (1, 8, 8), 3)
    assert result.ok and result.source == sample("vgg_cfg.py")  # nothing rewritten inside


# -- liveness ----------------------------------------------------------------------------------


def test_only_what_the_model_uses_is_live():
    genome = checked_genome(DEAD_CODE, "Net")
    lines = DEAD_CODE.splitlines()
    live = {lines[s.line - 1].strip() for s in genome.live_sites()}
    assert "self.head = nn.Linear(16 * 4 * 4, num_classes)" in live
    assert not any("Linear(16, num_classes)" in text for text in live)  # the branch not taken
    assert not any("Dropout" in text for text in live)  # built, never used in forward
    assert not any("Linear(3, 3)" in text for text in live)  # a class never built
    entries = genome.config[0]
    assert [e.value for e in entries] == [8, "M", 16]  # cfg["big"] is never read


def test_without_a_trace_the_genome_falls_back_to_what_the_code_refers_to():
    genome = Genome.parse(DEAD_CODE, "Net")
    assert "Unused" not in genome.owners
    assert {e.value for e in genome.config[0]} >= {64, 128}  # both tables: cannot tell


def test_block_classes_and_helpers_are_sites_of_the_model():
    genome = checked_genome(sample("resnet_blocks.py"), "ResNet8")
    assert "BasicBlock" in genome.owners and "Bottleneck" not in genome.owners
    block = [s for s in genome.live_sites() if genome.owner_class_at(s.line) == "BasicBlock"]
    assert len(block) >= 4
    assert all(genome.instances(s) >= 2 for s in block if s.kind != "forward_call")
    vgg = checked_genome(sample("vgg_cfg.py"), "VGG11")
    layers = {s.code for s in vgg.live_sites()}
    assert {"nn.BatchNorm2d(x)", "nn.ReLU(inplace=True)", "nn.MaxPool2d(kernel_size=2, stride=2)"} <= layers


def test_the_output_layer_is_the_model_classes_last_connection():
    genome = checked_genome(sample("vgg_cfg.py"), "VGG11")
    output = genome.output_site()
    assert output is not None and output.container == "classifier"


# -- operators on configuration data and blocks ------------------------------------------------


@pytest.mark.parametrize("operator", [mutate_config, insert_config, delete_config])
def test_config_edits_make_valid_models_and_touch_only_live_entries(operator):
    source = sample("vgg_cfg.py")
    genome = checked_genome(source, "VGG11")
    rng = random.Random(0)
    for _ in range(6):
        child = operator(genome, rng)
        assert child is not None
        changed = [i for i, (a, b) in enumerate(zip(source.splitlines(), child.source.splitlines()))
                   if a != b]
        assert changed == [12]  # line 13: cfg['VGG-A'], never the other tables
        assert repair(child.source, "VGG11", *DIGITS).ok


def test_counts_and_strides_of_block_calls_change_the_network():
    genome = checked_genome(sample("resnet_blocks.py"), "ResNet8")
    roles = {e.role for e in genome.config[0]}
    assert {"width", "count", "stride"} <= roles
    counts = [e for e in genome.config[0] if e.role == "count"]
    assert {e.table for e in counts} == {"ResNet argument 2", "BasicBlock.expansion"}
    (block,) = [e for e in genome.config[0] if e.role == "block"]
    assert (block.value, block.choices) == ("BasicBlock", ("Bottleneck",))


def test_a_block_class_gives_way_to_another_of_the_same_constructor():
    genome = checked_genome(sample("resnet_blocks.py"), "ResNet8")
    rng = random.Random(0)
    swaps = [c for c in (mutate_config(genome, rng) for _ in range(60))
             if c is not None and "block BasicBlock→Bottleneck" in c.edits[0].summary]
    assert swaps
    result = repair(swaps[0].source, "ResNet8", *DIGITS)
    assert result.ok and "return ResNet(Bottleneck, [1, 1, 1])" in result.source
    assert "Bottleneck" in Genome.parse(result.source, "ResNet8", live=result.liveness).owners


def test_tables_cross_between_parents():
    source = sample("vgg_cfg.py")
    a = checked_genome(source, "VGG11")
    b_source = source.replace("'VGG-A': [8, 'M', 16, 'M', 32, 32]", "'VGG-A': [12, 'M', 24, 24]")
    b = checked_genome(b_source, "VGG11")
    rng = random.Random(2)
    children = {crossover_config(a, b, rng).source for _ in range(10)}  # type: ignore[union-attr]
    assert len(children) > 1
    for child in children:
        assert repair(child, "VGG11", *DIGITS).ok


def test_an_edit_inside_a_block_says_it_applies_to_every_instance():
    genome = checked_genome(sample("resnet_blocks.py"), "ResNet8")
    pool = GenePool()
    pool.add_catalog()
    rng = random.Random(3)
    summaries = [e.summary for _ in range(20) for e in (mutate(genome, rng, pool) or ()).edits]  # type: ignore[union-attr]
    assert any("(in BasicBlock: all 3 instances)" in s for s in summaries)


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_every_idiom_evolves_to_valid_variants(name):
    source, model = sample(name), IDIOMS[name]
    genome = checked_genome(source, model)
    pool = GenePool()
    pool.add_catalog()
    rng = random.Random(0)
    valid = 0
    for _ in range(12):
        child = mutate(genome, rng, pool)
        if child is not None and repair(child.source, model, *DIGITS).ok:
            valid += 1
    assert valid >= 4


# -- nnevolve sites ----------------------------------------------------------------------------


def test_the_listing_has_live_lines_entries_and_blocks_only():
    listing = list_sites(DEAD_CODE, "Net", *DIGITS)
    assert listing.traced and listing.problem is None
    lines = {i.line for i in listing.items}
    text = DEAD_CODE.splitlines()
    assert all("Linear(16, num_classes)" not in text[line - 1] for line in lines)
    assert {i.kind for i in listing.items} >= {"layer", "config"}
    assert [i.text for i in listing.items if i.kind == "config"] == ["8", "'M'", "16"]


def test_sites_command_json(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "nnevolve", "sites", str(SAMPLES / "resnet_blocks.py"),
         "--model", "ResNet8", "--input-shape", "1x8x8", "--json"],
        capture_output=True, text=True, timeout=120, check=True)
    listing = json.loads(out.stdout)
    assert listing["model"] == "ResNet8" and listing["class"] == "ResNet" and listing["traced"]
    kinds = {item["kind"] for item in listing["sites"]}
    assert kinds == {"layer", "call", "block", "config"}  # config: BasicBlock.expansion
    assert {i["owner"] for i in listing["sites"] if i["kind"] == "block"} == {"BasicBlock", "ResNet8"}
    bad = subprocess.run(
        [sys.executable, "-m", "nnevolve", "sites", str(SAMPLES / "vgg_cfg.py"), "--model", "VGG",
         "--input-shape", "1x8x8", "--json"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "VGG('VGG-A')" in json.loads(bad.stdout)["error"]


def test_the_editor_offers_evolve_above_factories_that_need_no_arguments():
    from nnevolve.analysis import analyze
    from nnevolve.lsp.analysis_worker import model_classes_in

    source = sample("resnet_blocks.py") + "\n\ndef ResNetN(n):\n    return ResNet(BasicBlock, [n, n, n])\n"
    names = [m.name for m in model_classes_in(source, analyze(source))]
    assert {"ResNet8", "ResNet14B", "ResNet"} <= set(names)
    assert "ResNetN" not in names  # it needs an argument: no lens to click


@pytest.mark.parametrize("file, model, kinds", [
    ("vgg.py", "vgg11(num_classes=10)", {"config", "layer", "block"}),
    ("resnet.py", "resnet18(num_classes=10)", {"layer", "block"}),
    ("mobilenetv2.py", "mobilenet_v2(num_classes=10)", {"layer", "block"}),
])
def test_torchvision_files_run_as_members_of_their_package(file, model, kinds):
    import torchvision
    from torchvision.models import _api

    from nnevolve.genome.model_spec import package_of

    path = Path(torchvision.__file__).parent / "models" / file
    package = package_of(path)
    assert package is not None and package[1] == "torchvision.models"
    listing = list_sites(path.read_text(), model, (3, 32, 32), 10, package=package)
    assert listing.traced and listing.problem is None  # relative imports resolved
    assert kinds <= {i.kind for i in listing.items}
    assert "vgg11" in _api.BUILTIN_MODELS  # torchvision's registry is as it was


def test_a_layer_built_in_a_comprehension_is_a_site_of_its_every_instance():
    source = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), *[nn.Linear(64, 64) for _ in range(n)],
                                  nn.Linear(64, 10))

    def forward(self, x):
        return self.body(x)
'''
    genome = checked_genome(source, "Net")
    (looped,) = [s for s in genome.live_sites() if s.container == "comprehension"]
    assert looped.code == "nn.Linear(64, 64)" and genome.instances(looped) == 3
