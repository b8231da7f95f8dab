"""Properties of every operator on every sample network, over many seeds (hypothesis).

Every offspring must parse, still define the model class, differ from its parent in normalized
source, and build: the class can be instantiated (no unbound name, no invalid layer argument).
Shapes are the repair step's business and are not checked here.
"""

from __future__ import annotations

import ast
import random
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genome_support import NETWORKS
from nnevolve.gene_pool import GenePool
from nnevolve.genome import Genome, normalize_source
from nnevolve.genome.model_classes import module_subclasses
from nnevolve.genome.model_spec import instantiate
from nnevolve.operators import Offspring, crossover, mutate

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# the bundled samples when they are there, and the inline fixtures in any case
SOURCES = dict(NETWORKS)
SOURCES.update(
    {p.stem: p.read_text() for p in sorted(SAMPLES.glob("*.py"))} if SAMPLES.is_dir() else {}
)
# samples whose default model needs arguments are evolved through a model expression
MODELS = {"ctor_args": "Net(32, 10)"}
GENOMES = {name: Genome.parse(source, MODELS.get(name)) for name, source in SOURCES.items()}

POOL = GenePool()
POOL.add_catalog()
for _name, _source in SOURCES.items():
    POOL.harvest_source(_source, _name)

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def build(source: str, model: str) -> None:
    """Run the module and build the model expression, as training would."""
    module = types.ModuleType("offspring")
    exec(compile(source, "<offspring>", "exec"), module.__dict__)  # noqa: S102
    instantiate(module.__dict__, model)


def check(parent: Genome, child: Offspring | None) -> None:
    if child is None:
        return
    assert parent.class_name in {c.name for c in module_subclasses(ast.parse(child.source))}
    assert normalize_source(child.source) != parent.normalized
    assert child.edits and all(e.summary for e in child.edits)
    build(child.source, parent.model)


def test_there_are_networks_of_every_style():
    kinds = {s.kind for g in GENOMES.values() for s in g.sites}
    assert kinds == {"append", "sequential", "attribute", "forward_call"}
    for genome in GENOMES.values():
        build(genome.source, genome.model)  # the parents themselves build


@pytest.mark.parametrize("name", sorted(SOURCES))
@PROPERTY_SETTINGS
@given(seed=SEEDS)
def test_every_mutant_is_a_new_valid_program(name, seed):
    parent = GENOMES[name]
    child = mutate(parent, random.Random(seed), POOL)
    assert child is not None  # every sample network has something to mutate
    check(parent, child)


@PROPERTY_SETTINGS
@given(a=st.sampled_from(sorted(SOURCES)), b=st.sampled_from(sorted(SOURCES)), seed=SEEDS)
def test_every_crossover_child_is_a_new_valid_program(a, b, seed):
    check(GENOMES[a], crossover(GENOMES[a], GENOMES[b], random.Random(seed)))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_mutation_changes_only_a_few_lines(name):
    parent = GENOMES[name]
    lines = set(parent.source.splitlines())
    for seed in range(10):
        child = mutate(parent, random.Random(seed), POOL)
        assert child is not None
        new_lines = [line for line in child.source.splitlines() if line not in lines]
        # one edit touches at most a few lines: comments and formatting elsewhere stay
        assert len(new_lines) <= 3, child.edits
