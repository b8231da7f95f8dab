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
"""

from __future__ import annotations

import ast
import itertools
import random

import libcst as cst

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Gene
from nnevolve.gene_pool.residual import ResidualBlock
from nnevolve.genome import Genome, Site
from nnevolve.operators.common import ATTEMPTS, Edit, Offspring, block_from, finish_source
from nnevolve.operators.geometry import argument
from nnevolve.operators.insert import InsertionPoint, insert_at, insertion_points
from nnevolve.operators.replace import WIDTH_ARGS

DESCRIPTION = "Insert a residual block (from an installed model zoo or the workspace)."
PASS_THROUGH = frozenset({"activation", "dropout", "pooling"})  # keep the channel count


def insert_residual(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one of the pool's residual blocks built after a layer; None when none fits."""
    blocks = pool.residual_blocks()
    points = [p for p in insertion_points(g) if p.after and p.context == "2d"]
    if not blocks or not points:
        return None
    for _ in range(ATTEMPTS):
        child = insert_residual_at(g, rng.choice(points), rng.choice(blocks))
        if child is not None:
            return child
    return None


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
    source = _with_definitions(child.source, added, block.imports)
    if source is None:
        return None
    words = child.edits[0].summary.split(" (from ", 1)[0].replace("insert ", "", 1)
    summary = f"insert residual block {words}{block_from(block)}"
    return finish_source(g, source, [Edit("insert_residual", summary)])


def channels_at(g: Genome, point: InsertionPoint) -> str | None:
    """The channel count of the data after ``point``'s layer, as code valid there: the width
    of the convolution or normalization before it (through activations, pooling and dropout)
    in the same literal or layer list, or, in ``forward``, in a chain of statements that only
    apply layers (``x = self.pool(F.relu(self.conv1(x)))``); None when it cannot be told."""
    if point.style == "forward":
        candidates = _forward_chain(g, point.statement)
    else:
        ordered = g.in_flow_order(g.live_sites())
        if point.site not in ordered:
            return None
        candidates = [s for s in ordered[: ordered.index(point.site) + 1]
                      if _same_place(g, s, point)]
    for site in reversed(candidates):
        if site.type in PASS_THROUGH:
            continue
        found = _out_width(site)
        if found is None:
            return None
        name, width = found
        if point.style == "forward" and site.kind == "attribute" and _same_place(g, site, point):
            # read when the block is built: it follows later width edits
            return f"self.{site.container}.{name}"
        if isinstance(width, ast.Constant) or _same_place(g, site, point):
            return ast.unparse(width)
        return None
    return None


def _forward_chain(g: Genome, statement: cst.SimpleStatementLine | None) -> list[Site]:
    """The sites applied by ``statement`` and the statements right before it that feed it,
    in forward order, as long as each only applies layers to the variable it assigns."""
    chain: list[Site] = []
    while statement is not None:
        applied = _applied_sites(g, statement)
        if applied is None:
            break
        chain = applied + chain
        block = getattr(g.parents.get(statement), "body", ())
        ids = [id(s) for s in block]
        index = ids.index(id(statement)) if id(statement) in ids else 0
        previous = block[index - 1] if index > 0 else None
        statement = previous if isinstance(previous, cst.SimpleStatementLine) else None
    return chain


def _applied_sites(g: Genome, statement: cst.SimpleStatementLine) -> list[Site] | None:
    """The sites of ``v = f(g(v))`` when every call of it applies a site's layer."""
    small = statement.body[0] if len(statement.body) == 1 else None
    if not isinstance(small, cst.Assign):
        return None
    calls: dict[int, Site] = {}
    for site in g.sites:
        anchor = g.anchor(site)
        if site.kind == "attribute":
            calls.update((id(c), site) for c, st in zip(anchor.use_calls, anchor.use_statements)
                         if st is statement)
        elif site.kind == "forward_call" and anchor.statement is statement:
            calls[id(anchor.call)] = site
    found: list[Site] = []
    value: cst.BaseExpression = small.value
    while isinstance(value, cst.Call) and id(value) in calls and value.args:
        found.insert(0, calls[id(value)])
        value = value.args[0].value
    return found if found and isinstance(value, cst.Name) else None


def _out_width(site: Site) -> tuple[str, ast.expr] | None:
    """The output width argument of a convolution or normalization: its name (the layer's
    attribute of the same name) and its value."""
    try:
        call = ast.parse(site.code.strip(), mode="eval").body
    except SyntaxError:
        return None
    kind = site.name.rsplit(".", 1)[-1]
    if not isinstance(call, ast.Call) or site.kind == "forward_call":
        return None
    widths = WIDTH_ARGS.get(kind, ())
    if site.type == "connection" and kind.startswith("Conv") and len(widths) == 2:
        name, position = widths[1]
    elif site.type == "normalization" and widths and kind != "LayerNorm":
        name, position = widths[-1]
    else:
        return None
    value = argument(call, name, position)
    if value is None or isinstance(value, ast.Constant) and not isinstance(value.value, int):
        return None
    return name, value


def _same_place(g: Genome, site: Site, point: InsertionPoint) -> bool:
    """Whether ``site``'s names mean the same where the block goes: the same literal or
    layer list, or a ``self`` attribute of the ``__init__`` the block's attribute joins."""
    here, there = g.anchor(site), g.anchor(point.site)
    if point.style == "sequential":
        return site.kind == "sequential" and here.sequence is there.sequence
    if point.style == "append":
        return site.kind == "append" and site.container == point.site.container \
            and here.method == there.method
    return (site.kind == "attribute" and here.method == "__init__"
            and g.owner_class_at(site.line) == g.owner_class_at(point.site.line))


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


def _with_definitions(source: str, definitions: list[str], imports: tuple[str, ...]) -> str | None:
    """``source`` with the imports it lacks after its imports and ``definitions`` before its
    first class or function."""
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
    statements = [cst.parse_statement(code + "\n").with_changes(leading_lines=gap)
                  for code in definitions]
    if first_def < len(body) and statements:
        follower = body[first_def]
        body[first_def] = follower.with_changes(leading_lines=gap)
    body[first_def:first_def] = statements
    return module.with_changes(body=body).code
