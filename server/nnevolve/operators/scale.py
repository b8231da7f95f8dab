"""Scaling along the size axis: the whole network wider or narrower, deeper or shallower.

The method starts from "a simple network that can be extended upon, of varying sizes": the
initial population spreads the user's network along the size axis rather than only one or
two edits away from it. Widths: every literal width of a connection layer (``out_features``,
``out_channels``) and every width entry of a configuration table, all multiplied by the same
factor (the output layer's width, the number of classes, stays); the input widths that then
disagree, and names or expressions, are the repair's business. Depth: stage repeat counts one
more or one fewer, a table's stages one layer longer or shorter, or, in a plain stack of
layers, a hidden connection layer (with its activation) repeated or removed. Resolution (the
third axis of compound scaling, as in EfficientNet): the input average-pooled before the
first layer, so every later layer sees ½ or ¼ of its size (the repair sets the width of the
first layer that flattens it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst

from nnevolve.gene_pool import Gene
from nnevolve.genome import Genome, GenomeError, Site
from nnevolve.genome.config import ConfigList, Span
from nnevolve.operators.common import Edit, Offspring, editable_sites, finish_source, one_line
from nnevolve.operators.config import _splice
from nnevolve.operators.dimensions import dimension
from nnevolve.operators.delete import deletable_sites, delete_site
from nnevolve.operators.insert import insert_at, insertion_points
from nnevolve.operators.mutate_args import MAX_WIDTH, PARAMETERS, _argument

DESCRIPTION = "Scale the whole network: every width by one factor, or a step deeper or shallower."
WIDTH_FACTORS = (0.25, 0.5, 2.0, 4.0)


def scaled_width(value: int, factor: float) -> int:
    """``value × factor``, in steps of 4 from 8 up (as widths are usually written), at least
    1, and not past MAX_WIDTH unless the value already was."""
    wanted = value * factor
    new = max(8, 4 * round(wanted / 4)) if wanted >= 8 else max(1, round(wanted))
    return min(new, max(value, MAX_WIDTH))


def scale_widths(g: Genome, factor: float) -> Offspring | None:
    """``g`` with every literal width multiplied by ``factor``; None when nothing changes."""
    changes = [(span, old, scaled_width(old, factor), what)
               for span, old, what in _literal_widths(g)]
    changes = [change for change in changes if change[1] != change[2]]
    if not changes:
        return None
    source = g.source
    for span, _, new, _ in sorted(changes, key=lambda change: change[0], reverse=True):
        source = _splice(source, span, str(new))  # the last first: earlier spans stay valid
    said = ", ".join(f"{what} {old}→{new} at line {span[0]}" for span, old, new, what in changes)
    return finish_source(g, source, [Edit("scale", f"widths ×{factor:g}: {said}")])


def _literal_widths(g: Genome) -> Iterator[tuple[Span, int, str]]:
    """(span, value, what) of each integer literal that is a width of the model."""
    output = g.output_site()
    seen: set[Span] = set()
    for site in editable_sites(g):
        if site.type != "connection" or site == output or site.kind == "forward_call":
            continue
        layer = site.name.rsplit(".", 1)[-1]
        for parameter in PARAMETERS.get(layer, ()):
            if parameter.kind != "width":
                continue
            arg = _argument(g.anchor(site).call, parameter)
            if arg is None or not isinstance(arg.value, cst.Integer) or g.positions is None:
                continue  # a name or an expression: the repair adjusts it if it must
            span = (*g.positions.start(arg.value), *g.positions.end(arg.value))
            if span not in seen:
                seen.add(span)
                yield span, int(ast.literal_eval(arg.value.value)), f"{layer} {parameter.keyword}"
    for entry in g.config[0]:
        if entry.role == "width" and isinstance(entry.value, int) and entry.span not in seen:
            seen.add(entry.span)
            yield entry.span, entry.value, f"{entry.table} width"


def scale_depth(g: Genome, deeper: bool) -> Offspring | None:
    """``g`` one step deeper (or shallower): stage counts and table stages when the model is
    built from configuration data, else one hidden layer of a plain stack repeated (or
    removed). None when the model has no such step."""
    if any(e.role == "count" and "." not in e.table for e in g.config[0]) or any(
            not table.fixed_length for table in g.config[1]):
        return _config_depth(g, deeper)  # its layers are built from the tables: never the stem
    return _repeat_layer(g) if deeper else _remove_layer(g)


def _config_depth(g: Genome, deeper: bool) -> Offspring | None:
    """Every stage count ±1 and every growable table's stages one entry longer or shorter."""
    changes: list[tuple[Span, str]] = []
    words: list[str] = []
    for entry in g.config[0]:
        # a block class's own constants (expansion = 4) are factors, not depth
        if entry.role != "count" or not isinstance(entry.value, int) or "." in entry.table:
            continue
        new = entry.value + 1 if deeper else entry.value - 1
        if new >= 1:
            changes.append((entry.span, str(new)))
            words.append(f"{entry.table} count {entry.value}→{new} at line {entry.line}")
    for table in g.config[1]:
        if table.fixed_length:
            continue
        texts = _stages_deeper(table) if deeper else _stages_shallower(table)
        if texts is not None and texts != list(table.texts):
            first, last = table.elements[0], table.elements[-1]
            changes.append(((first[0], first[1], last[2], last[3]), ", ".join(texts)))
            words.append(f"{table.table} at line {first[0]}: [{', '.join(texts)}]")
    if not changes:
        return None
    source = g.source
    # entries inside a rewritten table are rewritten with it: keep the outermost span only
    spans = [span for span, _ in changes]
    kept = [(span, text) for span, text in changes
            if not any(other != span and other[:2] <= span[:2] and span[2:] <= other[2:]
                       for other in spans)]
    for span, text in sorted(kept, key=lambda change: change[0], reverse=True):
        source = _splice(source, span, text)
    op = "deeper" if deeper else "shallower"
    return finish_source(g, source, [Edit("scale", f"{op}: {'; '.join(words)}")])


def _runs(table: ConfigList) -> list[list[int]]:
    """Positions of the table's runs of numeric entries (stages between markers)."""
    runs: list[list[int]] = [[]]
    for position, text in enumerate(table.texts):
        if text.startswith(("'", '"')):
            runs.append([])
        else:
            runs[-1].append(position)
    return [run for run in runs if run]


def _stages_deeper(table: ConfigList) -> list[str]:
    """Each stage's last layer repeated; a repeated (width, stride) entry keeps stride 1."""
    last_of_run = {run[-1] for run in _runs(table)}
    texts: list[str] = []
    for position, text in enumerate(table.texts):
        texts.append(text)
        if position in last_of_run:
            texts.append(_without_downsampling(text))
    return texts


def _stages_shallower(table: ConfigList) -> list[str] | None:
    """Each stage of several layers loses its last one; None when every stage has one."""
    dropped = {run[-1] for run in _runs(table) if len(run) > 1}
    if not dropped:
        return None
    return [text for position, text in enumerate(table.texts) if position not in dropped]


def _without_downsampling(text: str) -> str:
    if text.startswith("("):
        parts = [part.strip() for part in text.strip("()").split(",")]
        if len(parts) >= 2 and parts[-1] in ("1", "2"):
            parts[-1] = "1"
        return "(" + ", ".join(parts) + ")"
    return text


def _hidden_connections(g: Genome) -> list[Site]:
    output = g.output_site()
    return [s for s in editable_sites(g)
            if s.type == "connection" and s != output and s.kind != "forward_call"]


def _remove_layer(g: Genome) -> Offspring | None:
    """The last hidden connection layer removed (the repair joins its neighbours)."""
    removable = set(deletable_sites(g))
    for site in reversed(g.in_flow_order(_hidden_connections(g))):
        if site in removable:
            child = delete_site(g, site)
            if child is not None:
                summary = f"shallower: {child.edits[0].summary}"
                return Offspring(child.source, (Edit("scale", summary),))
    return None


def _repeat_layer(g: Genome) -> Offspring | None:
    """The last hidden connection layer repeated right after itself and its activation."""
    for site in reversed(g.in_flow_order(_hidden_connections(g))):
        child = _repeat(g, site)
        if child is not None:
            return child
    return None


def _repeat(g: Genome, site: Site) -> Offspring | None:
    flow = g.in_flow_order(g.live_sites())
    following = flow[flow.index(site) + 1] if flow.index(site) + 1 < len(flow) else None
    activation = following if following is not None and following.type == "activation" else None
    after = activation or site
    point = next((p for p in insertion_points(g) if p.site == after and p.after), None)
    if point is None:
        return None
    source, words = g.source, []
    if activation is not None:  # the activation first: the copied layer goes before it
        gene = _gene(activation)
        child = insert_at(g, point, gene) if gene is not None else None
        if child is None:
            return None
        source = child.source
        try:
            g = Genome.parse(source, g.model or g.class_name)
        except GenomeError:
            return None
        after = next((s for s in g.live_sites() if (s.line, s.code) == (activation.line,
                                                                        activation.code)), None)
        point = next((p for p in insertion_points(g) if p.site == after and p.after), None)
        if point is None:
            return None
    gene = _gene(site)
    child = insert_at(g, point, gene) if gene is not None else None
    if child is None:
        return None
    words.append(f"{one_line(site.code)} at line {site.line} repeated")
    if activation is not None:
        words.append(f"with its {activation.name.rsplit('.', 1)[-1]}")
    return Offspring(child.source, (Edit("scale", f"deeper: {' '.join(words)}"),))


def _gene(site: Site) -> Gene | None:
    """The site's own line as a gene in canonical spelling (``nn.Linear(32, 32)``,
    ``F.relu(x)``)."""
    layer = site.name.rsplit(".", 1)[-1]
    if site.kind == "forward_call":
        if site.name.startswith("torch.nn.functional."):
            return Gene(f"F.{layer}(x)", site.type, "seed")
        return Gene(f"torch.{layer}(x)", site.type, "seed") if site.name.startswith("torch.") \
            else None
    if not site.name.startswith("torch.nn.") or "(" not in site.code:
        return None
    return Gene(f"nn.{layer}{site.code[site.code.index('('):]}", site.type, "seed")


def scale_resolution(g: Genome, factor: int) -> Offspring | None:
    """``g`` with its input average-pooled by ``factor`` (2: half the height and width) before
    its first layer; None when the network has no place there. The pooling has the dimension
    of the network's first convolution or pooling (images when it has none: a network of
    other data fails the static check)."""
    from nnevolve.operators.insert_block import at_input  # it builds on this module's kin

    point = next((p for p in insertion_points(g) if at_input(g, p)), None)
    if point is None:
        return None
    found = [dimension(s.name) for s in g.in_flow_order(g.live_sites())
             if dimension(s.name) in ("1d", "2d", "3d")]
    child = insert_at(g, point, Gene(f"nn.AvgPool{found[0] if found else '2d'}({factor})",
                                     "pooling", "seed"))
    if child is None:
        return None
    return Offspring(child.source, (Edit("scale", f"resolution ×1/{factor}: "
                                                  f"{child.edits[0].summary}"),))


def size_ladder(g: Genome) -> list[Offspring]:
    """The network spread along the size axis, in the order a small population takes them:
    widths ×½ (near the seed, smaller), ×4, one step shallower, resolution ×½, the smallest
    corner (shallower at resolution ×¼), widths ×¼, one step deeper, widths ×2, then the two
    other corners (shallower and narrower, deeper and wider)."""
    shallower, deeper = scale_depth(g, deeper=False), scale_depth(g, deeper=True)
    ladder: list[Offspring | None] = [scale_widths(g, 0.5), scale_widths(g, 4.0), shallower,
                                      scale_resolution(g, 2), _then(g, shallower, 0.25),
                                      scale_widths(g, 0.25), deeper, scale_widths(g, 2.0),
                                      _then(g, shallower, 0.5), _then(g, deeper, 2.0)]
    return [child for child in ladder if child is not None]


def _then(g: Genome, stepped: Offspring | None, factor: float) -> Offspring | None:
    """``stepped`` (a depth step) then scaled: widths × ``factor``, or, below ½, its
    resolution by 1 / ``factor``."""
    if stepped is None:
        return None
    try:  # depth first: scaled down first, small widths would read as repeat counts
        scaled = Genome.parse(stepped.source, g.model or g.class_name)
    except GenomeError:
        return None
    both = (scale_resolution(scaled, round(1 / factor)) if factor < 0.5
            else scale_widths(scaled, factor))
    return Offspring(both.source, stepped.edits + both.edits) if both is not None else None
