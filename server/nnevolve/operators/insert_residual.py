"""Residual-block insertion: a residual block class of the gene pool (torchvision's
``BasicBlock``, a workspace's own) built after a layer of the network's image stack, as
``BasicBlock(C, C)`` with C the channels there; the class, the helpers it needs and their
imports are added to the file unless it has them already.

The block keeps the channels (``planes = C / expansion``) and runs at its default stride 1,
so its shortcut needs no projection and the network's downsampling is unchanged. The channel
count is read from the layer before: a convolution's output width or a normalization's
features, as a literal or an expression valid where the block goes, or, for a ``self``
attribute, as that layer's own attribute (``self.conv1.out_channels``), so that the block
follows later width edits (the repair cannot fix a block call's arguments).

Not where the next step changes the block's output in place: the block ends in a ReLU, whose
output the backward pass needs, and a user's ``nn.ReLU(inplace=True)`` or ``out += ...``
right after it would overwrite it; the point after that step takes the block instead.
"""

from __future__ import annotations

import ast
import itertools
import random

import libcst as cst

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Gene
from nnevolve.gene_pool.residual import ResidualBlock
from nnevolve.genome import Genome
from nnevolve.operators.channels import channels_at
from nnevolve.operators.common import Edit, Offspring, block_from, finish_source, first_child
from nnevolve.operators.insert import InsertionPoint, insert_at, insertion_points
from nnevolve.operators.insert_block import activation_next

DESCRIPTION = "Insert a residual block (from an installed model zoo or the workspace)."


def insert_residual(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one of the pool's residual blocks built after a layer; None when none fits."""
    blocks = pool.residual_blocks()
    points = residual_points(g)
    if not blocks or not points:
        return None
    return first_child(lambda: insert_residual_at(g, rng.choice(points), rng.choice(blocks)))


def residual_points(g: Genome) -> list[InsertionPoint]:
    """Where a block may go: after a layer of image data, and not where the next step changes
    the block's output in place (its final ReLU saves that output for the backward pass): the
    user's own activation (an in-place one) or an ``out += ...``."""
    return [p for p in insertion_points(g) if p.after and p.context == "2d"
            and not activation_next(g, p) and not _added_to_next(g, p)]


def _added_to_next(g: Genome, point: InsertionPoint) -> bool:
    """Whether the forward statement after the point's is ``<its variable> += ...``."""
    block = g.parents.get(point.statement) if point.style == "forward" else None
    if not isinstance(block, cst.IndentedBlock):
        return False
    body = [id(s) for s in block.body]
    following = body.index(id(point.statement)) + 1
    if following >= len(body):
        return False
    nxt = block.body[following]
    return (isinstance(nxt, cst.SimpleStatementLine) and len(nxt.body) == 1
            and isinstance(nxt.body[0], cst.AugAssign)
            and isinstance(nxt.body[0].target, cst.Name)
            and nxt.body[0].target.value == point.variable)


def insert_residual_at(g: Genome, point: InsertionPoint, block: ResidualBlock
                       ) -> Offspring | None:
    """``g`` with ``block`` built after ``point``'s layer and its class added to the file."""
    channels = channels_at(g, point)
    if channels is None:
        return None
    planes = _planes(channels, block.expansion)
    if planes is None:
        return None
    try:
        added, name = _definitions(g.tree, block)
    except (SyntaxError, ValueError):
        return None
    if _inside_itself(g, point, name):
        return None
    call = f"{name}({channels}, {planes})"
    child = insert_at(g, point, Gene(call, "residual", block.origin))
    if child is None:
        return None
    source = _with_definitions(child.source, added, block.imports, block.provenance)
    if source is None:
        return None
    words = child.edits[0].summary.split(" (from ", 1)[0].replace("insert ", "", 1)
    summary = f"insert residual block {words}{block_from(block)}"
    return finish_source(g, source, [Edit("insert_residual", summary)])


def _inside_itself(g: Genome, point: InsertionPoint, name: str) -> bool:
    """Whether the block would be built inside its own class (an endless recursion)."""
    return g.owner_class_at(point.site.line) == name


def _planes(channels: str, expansion: int) -> str | None:
    if expansion == 1:
        return channels
    try:
        value = ast.literal_eval(channels)
    except (ValueError, SyntaxError):
        simple = all(part.isidentifier() for part in channels.split("."))
        return f"{channels if simple else f'({channels})'} // {expansion}"
    return str(value // expansion) if isinstance(value, int) and value % expansion == 0 \
        else None


def _definitions(tree: ast.Module, block: ResidualBlock) -> tuple[list[str], str]:
    """The block's definitions the file still needs, and the block class's name there: a
    definition the file has already (added by an earlier insertion) is reused; one whose
    name the file uses for something else is renamed (``BasicBlock_2``)."""
    existing = {node.name: ast.dump(node) for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | set(existing)
    module = cst.parse_module(block.source)
    renames: dict[str, str] = {}
    added: list[str] = []
    for statement in module.body:
        if not isinstance(statement, (cst.ClassDef, cst.FunctionDef)):
            continue
        name = statement.name.value
        for number in itertools.count(1):
            candidate = name if number == 1 else f"{name}_{number}"
            renamed = statement.visit(_Renamer({**renames, name: candidate}))
            code = module.code_for_node(renamed).strip()
            if existing.get(candidate) == ast.dump(ast.parse(code).body[0]):
                renames[name] = candidate  # already in the file
                break
            if candidate not in taken:
                renames[name] = candidate
                added.append(code)
                break
    return added, renames.get(block.name, block.name)


class _Renamer(cst.CSTTransformer):
    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.renames.get(updated_node.value)
        return updated_node if new is None else updated_node.with_changes(value=new)


def _with_definitions(source: str, definitions: list[str], imports: tuple[str, ...],
                      origin: str) -> str | None:
    """``source`` with the imports it lacks after its imports and ``definitions`` before its
    first class or function, each led by a ``# from torchvision resnet.py`` comment (``origin``):
    the user's file says where the code came from, and so does the variant's list of changes."""
    try:
        module = cst.parse_module(source)
        tree = ast.parse(source)
    except (cst.ParserSyntaxError, SyntaxError):
        return None
    bound = {(a.asname or a.name).split(".")[0] for n in tree.body
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    lacking = [line for line in imports
               if not {(a.asname or a.name).split(".")[0] for a in ast.parse(line).body[0].names}
               <= bound]  # type: ignore[attr-defined]
    body = list(module.body)
    last_import = max((i for i, s in enumerate(body) if isinstance(s, cst.SimpleStatementLine)
                       and any(isinstance(b, (cst.Import, cst.ImportFrom)) for b in s.body)),
                      default=-1)
    new_imports = [cst.parse_statement(line + "\n") for line in lacking]
    body[last_import + 1:last_import + 1] = new_imports
    first_def = next((i for i, s in enumerate(body)
                      if isinstance(s, (cst.ClassDef, cst.FunctionDef))), len(body))
    gap = [cst.EmptyLine(), cst.EmptyLine()]
    credit = [*gap, cst.EmptyLine(comment=cst.Comment(f"# {origin}"))]
    statements = [cst.parse_statement(code + "\n").with_changes(leading_lines=credit)
                  for code in definitions]
    if first_def < len(body) and statements:
        follower = body[first_def]
        body[first_def] = follower.with_changes(leading_lines=gap)
    body[first_def:first_def] = statements
    return module.with_changes(body=body).code
