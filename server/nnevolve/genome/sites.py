"""The genome: a model file's source text and the typed sites of its model class that edits may touch."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from functools import cached_property

import libcst as cst

from nnevolve.analysis import Analysis, LineItem, analyze
from nnevolve.genome.errors import GenomeError
from nnevolve.genome.normalize import normalize_source
from nnevolve.genome.scope import Scope, scope_at
from nnevolve.genome.config import ConfigEntry, ConfigList, config_entries
from nnevolve.genome.liveness import Liveness
from nnevolve.genome.model_spec import resolve_model
from nnevolve.genome.owners import model_owners
from nnevolve.genome.walk import NodeWalk, Positions, Range

SITE_KINDS = ("append", "sequential", "attribute", "forward_call", "returned", "local")
# "returned": `return nn.Conv2d(...)` in a layer-building helper (`def conv3x3(...)`);
# "local": `final_conv = nn.Conv2d(...)` bound to a local name; both are edited in place only
# line types of the layers a site may hold; containers, losses and optimizers are never sites
SITE_TYPES = frozenset(
    {"connection", "activation", "normalization", "pooling", "dropout", "reshape"}
)
CONTAINERS = frozenset({"torch.nn.Sequential", "torch.nn.ModuleList"})
# sites the forward pass never reaches sort after those it does
_UNREACHED = 10**9


@dataclass(frozen=True)
class Site:
    """One typed place of the model class that an operator may edit."""

    index: int  # position in Genome.sites
    kind: str  # "append" | "sequential" | "attribute" | "forward_call"
    type: str  # a LINE_TYPES value of nnevolve.analysis
    code: str  # the layer call's code, e.g. "nn.Linear(64, 100)" or "F.relu(x)"
    container: str  # list name ("layers"), attribute name ("fc1") or Sequential owner ("features")
    line: int  # 1-based first line of the site's call
    end_line: int  # 1-based last line of the site's call
    name: str = ""  # qualified callee, e.g. "torch.nn.Conv2d"
    uses: tuple[int, ...] = ()  # attribute sites: lines that use ``self.<container>``


@dataclass(frozen=True)
class Anchor:
    """The libcst nodes behind a site, for the operators that rewrite it."""

    call: cst.Call  # the layer call itself
    statement: cst.SimpleStatementLine  # the statement that holds the call
    method: str  # name of the enclosing method
    flow: tuple[int, int, int, int, int]  # owner rank, then the order forward reaches the site
    sequence: cst.Call | cst.List | None = None  # sequential sites: the literal holding the element
    element: cst.Arg | cst.Element | None = None  # sequential sites: the element itself
    use_calls: tuple[cst.Call, ...] = ()  # attribute sites: the calls ``self.x(...)``
    # attribute sites: the statement of each use call (None when it is a compound statement's header)
    use_statements: tuple[cst.SimpleStatementLine | None, ...] = ()
    other_uses: int = 0  # attribute sites: references to ``self.x`` that are not plain calls


@dataclass
class _Reference:
    """A reference to ``self.<attr>`` inside a method of the class."""

    method: str
    end: tuple[int, int]
    call: cst.Call | None


@dataclass
class Genome:
    """A model file's source (the genotype) and the typed sites of one model class in it."""

    source: str
    class_name: str
    sites: list[Site]
    module: cst.Module = field(repr=False)
    anchors: list[Anchor] = field(repr=False)
    tree: ast.Module = field(repr=False)
    analysis: Analysis = field(repr=False)
    positions: Positions | None = field(repr=False, default=None)
    parents: dict[cst.CSTNode, cst.CSTNode] = field(repr=False, default_factory=dict)
    _scopes: dict[int, Scope] = field(repr=False, default_factory=dict)
    model: str = ""  # the model expression, e.g. "VGG('VGG11')"
    owners: tuple[str, ...] = ()  # classes and functions whose sites count, the model class last
    liveness: Liveness | None = field(repr=False, default=None)

    @classmethod
    def parse(cls, source: str, class_name: str | None = None, *,
              live: Liveness | None = None) -> Genome:
        """Parse ``source`` and find the sites of the model ``class_name`` builds.

        ``class_name`` is a model expression (a class name, a factory function name or a call
        such as ``VGG('VGG11')``; default: the last model class). The sites are the layer lines
        of every class and function of the file the model's construction uses: with ``live``
        (what the static check saw the model build and run), exactly those; without it, the
        model class and what it refers to, transitively.

        Raises :class:`GenomeError` when the source does not parse, has no model class, or
        the expression names none of the file's models.
        """
        try:
            tree = ast.parse(source)
            module = cst.parse_module(source)
        except (SyntaxError, ValueError, cst.ParserSyntaxError) as exc:
            raise GenomeError(f"the model file is not valid Python: {_first_line(exc)}") from exc
        except (RecursionError, MemoryError) as exc:
            raise GenomeError("the model file is too deeply nested to evolve") from exc
        analysis = analyze(source)
        # a genome is the file's code: arguments matter to building the model, not to editing it
        spec = resolve_model(source, class_name, tree=tree, analysis=analysis,
                             check_arguments=False)
        owners = model_owners(tree, spec, live)
        walk = NodeWalk(module)
        finder = _SiteFinder(module, walk, analysis)
        found: list[tuple[tuple[int, int], Site, Anchor]] = []
        for rank, owner in enumerate(owners):
            # a name defined twice means its last definition, as when Python runs the file
            node = [n for n in module.body if isinstance(n, (cst.ClassDef, cst.FunctionDef))
                    and n.name.value == owner][-1]
            found += finder.find(node, rank, function=isinstance(node, cst.FunctionDef))
        found.sort(key=lambda entry: entry[0])
        sites: list[Site] = []
        anchors: list[Anchor] = []
        for index, (_, site, anchor) in enumerate(found):
            sites.append(replace(site, index=index))
            anchors.append(anchor)
        genome = cls(source, spec.class_name, sites, module, anchors, tree, analysis,
                     walk.positions, walk.parents)
        genome.model = spec.expression
        genome.owners = tuple(owners)
        genome.liveness = live
        return genome

    @cached_property
    def normalized(self) -> str:
        """The normalized source: what identifies this variant."""
        return normalize_source(self.source)

    def scope_at(self, line: int) -> Scope:
        """The names visible at ``line`` of the model class, and their constant values."""
        if line not in self._scopes:
            self._scopes[line] = scope_at(self.tree, line, self.owner_class_at(line))
        return self._scopes[line]

    def owner_class_at(self, line: int) -> str | None:
        """The top-level class whose body holds ``line`` (None in a module-level function)."""
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and node.lineno <= line <= (node.end_lineno or 0):
                return node.name
        return None

    def anchor(self, site: Site) -> Anchor:
        """The libcst nodes of ``site``."""
        return self.anchors[site.index]

    def line_of(self, node: cst.CSTNode) -> int:
        """The 1-based first line of a node of the model class."""
        assert self.positions is not None
        return self.positions.start(node)[0]

    def in_flow_order(self, sites: list[Site] | None = None) -> list[Site]:
        """``sites`` (default: all) in the order the forward pass reaches them."""
        chosen = self.sites if sites is None else sites
        return sorted(chosen, key=lambda s: self.anchors[s.index].flow)

    def live_sites(self) -> list[Site]:
        """The sites the model uses; all sites when that cannot be told.

        With the static check's liveness: the layers that computed in its forward pass and the
        functional calls on lines that ran. Without it: the sites the forward pass reaches
        statically. Editing a layer the model never uses would make a new variant that computes
        the same function: a training run wasted.
        """
        if self.liveness is not None:
            used = self.liveness.used_calls
            forward = self.liveness.forward_lines
            traced = [s for s in self.sites
                      if (s.line, self.positions.start(self.anchors[s.index].call)[1]) in used
                      or (s.kind == "forward_call" and s.line in forward)]
            if traced:
                return traced
        reached = [s for s in self.sites if self.anchors[s.index].flow[1] < _UNREACHED]
        return reached or list(self.sites)

    @cached_property
    def config(self) -> tuple[list[ConfigEntry], list[ConfigList]]:
        """The configuration entries the model reads, and the literal lists that hold them."""
        return config_entries(self.tree, self.source, self.owners, self.liveness)

    def instances(self, site: Site) -> int:
        """How many layers the site's call built in the checked model (0 when unknown)."""
        if self.liveness is None or self.positions is None:
            return 0
        return self.liveness.instances_of(self.positions.start(self.anchors[site.index].call))

    def output_site(self) -> Site | None:
        """The connection layer that produces the network's output (last in flow order)."""
        connections = [
            s for s in self.live_sites() if s.type == "connection" and s.kind != "forward_call"
        ]
        return self.in_flow_order(connections)[-1] if connections else None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _self_attribute(node: cst.BaseExpression) -> str | None:
    """``x`` for the expression ``self.x``, else None."""
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
    ):
        return node.attr.value
    return None


class _SiteFinder:
    """Walks the classes and functions of a model with positions and parents; collects sites."""

    def __init__(self, module: cst.Module, walk: NodeWalk, analysis: Analysis) -> None:
        self.module = module
        self.walk = walk
        self.rank = 0  # the owner being walked: its place in the model's owners
        self.function = False  # the owner is a module-level function (a layer-building helper)
        self.positions: Positions = self.walk.positions
        self.parents = self.walk.parents
        # analysis items are matched to calls by whole range, as walk.NodeWalk.find matches
        self.items: dict[Range, LineItem] = {
            (item.line, item.col, item.end_line, item.end_col): item for item in analysis.items
        }

    # -- helpers ---------------------------------------------------------------------------
    def item(self, call: cst.Call) -> LineItem | None:
        return self.items.get(self.walk.range_of(call))

    def layer_item(self, node: cst.BaseExpression) -> LineItem | None:
        """The analysis item of ``node`` when it is a layer call a site may hold."""
        if not isinstance(node, cst.Call):
            return None
        item = self.item(node)
        return item if item is not None and item.type in SITE_TYPES else None

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def statement_of(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.SimpleStatementLine):
            current = self.parents.get(current)
        return current

    def owner_of(self, node: cst.CSTNode) -> str:
        """Name of what holds a container literal: its assignment target or its append list."""
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, cst.Assign) and len(current.targets) == 1:
                target = current.targets[0].target
                return _self_attribute(target) or self.code(target)
            if (
                isinstance(current, cst.Call)
                and isinstance(current.func, cst.Attribute)
                and current.func.attr.value == "append"
            ):
                return self.code(current.func.value)
            if isinstance(current, (cst.SimpleStatementLine, cst.FunctionDef)):
                break
            current = self.parents.get(current)
        return "sequence"

    # -- the walk --------------------------------------------------------------------------
    def find(self, owner: cst.ClassDef | cst.FunctionDef, rank: int, *,
             function: bool = False) -> list[tuple[tuple[int, int], Site, Anchor]]:
        """The sites of one class (its methods) or one module-level function."""
        self.rank, self.function = rank, function
        if isinstance(owner, cst.FunctionDef):
            methods = [owner]
        else:
            methods = [n for n in owner.body.body if isinstance(n, cst.FunctionDef)]
        references = {} if function else self.self_references(methods)
        holders = {} if function else self.list_holders(methods)
        found: list[tuple[tuple[int, int], Site, Anchor]] = []
        for method in methods:
            for call in self.walk.below(method, cst.Call):
                for site, anchor in self.classify(call, method.name.value, references, holders):
                    found.append((self.positions.start(anchor.call), site, anchor))
        return found

    def self_references(self, methods: list[cst.FunctionDef]) -> dict[str, list[_Reference]]:
        """Every read of ``self.<attr>`` in the class's methods, with its call when it is called."""
        references: dict[str, list[_Reference]] = {}
        for method in methods:
            for attr_node in self.walk.below(method, cst.Attribute):
                name = _self_attribute(attr_node)
                parent = self.parents.get(attr_node)
                # the target of `self.x = ...` is a write
                if name is None or isinstance(parent, cst.AssignTarget):
                    continue
                call = parent if isinstance(parent, cst.Call) and parent.func is attr_node else None
                end = self.positions.end(call if call is not None else attr_node)
                references.setdefault(name, []).append(_Reference(method.name.value, end, call))
        return references

    def list_holders(self, methods: list[cst.FunctionDef]) -> dict[str, str]:
        """Which ``self`` attribute ends up holding each local list (``self.net = nn.Sequential(*layers)``,
        or ``self.features = self._make_layers(cfg)`` when ``_make_layers`` returns the list)."""
        holders: dict[str, str] = {}
        built_by: dict[str, str] = {}  # method name -> attribute its result is assigned to
        for method in methods:
            for assign in self.walk.below(method, cst.Assign):
                attr = (
                    _self_attribute(assign.targets[0].target) if len(assign.targets) == 1 else None
                )
                if attr is None:
                    continue
                for name in self.walk.below(assign.value, cst.Name):
                    holders.setdefault(name.value, attr)
                value = assign.value
                if isinstance(value, cst.Call) and _self_attribute(value.func) is not None:
                    built_by.setdefault(_self_attribute(value.func) or "", attr)
        for method in methods:
            attr = built_by.get(method.name.value)
            if attr is None:
                continue
            for statement in self.walk.below(method, cst.Return):
                if statement.value is not None:
                    for name in self.walk.below(statement.value, cst.Name):
                        holders.setdefault(name.value, attr)
        return holders

    def flow(
        self, attr: str | None, references: dict[str, list[_Reference]], call: cst.Call
    ) -> tuple[int, int, int, int, int]:
        """(owner rank, where forward first uses the layer, where it is built)."""
        start = self.positions.start(call)
        if self.function:  # a helper's layers are reached through whoever calls it
            return (self.rank, 0, 0, start[0], start[1])
        forward_uses = [r.end for r in references.get(attr or "", []) if r.method == "forward"]
        first = min(forward_uses) if forward_uses else (_UNREACHED, 0)
        return (self.rank, first[0], first[1], start[0], start[1])

    def classify(
        self,
        call: cst.Call,
        method: str,
        references: dict[str, list[_Reference]],
        holders: dict[str, str],
    ) -> list[tuple[Site, Anchor]]:
        """The sites that ``call`` makes (none, one, or one per element of a container)."""
        item = self.item(call)
        if item is None:
            return []
        if item.name in CONTAINERS:
            return self.sequence_sites(call, item, method, references, holders)
        if item.type not in SITE_TYPES:
            return []
        statement = self.statement_of(call)
        if statement is None:
            return []
        parent = self.parents.get(call)
        grand = self.parents.get(parent) if parent is not None else None
        # `layers.append(<layer>)` as a statement of its own
        if (
            isinstance(parent, cst.Arg)
            and isinstance(grand, cst.Call)
            and isinstance(grand.func, cst.Attribute)
            and grand.func.attr.value == "append"
            and len(grand.args) == 1
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and statement.body[0].value is grand
        ):
            container = self.code(grand.func.value)
            holder = _self_attribute(grand.func.value) or holders.get(container)
            anchor = Anchor(call, statement, method, self.flow(holder, references, call))
            return [(self.site("append", item, call, container), anchor)]
        # `self.x = <layer>`
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and len(statement.body) == 1:
            attr = _self_attribute(parent.targets[0].target)
            if attr is not None:
                refs = references.get(attr, [])
                use_calls = tuple(r.call for r in refs if r.call is not None)
                use_statements = tuple(self.statement_of(c) for c in use_calls)
                anchor = Anchor(
                    call,
                    statement,
                    method,
                    self.flow(attr, references, call),
                    use_calls=use_calls,
                    use_statements=use_statements,
                    other_uses=len(refs) - len(use_calls),
                )
                uses = tuple(sorted({self.positions.start(c)[0] for c in use_calls}))
                site = self.site("attribute", item, call, attr)
                return [(replace(site, uses=uses), anchor)]
        # `return nn.Conv2d(...)` in a helper, `conv = nn.Conv2d(...)` bound to a local name
        if method != "forward" and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.Return) and small.value is call:
                anchor = Anchor(call, statement, method, self.flow(None, references, call))
                return [(self.site("returned", item, call, method), anchor)]
            if (isinstance(parent, cst.Assign) and len(parent.targets) == 1
                    and isinstance(parent.targets[0].target, cst.Name)):
                name = parent.targets[0].target.value
                anchor = Anchor(call, statement, method,
                                self.flow(holders.get(name), references, call))
                return [(self.site("local", item, call, name), anchor)]
        # `[nn.Conv2d(c, c, 3) for _ in range(n)]`: one line that builds a layer per item
        if isinstance(parent, (cst.ListComp, cst.GeneratorExp)) and parent.elt is call:
            anchor = Anchor(call, statement, method, self.flow(None, references, call))
            return [(self.site("local", item, call, "comprehension"), anchor)]
        # `layers += [<layer>, ...]`, `layers = [...]`, `layers.extend([...])`
        if isinstance(parent, cst.Element) and isinstance(grand, cst.List):
            listed = self.list_site(call, item, parent, grand, statement, method, references,
                                    holders)
            if listed is not None:
                return [listed]
        # `F.relu(...)`, `torch.flatten(x, 1)`, ... inside forward
        if (
            method == "forward"
            and item.name.startswith("torch.")
            and item.name.rsplit(".", 1)[-1][:1].islower()  # a function, not a layer class
            and _self_attribute(call.func) is None
            and call.args
            and call.args[0].keyword is None
            and not call.args[0].star
        ):
            flow = (self.rank, *self.positions.end(call), *self.positions.start(call))
            anchor = Anchor(call, statement, method, flow)
            return [(self.site("forward_call", item, call, method), anchor)]
        return []

    def list_site(
        self,
        call: cst.Call,
        item: LineItem,
        element: cst.Element,
        literal: cst.List,
        statement: cst.SimpleStatementLine,
        method: str,
        references: dict[str, list[_Reference]],
        holders: dict[str, str],
    ) -> tuple[Site, Anchor] | None:
        """A layer element of a plain list that is built up into layers (``layers += [...]``)."""
        holder_node = self.parents.get(literal)
        target: cst.BaseExpression | None = None
        if isinstance(holder_node, cst.AugAssign) and isinstance(holder_node.operator,
                                                                 cst.AddAssign):
            target = holder_node.target
        elif isinstance(holder_node, cst.Assign) and len(holder_node.targets) == 1:
            target = holder_node.targets[0].target
        elif isinstance(holder_node, cst.Arg):
            extend = self.parents.get(holder_node)
            if (isinstance(extend, cst.Call) and isinstance(extend.func, cst.Attribute)
                    and extend.func.attr.value == "extend"):
                target = extend.func.value
        if target is None or not isinstance(target, (cst.Name, cst.Attribute)):
            return None
        container = self.code(target)
        holder = _self_attribute(target) or holders.get(container)
        anchor = Anchor(call, statement, method, self.flow(holder, references, call),
                        sequence=literal, element=element)
        return self.site("sequential", item, call, container), anchor

    def sequence_sites(
        self,
        call: cst.Call,
        item: LineItem,
        method: str,
        references: dict[str, list[_Reference]],
        holders: dict[str, str],
    ) -> list[tuple[Site, Anchor]]:
        """One site per layer element of an ``nn.Sequential(...)`` / ``nn.ModuleList([...])`` literal."""
        statement = self.statement_of(call)
        if statement is None:
            return []
        sequence: cst.Call | cst.List
        elements: list[cst.Arg] | list[cst.Element]
        if item.name == "torch.nn.Sequential":
            sequence, elements = call, [a for a in call.args if not a.star and a.keyword is None]
        elif len(call.args) == 1 and isinstance(call.args[0].value, cst.List):
            sequence = call.args[0].value
            elements = [e for e in sequence.elements if isinstance(e, cst.Element)]
        else:
            return []
        owner = self.owner_of(call)
        holder = owner if owner in references else holders.get(owner, owner)
        found = []
        for element in elements:
            element_item = self.layer_item(element.value)
            if element_item is None:
                continue
            layer = element.value
            assert isinstance(layer, cst.Call)
            anchor = Anchor(
                layer,
                statement,
                method,
                self.flow(holder, references, layer),
                sequence=sequence,
                element=element,
            )
            found.append((self.site("sequential", element_item, layer, owner), anchor))
        return found

    def site(self, kind: str, item: LineItem, call: cst.Call, container: str) -> Site:
        return Site(
            index=-1,
            kind=kind,
            type=item.type,
            code=self.code(call),
            container=container,
            line=self.positions.start(call)[0],
            end_line=self.positions.end(call)[0],
            name=item.name,
        )
