"""Edit the real model source with libcst: set layer widths, insert a Flatten before a Linear.

Each site's call is found in the libcst tree by the whole range ``instrument`` recorded on the
stdlib ``ast`` (``genome.walk.NodeWalk.find``, the engine's one matcher). Widths are rewritten
symbolically (``repair.symbolic``): an expression that refers to names keeps them. Everything
outside the edited arguments and inserted lines is kept byte for byte, comments and formatting
included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import libcst as cst

from nnevolve.genome.walk import NodeWalk
from nnevolve.repair.instrument import CallSite
from nnevolve.repair.symbolic import Pair, WidthRefused, rewrite_width


class FixError(ValueError):
    """A planned fix cannot be written safely into the source; the message says why."""


@dataclass(frozen=True)
class SetWidth:
    """Make a width argument of the call at ``site`` give each module it builds its needed width."""

    site: int
    param: str  # keyword name, e.g. "in_features"
    position: int  # positional index when the argument is passed positionally
    widths: tuple[Pair, ...]  # (declared, needed) per module built (per run for a reshape)
    why: str = ""  # appended to the summary, e.g. "(the output must have 10 classes)"
    scale: bool = True  # may a named expression become ``expr * k`` / ``expr // k``


@dataclass(frozen=True)
class InsertFlatten:
    """Flatten the input of the Linear built at ``site`` (a layer before it, or a statement)."""

    site: int


Fix = Union[SetWidth, InsertFlatten]  # noqa: UP007 (a runtime alias: `|` needs 3.10 types)
_Sequence = TypeVar("_Sequence", cst.List, cst.Tuple)


@dataclass(frozen=True)
class FixNote:
    """A human summary of one applied fix; ``{line}`` stands for ``line`` (remapped later)."""

    template: str
    line: int

    def render(self) -> str:
        return self.template.format(line=self.line)


def cst_dotted_name(node: cst.BaseExpression) -> str | None:
    """``nn.Linear`` for a ``Attribute(Name)`` chain, None for anything else."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _bound_names(module: cst.Module) -> set[str]:
    """Names that top-level imports bind: ``torch`` for ``import torch.nn``, ``nn``..."""
    names: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                    small.names, cst.ImportStar):
                for alias in small.names:
                    bound = alias.evaluated_alias or alias.evaluated_name
                    names.add(bound if alias.asname or isinstance(small, cst.ImportFrom)
                              else bound.split(".")[0])
    return names


@dataclass
class _Plan:
    """Where each edit goes, keyed by the original libcst nodes."""

    widths: dict[cst.Call, list[tuple[SetWidth, cst.BaseExpression]]]  # call -> (fix, new value)
    arg_inserts: dict[cst.CSTNode, set[cst.CSTNode]]  # Call or List/Tuple -> elements to precede
    statement_inserts: dict[cst.SimpleStatementLine, str]  # statement -> code to insert before
    notes: list[FixNote]


class _Locator:
    """Turns fixes into a plan of node edits, or says why a fix cannot be placed."""

    def __init__(self, module: cst.Module, sites: Sequence[CallSite]) -> None:
        self.module = module
        self.sites = sites
        self.walk = NodeWalk(module)
        self.bound = _bound_names(module)
        self.plan = _Plan({}, {}, {}, [])

    def call(self, site: int) -> cst.Call:
        """The libcst node of the call at ``site``, found by its whole range."""
        call = self.walk.find(self.sites[site].span, cst.Call)
        if call is None:
            raise FixError(f"the {self.where(site)} was not found in the source")
        return call

    def where(self, site: int) -> str:
        return f"{self.sites[site].kind} at line {self.sites[site].line}"

    def set_width(self, fix: SetWidth) -> None:
        site = self.sites[fix.site]
        call = self.call(fix.site)
        arg = _width_argument(call, fix, self.where(fix.site))
        old = self.module.code_for_node(arg.value)
        try:
            new = rewrite_width(arg.value, fix.widths, scale=fix.scale)
        except WidthRefused as exc:
            raise FixError(self._refusal(fix, old, str(exc))) from None
        self.plan.widths.setdefault(call, []).append((fix, new))
        why = f" {fix.why}" if fix.why else ""
        shown = f"{old}→{self.module.code_for_node(new)}".replace("{", "{{").replace("}", "}}")
        self.plan.notes.append(FixNote(
            f"{site.kind} {fix.param} {shown} at line {{line}}{why}", site.line))

    def _refusal(self, fix: SetWidth, old: str, why: str) -> str:
        """``Linear in_features `self.n` at line 40 would need 64: it is a name, not rewritten``."""
        site = self.sites[fix.site]
        wanted = ", ".join(map(str, sorted({n for _, n in fix.widths})))
        if why == "one literal cannot fit them all":  # a literal in a loop or a shared module
            what = "runs on tensors" if site.is_reshape else "builds layers"
            return f"{self.where(fix.site)} {what} that need {fix.param} {wanted}; {why}"
        built = len(fix.widths)
        layers = f" for the {built} layers it builds" if built > 1 and not site.is_reshape else ""
        hint = "" if fix.scale else " (give the model this width through its arguments)"
        return (f"{site.kind} {fix.param} `{old}` at line {site.line} would need "
                f"{wanted}{layers}: {why}{hint}")

    def flatten_code(self, site: int) -> str:
        callee = self.sites[site].callee
        prefix = callee.rsplit(".", 1)[0] if "." in callee else ""
        if prefix in ("nn", "torch.nn"):
            return f"{prefix}.Flatten()"
        if "nn" in self.bound:
            return "nn.Flatten()"
        if "torch" in self.bound:
            return "torch.nn.Flatten()"
        raise FixError(f"cannot insert a Flatten before {self.where(site)}: neither nn nor torch "
                       "is imported")

    def insert_flatten(self, fix: InsertFlatten) -> None:
        call = self.call(fix.site)
        parent = self.walk.parents.get(call)
        holder = self.walk.parents.get(parent) if parent is not None else None
        if isinstance(parent, cst.Arg) and isinstance(holder, cst.Call):
            name = cst_dotted_name(holder.func) or ""
            if name.rsplit(".", 1)[-1] == "Sequential":
                self._insert_element(holder, parent, fix.site)
                return
            statement = self._single_statement(holder)
            if isinstance(holder.func, cst.Attribute) and holder.func.attr.value == "append" \
                    and statement is not None:
                receiver = self.module.code_for_node(holder.func.value)
                code = f"{receiver}.append({self.flatten_code(fix.site)})"
                self._insert_statement(statement, code, fix.site)
                return
        if isinstance(parent, cst.Element) and isinstance(holder, (cst.List, cst.Tuple)):
            self._check_layer_list(holder, fix.site)
            self._insert_element(holder, parent, fix.site)
            return
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            self._flatten_in_forward(parent, fix.site)
            return
        raise FixError(f"cannot insert a Flatten before {self.where(fix.site)}: it is not in a "
                       "Sequential, a layer list or a self attribute")

    def _check_layer_list(self, holder: cst.List | cst.Tuple, site: int) -> None:
        """Refuse lists that are not plain layer lists: ("fc", Linear) pairs, ModuleLists."""
        if not all(isinstance(e, cst.StarredElement) or isinstance(e.value, cst.Call)
                   for e in holder.elements):
            raise FixError(f"cannot insert a Flatten before {self.where(site)}: its list holds "
                           "more than layers")
        arg = self.walk.parents.get(holder)
        owner = self.walk.parents.get(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(owner, cst.Call) and (cst_dotted_name(owner.func) or "").endswith(
                "ModuleList"):
            # forward may index the list: a new element would shift every index after it
            raise FixError(f"cannot insert a Flatten before {self.where(site)}: it is in a "
                           "ModuleList")

    def _single_statement(self, call: cst.Call) -> cst.SimpleStatementLine | None:
        expr = self.walk.parents.get(call)
        statement = self.walk.parents.get(expr) if isinstance(expr, cst.Expr) else None
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            return statement
        return None

    def _insert_element(self, holder: cst.CSTNode, element: cst.CSTNode, site: int) -> None:
        self.plan.arg_inserts.setdefault(holder, set()).add(element)
        self.plan.notes.append(FixNote(
            f"insert {self.flatten_code(site)} before the {self.sites[site].kind} at line {{line}}",
            self.sites[site].line))

    def _insert_statement(self, statement: cst.SimpleStatementLine, code: str, site: int) -> None:
        if statement in self.plan.statement_inserts:
            raise FixError(f"two Flatten insertions before one statement ({self.where(site)})")
        self.plan.statement_inserts[statement] = code
        self.plan.notes.append(FixNote(
            f"insert `{code}` before the {self.sites[site].kind} at line {{line}}",
            self.sites[site].line))

    def _flatten_in_forward(self, assign: cst.Assign | cst.AnnAssign, site: int) -> None:
        targets = ([t.target for t in assign.targets] if isinstance(assign, cst.Assign)
                   else [assign.target])
        target = targets[0] if len(targets) == 1 else None
        if not (isinstance(target, cst.Attribute) and cst_dotted_name(target.value) == "self"):
            raise FixError(f"cannot insert a Flatten before {self.where(site)}: it is not "
                           "assigned to a self attribute")
        attribute = target.attr.value
        uses = [c for c in self._forward_calls(assign) if isinstance(c.func, cst.Attribute)
                and c.func.attr.value == attribute and cst_dotted_name(c.func.value) == "self"]
        if len(uses) != 1:
            raise FixError(f"cannot insert a Flatten before {self.where(site)}: forward calls "
                           f"self.{attribute} {len(uses)} times")
        use = uses[0]
        arg = use.args[0] if len(use.args) == 1 and not use.args[0].star else None
        statement = self.walk.ancestor(use, cst.SimpleStatementLine)
        if arg is None or not isinstance(arg.value, cst.Name) or statement is None:
            raise FixError(f"cannot insert a Flatten before {self.where(site)}: self.{attribute} "
                           "is not called on a plain variable in a simple statement")
        name = arg.value.value
        code = (f"{name} = torch.flatten({name}, 1)" if "torch" in self.bound
                else f"{name} = {name}.flatten(1)")
        self._insert_statement(statement, code, site)

    def _forward_calls(self, assign: cst.CSTNode) -> list[cst.Call]:
        owner = self.walk.ancestor(assign, cst.ClassDef)
        if owner is None:
            return []
        forwards = [s for s in owner.body.body
                    if isinstance(s, cst.FunctionDef) and s.name.value == "forward"]
        found: list[cst.Call] = []

        class _Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                found.append(node)

        for forward in forwards:
            forward.visit(_Calls())
        return found


def _width_argument(call: cst.Call, fix: SetWidth, where: str) -> cst.Arg:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == fix.param:
            return arg
    positional = []
    for arg in call.args:
        if arg.star:
            raise FixError(f"cannot set {fix.param} of {where}: its arguments come from "
                           f"{arg.star}{cst.Module([]).code_for_node(arg.value)}")
        if arg.keyword is None:
            positional.append(arg)
    if len(positional) > fix.position:
        return positional[fix.position]
    raise FixError(f"cannot set {fix.param} of {where}: the argument is not given")


def _with_inserted(items: Sequence[Any], originals: Sequence[Any], targets: set[cst.CSTNode],
                   new_item: cst.Arg | cst.Element) -> list[Any]:
    """``items`` (Args or Elements) with a ``new_item`` before each one whose original is in
    ``targets``."""
    result: list[Any] = []
    for i, (item, original) in enumerate(zip(items, originals)):
        if original in targets:
            # borrow the separator that follows the previous item (or this one) for the layout
            source = items[i - 1] if i else item
            comma = source.comma if isinstance(source.comma, cst.Comma) else cst.Comma(
                whitespace_after=cst.SimpleWhitespace(" "))
            result.append(new_item.with_changes(comma=comma))
        result.append(item)
    return result


class _Apply(cst.CSTTransformer):
    def __init__(self, plan: _Plan, flatten: dict[cst.CSTNode, str],
                 on_path: set[cst.CSTNode]) -> None:
        super().__init__()
        self.plan = plan
        self.flatten = flatten  # holder -> Flatten expression code
        self.on_path = on_path  # edited nodes and their ancestors

    def on_visit(self, node: cst.CSTNode) -> bool:
        # only the paths down to edited nodes are walked: the rest is kept as it is, faster
        return node in self.on_path

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        fixes = self.plan.widths.get(original_node, [])
        if fixes:
            args = list(updated_node.args)
            for fix, value in fixes:
                target = _width_argument(original_node, fix, "")
                index = next(i for i, a in enumerate(original_node.args) if a is target)
                args[index] = args[index].with_changes(value=value)
            updated_node = updated_node.with_changes(args=args)
        if original_node in self.plan.arg_inserts:
            new_arg = cst.Arg(cst.parse_expression(self.flatten[original_node]))
            updated_node = updated_node.with_changes(args=_with_inserted(
                updated_node.args, original_node.args, self.plan.arg_inserts[original_node],
                new_arg))
        return updated_node

    def _elements(self, original_node: _Sequence, updated_node: _Sequence) -> _Sequence:
        if original_node not in self.plan.arg_inserts:
            return updated_node
        new_element = cst.Element(cst.parse_expression(self.flatten[original_node]))
        return updated_node.with_changes(elements=_with_inserted(
            updated_node.elements, original_node.elements, self.plan.arg_inserts[original_node],
            new_element))

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.List:
        return self._elements(original_node, updated_node)

    def leave_Tuple(self, original_node: cst.Tuple, updated_node: cst.Tuple) -> cst.Tuple:
        return self._elements(original_node, updated_node)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        code = self.plan.statement_inserts.get(original_node)
        if code is None:
            return updated_node
        # the comments above the old statement now sit above the inserted one
        inserted = cst.ensure_type(cst.parse_statement(code + "\n"), cst.SimpleStatementLine)
        inserted = inserted.with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel([inserted, updated_node.with_changes(leading_lines=())])


def apply_fixes(source: str, sites: Sequence[CallSite],
                fixes: Sequence[Fix]) -> tuple[str, list[FixNote]]:
    """Write ``fixes`` into ``source``; return the new source and a note per fix.

    Raises
    ------
    FixError
        When a fix cannot be placed safely (the message names the layer and line).
    """
    module = cst.parse_module(source)
    locator = _Locator(module, sites)
    flatten: dict[cst.CSTNode, str] = {}
    for fix in fixes:
        if isinstance(fix, SetWidth):
            locator.set_width(fix)
        else:
            before = set(locator.plan.arg_inserts)
            locator.insert_flatten(fix)
            for holder in set(locator.plan.arg_inserts) - before:
                flatten[holder] = locator.flatten_code(fix.site)
    edited = [*locator.plan.widths, *locator.plan.arg_inserts, *locator.plan.statement_inserts]
    on_path: set[cst.CSTNode] = {module}
    for node in edited:
        on_path.add(node)
        parent = locator.walk.parents.get(node)
        while parent is not None and parent not in on_path:
            on_path.add(parent)
            parent = locator.walk.parents.get(parent)
    return module.visit(_Apply(locator.plan, flatten, on_path)).code, locator.plan.notes
