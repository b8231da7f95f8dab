"""Operators on genomes: typed crossover, insertion, deletion, replacement, argument mutation.

Each is a pure function of its parent genome(s), a seeded ``random.Random`` and, for the ones
that draw new lines, the gene pool; each answers an :class:`Offspring` or None when it finds no
legal edit.
"""

from __future__ import annotations

import dataclasses
import random
import re

from nnevolve.gene_pool import GenePool
from nnevolve.genome import Genome
from nnevolve.operators.common import Edit, Offspring
from nnevolve.operators.config import crossover_config, delete_config, insert_config, mutate_config
from nnevolve.operators.crossover import crossover as crossover_lines
from nnevolve.operators.recipe import RecipeText, crossover_recipe, mutate_recipe
from nnevolve.operators.delete import delete
from nnevolve.operators.insert import insert
from nnevolve.operators.insert_block import insert_block
from nnevolve.operators.insert_residual import insert_residual
from nnevolve.operators.mutate_args import mutate_args
from nnevolve.operators.replace import replace
from nnevolve.operators.replace_block import replace_block

# how often mutate() tries each operator first: small parameter steps most, structure less
MUTATION_WEIGHTS = {"mutate_args": 4, "insert": 3, "replace": 3, "delete": 2,
                    "mutate_config": 4, "insert_config": 2, "delete_config": 2,
                    "mutate_recipe": 4, "insert_block": 1, "replace_block": 1,
                    "insert_residual": 1}


def crossover(a: Genome, b: Genome, rng: random.Random, *, training: bool = False,
              train_a: RecipeText | None = None,
              train_b: RecipeText | None = None) -> Offspring | None:
    """Typed crossover of layer lines, of configuration tables (when both parents have one
    that differs) or of training-recipe lines (in the model files, or in the parents'
    training scripts ``train_a`` / ``train_b``): a child of ``a`` with material from ``b``."""
    if training and rng.random() < 0.25:
        child = crossover_recipe(a, b, rng, train_a, train_b)
        if child is not None:
            return child
    if a.config[1] and rng.random() < 0.3:
        child = crossover_config(a, b, rng)
        if child is not None:
            return child
    return shared_edits_noted(a, crossover_lines(a, b, rng))


_LINE = re.compile(r"\bat line (\d+)")


def shared_edits_noted(g: Genome, child: Offspring | None) -> Offspring | None:
    """Say so in an edit's summary when it changes a block class built several times:
    the edit applies to every instance of the block."""
    if child is None or g.liveness is None:
        return child
    edits = []
    for edit in child.edits:
        match = _LINE.search(edit.summary)
        owner = g.owner_class_at(int(match.group(1))) if match else None
        if match and owner is not None and owner != g.class_name:
            built = max((g.instances(s) for s in g.sites if s.line == int(match.group(1))),
                        default=0)
            if built > 1:
                edit = Edit(edit.op, f"{edit.summary} (in {owner}: all {built} instances)")
        edits.append(edit)
    return dataclasses.replace(child, edits=tuple(edits))


def mutate(g: Genome, rng: random.Random, pool: GenePool, *, training: bool = False,
           train: RecipeText | None = None) -> Offspring | None:
    """One mutation of ``g``: an operator drawn by :data:`MUTATION_WEIGHTS`, then the others.

    With ``training``, the recipe is edited where it is written: the model file, else the
    training script ``train`` (the offspring then carries the script's new text).
    None only when no mutation operator finds a legal edit.
    """
    operators = {
        "mutate_args": lambda: mutate_args(g, rng),
        "insert": lambda: insert(g, rng, pool),
        "insert_block": lambda: insert_block(g, rng, pool),
        "insert_residual": lambda: insert_residual(g, rng, pool),
        "replace": lambda: replace(g, rng, pool),
        "replace_block": lambda: replace_block(g, rng, pool),
        "delete": lambda: delete(g, rng),
        "mutate_config": lambda: mutate_config(g, rng),
        "insert_config": lambda: insert_config(g, rng),
        "delete_config": lambda: delete_config(g, rng),
    }
    if training:  # the training recipe written in the file is part of the genome
        operators["mutate_recipe"] = lambda: mutate_recipe(g, rng, train)
    names = list(operators)
    while names:
        name = rng.choices(names, [MUTATION_WEIGHTS[n] for n in names])[0]
        offspring = operators[name]()
        if offspring is not None:
            return shared_edits_noted(g, offspring)
        names.remove(name)
    return None


__all__ = [
    "Edit",
    "Offspring",
    "RecipeText",
    "crossover",
    "crossover_config",
    "delete",
    "delete_config",
    "insert_config",
    "mutate_config",
    "mutate_recipe",
    "insert",
    "insert_block",
    "insert_residual",
    "mutate",
    "mutate_args",
    "replace",
    "replace_block",
]
