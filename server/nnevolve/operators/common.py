"""What every operator shares: the Edit / Offspring types, the final validity check, small helpers."""

from __future__ import annotations

import ast
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import libcst as cst

from nnevolve.genome import Genome, Site, normalize_source
from nnevolve.genome.canonical import render
from nnevolve.genome.model_classes import module_subclasses
from nnevolve.operators.rewrite import Rewrite

if TYPE_CHECKING:
    from nnevolve.gene_pool.pool import Block, Gene
    from nnevolve.gene_pool.residual import ResidualBlock

T = TypeVar("T")
# sites an operator may change; reshape lines (Flatten) are the repair step's business
EDITABLE_TYPES = frozenset({"connection", "activation", "normalization", "pooling", "dropout"})
MODULE_KINDS = frozenset({"append", "sequential", "attribute", "returned", "local"})
ATTEMPTS = 8  # an operator retries a random choice this often before it gives up


@dataclass(frozen=True)
class Edit:
    """One change made to a variant, in human words."""

    op: str  # "crossover" | "insert" | "delete" | "replace" | "mutate_args" | "repair"
    summary: str  # "insert nn.ReLU() after line 14"


@dataclass(frozen=True)
class Offspring:
    """A new variant: its complete source and the edits that made it from its parent(s);
    `train_source`, the project's training script when an edit changed it (None: the
    parent's script as it was)."""

    source: str
    edits: tuple[Edit, ...]
    train_source: str | None = None


def first_child(attempt: Callable[[], Offspring | None]) -> Offspring | None:
    """The first offspring that ``attempt`` (one random choice and the edit it makes) gives in
    ATTEMPTS calls; None when every call gives None."""
    for _ in range(ATTEMPTS):
        child = attempt()
        if child is not None:
            return child
    return None


def finish(genome: Genome, rewrite: Rewrite, edits: Sequence[Edit]) -> Offspring | None:
    """The offspring of ``rewrite`` when it parses, keeps the model class and is a new variant."""
    return finish_source(genome, rewrite.apply().code, edits)


def finish_source(genome: Genome, source: str, edits: Sequence[Edit]) -> Offspring | None:
    """The offspring with ``source`` when it parses, keeps the model class and is new."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    if genome.class_name not in {c.name for c in module_subclasses(tree)}:
        return None
    if normalize_source(source) == genome.normalized:
        return None
    return Offspring(source, tuple(edits))


def layer_expression(genome: Genome, canonical: str, rewrite: Rewrite) -> cst.Call | None:
    """A canonical gene (``nn.ReLU()``) spelled for ``genome``'s file; records needed imports."""
    try:
        call = cst.parse_expression(canonical)
    except cst.ParserSyntaxError:
        return None
    if not isinstance(call, cst.Call):
        return None
    return spelled(call, genome, rewrite)


def spelled(call: cst.Call, genome: Genome, rewrite: Rewrite) -> cst.Call | None:
    """``call`` in the names ``genome``'s file imports; records the imports it needs."""
    try:
        rendered, imports = render(call, genome.tree)
    except ValueError:
        return None
    rewrite.need_imports(imports)
    return rendered


def code_of(node: cst.CSTNode) -> str:
    """The source text of a node, on one line where it fits."""
    return cst.Module([]).code_for_node(node).strip()


def choose(rng: random.Random, items: Sequence[T]) -> T | None:
    """``rng.choice`` that answers None for an empty sequence."""
    return rng.choice(items) if items else None


def editable_sites(genome: Genome, kinds: frozenset[str] | None = None) -> list[Site]:
    """The sites an operator may change: ones the forward pass uses, never reshape lines."""
    return [
        s
        for s in genome.live_sites()
        if s.type in EDITABLE_TYPES and (kinds is None or s.kind in kinds)
    ]


def from_where(gene: Gene | Block) -> str:
    """`` (from torchvision resnet.py)`` after an edit summary when the gene came from an
    installed model zoo; empty otherwise."""
    return f" ({gene.provenance})" if gene.provenance else ""


def block_from(block: Block | ResidualBlock) -> str:
    """`` (block from torchvision resnet.py)`` after a block edit's summary."""
    return f" (block {block.provenance})"


def block_comment(block: Block) -> str | None:
    """``# block from torchvision vgg.py``, for the end of a block's first line: where it comes
    from in the user's file once applied, and how a variant's changes (nnevolve.changes) tell
    the block's lines as one phrase; None for a block of no origin."""
    return f"# block {block.provenance}" if block.origin else None


def one_line(code: str) -> str:
    """``code`` with its line breaks and indentation collapsed, for edit summaries."""
    return " ".join(code.split()).replace("( ", "(").replace(" )", ")")
