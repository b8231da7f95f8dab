"""What the engine may edit for one model: its live layer lines, configuration entries and
the block classes and helpers it builds with (``nnevolve sites``, the editor's marks).

Liveness comes from the static check: the model is built and run forward once on the meta
device (``repair``), and only what that used is listed. Without a trace (a model that cannot
be built for the input shape) the listing falls back to what the code refers to, and says so.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from nnevolve.genome import Genome, GenomeError
from nnevolve.genome.model_spec import in_package, resolve_model

if TYPE_CHECKING:
    from nnevolve.operators.recipe import RecipeText


@dataclass(frozen=True)
class SiteItem:
    """One editable place: 1-based lines and 0-based character columns, as ``nnevolve tag``."""

    line: int
    end_line: int
    col: int
    end_col: int
    kind: str  # "layer" | "config" | "call" | "block" | "recipe"
    type: str  # layer: a line type; config/call: width | count | stride | marker; block: class | function
    text: str  # the code, or the entry's value
    owner: str  # the class or function it is in, or the table it belongs to
    instances: int = 0  # layers this line built in the checked model (0 when unknown)
    live: bool = True
    file: str = ""  # the training script's name for its recipe lines ("": the model file)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SiteListing:
    model: str  # the model expression the listing is for
    class_name: str
    items: tuple[SiteItem, ...]
    traced: bool  # liveness from a build + forward pass (else: from the code, statically)
    problem: str | None = None  # why the model could not be traced

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "class": self.class_name, "traced": self.traced,
                "problem": self.problem, "sites": [i.to_json() for i in self.items]}


def _owner_of(tree: ast.Module, line: int) -> str:
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.lineno <= line <= (
                node.end_lineno or node.lineno):
            return node.name
    return ""


def list_sites(source: str, model: str | None, input_shape: tuple[int, ...],
               num_classes: int, *, package: tuple[str, str] | None = None,
               training: bool | None = None, script: RecipeText | None = None) -> SiteListing:
    """The sites of ``model`` (a model expression; default: the file's default model), with
    the training recipe's literals when ``training`` (None: when the model file or ``script``,
    the project's training script, writes a recipe). The recipe is listed where it is written,
    as a run evolves it: in the model file, else in the script.

    Raises GenomeError when the file does not parse or the expression names no model of it.
    """
    from nnevolve.repair import repair  # noqa: PLC0415 (torch: only when listing)

    spec = resolve_model(source, model).with_classes(num_classes)
    built = in_package(spec.expression, package)  # a package's member runs inside it
    result = repair(source, built, input_shape, num_classes)
    live = result.liveness if result.ok else None
    # the listing is of the user's own text: a repaired copy would number other lines
    if result.ok and result.source != source:
        live = _liveness_of_unrepaired(source, built, input_shape, num_classes) or live
    genome = Genome.parse(source, spec.expression, live=live)
    items: list[SiteItem] = []
    for site in genome.live_sites():
        call = genome.anchor(site).call
        start, end = genome.positions.start(call), genome.positions.end(call)  # type: ignore[union-attr]
        items.append(SiteItem(site.line, site.end_line, start[1], end[1], "layer", site.type,
                              site.code, _owner_of(genome.tree, site.line),
                              genome.instances(site)))
    entries, _ = genome.config
    for entry in entries:
        kind = "call" if ("argument" in entry.table or entry.table.endswith("=")) else "config"
        line, col, end_line, end_col = entry.span
        items.append(SiteItem(line, end_line, col, end_col, kind, entry.role, repr(entry.value),
                              entry.table))
    if training is None or training:
        from nnevolve.operators.recipe import RecipeText  # noqa: PLC0415

        items.extend(_recipe_items(RecipeText.of(genome), script, listed=training is not None))
    definitions = {n.name: n for n in genome.tree.body
                   if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    for owner in genome.owners:
        node = definitions.get(owner)
        if node is None or owner == genome.class_name:
            continue
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        items.append(SiteItem(node.lineno, node.end_lineno or node.lineno, node.col_offset,
                              0, "block", kind, f"{kind} {owner}", owner))
    items.sort(key=lambda i: (i.file, i.line, i.col, i.kind))  # the model file first
    problem = None if result.ok else result.reason
    return SiteListing(spec.expression, genome.class_name, tuple(items), live is not None,
                       problem)


def _recipe_items(model_file: RecipeText, script: RecipeText | None,
                  listed: bool) -> list[SiteItem]:
    """The recipe's literals and optimizer calls in the file a run edits them in."""
    from nnevolve.operators.recipe import recipe_entries  # noqa: PLC0415

    entries, optimizers = recipe_entries(model_file)
    where = model_file
    if not (entries or optimizers) and script is not None:
        where = script
        entries, optimizers = recipe_entries(script)
    if not (listed or entries or optimizers):
        return []
    items = [SiteItem(*_lines_cols(e.span), "recipe", e.name, repr(e.value), e.call,
                      file=where.label) for e in entries]
    items += [SiteItem(c.lineno, c.end_lineno or c.lineno, c.col_offset, c.end_col_offset or 0,
                       "recipe", "optimizer", name, name, file=where.label)
              for c, name in optimizers]
    return items


def _lines_cols(span: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    line, col, end_line, end_col = span
    return line, end_line, col, end_col


def _liveness_of_unrepaired(source: str, model: str, input_shape: tuple[int, ...],
                            num_classes: int):  # type: ignore[no-untyped-def]
    """The liveness of the source as written: a trace with no repair rounds (widths as they are
    may still run forward when only the output width differs)."""
    from nnevolve.repair.instrument import instrument  # noqa: PLC0415
    from nnevolve.repair.shapes import trace_shapes  # noqa: PLC0415

    try:
        trace = trace_shapes(instrument(source), model, input_shape)
    except (SyntaxError, GenomeError):
        return None
    return trace.liveness
