"""One libcst rewrite pass over a genome: replacements, new and removed statements, elements.

Nodes are named by identity, and only the subtrees above a touched node are walked, so every
untouched line keeps its exact text: comments, blank lines and formatting survive every edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from nnevolve.genome import Genome

NodeEdit = Callable[[cst.CSTNode], cst.CSTNode]


@dataclass
class Rewrite:
    """A batch of changes to one genome's libcst tree, applied in a single pass.

    Nodes are named by identity (``id`` of a node of ``genome.module``), so untouched code keeps
    its exact text: comments, blank lines and formatting elsewhere survive every edit.
    """

    genome: Genome
    replace: dict[int, NodeEdit] = field(default_factory=dict)
    insert_before: dict[int, list[cst.BaseStatement]] = field(default_factory=dict)
    insert_after: dict[int, list[cst.BaseStatement]] = field(default_factory=dict)
    remove: set[int] = field(default_factory=set)
    # per literal: (position, value, comment on the value's line or None)
    sequence_inserts: dict[int, list[tuple[int, cst.BaseExpression, str | None]]] = field(
        default_factory=dict)
    sequence_removals: dict[int, set[int]] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)

    touched: list[cst.CSTNode] = field(default_factory=list)  # every node named above

    def replace_node(self, node: cst.CSTNode, new: cst.CSTNode | NodeEdit) -> None:
        """Replace ``node`` by ``new`` (or by ``new(updated_node)`` when ``new`` is a function)."""
        self.replace[id(node)] = new if callable(new) else _constant_edit(new)
        self.touched.append(node)

    def replace_call(self, anchor: cst.Call, new: cst.Call, *, functional: bool) -> cst.Call:
        """Replace a site's call ``anchor`` by ``new`` and return the call as it will read; a
        functional call keeps its own tensor argument (see :func:`splice_functional`)."""
        if functional:
            self.replace_node(anchor, splice_with(new))
            return splice_functional(anchor, new)
        self.replace_node(anchor, new)
        return new

    def add_statement(
        self, anchor: cst.BaseStatement, new: cst.BaseStatement, *, after: bool
    ) -> None:
        """Put ``new`` right after (or before) the statement ``anchor``, in the same block."""
        target = self.insert_after if after else self.insert_before
        target.setdefault(id(anchor), []).append(new)
        self.touched.append(anchor)

    def remove_statement(self, statement: cst.BaseStatement) -> None:
        """Drop ``statement``; a block left empty gets a ``pass``."""
        self.remove.add(id(statement))
        self.touched.append(statement)

    def insert_element(
        self, sequence: cst.Call | cst.List, position: int, value: cst.BaseExpression,
        comment: str | None = None,
    ) -> None:
        """Insert ``value`` before element ``position`` of a call's arguments or a list literal
        (with ``comment`` at the end of its line, where the literal has one element a line)."""
        self.sequence_inserts.setdefault(id(sequence), []).append((position, value, comment))
        self.touched.append(sequence)

    def remove_element(self, sequence: cst.Call | cst.List, position: int) -> None:
        """Remove element ``position`` of a call's arguments or a list literal."""
        self.sequence_removals.setdefault(id(sequence), set()).add(position)
        self.touched.append(sequence)

    def need_imports(self, statements: Sequence[str]) -> None:
        for statement in statements:
            if statement not in self.imports:
                self.imports.append(statement)

    def apply(self) -> cst.Module:
        """The genome's module with every change made; only the statements holding a change
        (the model's classes and helper functions) are walked."""
        module = self.genome.module
        ancestors = self._ancestors()
        body = []
        for statement in module.body:
            if id(statement) in ancestors:
                changed = statement.visit(_Applier(self, ancestors))
                assert isinstance(changed, cst.BaseStatement)
                statement = changed
            body.append(statement)
        return _add_imports(module.with_changes(body=body), self.imports)

    def _ancestors(self) -> set[int]:
        """Ids of the nodes above a touched node: the only subtrees the rewrite walks into."""
        found: set[int] = set()
        for node in self.touched:
            parent = self.genome.parents.get(node)
            while parent is not None and id(parent) not in found:
                found.add(id(parent))
                parent = self.genome.parents.get(parent)
        return found


def _constant_edit(new: cst.CSTNode) -> NodeEdit:
    return lambda _updated: new


def splice_with(new: cst.Call) -> NodeEdit:
    """A node edit that applies :func:`splice_functional` with ``new`` to the updated call."""
    return lambda updated: splice_functional(updated, new)


class _Applier(cst.CSTTransformer):
    def __init__(self, rewrite: Rewrite, ancestors: set[int]) -> None:
        self.rewrite = rewrite
        self.ancestors = ancestors

    def on_visit(self, node: cst.CSTNode) -> bool:
        # untouched subtrees are left as they are, without a walk (the big saving on long classes)
        return id(node) in self.ancestors and super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
        updated = super().on_leave(original_node, updated_node)
        edit = self.rewrite.replace.get(id(original_node))
        if edit is not None and isinstance(updated, cst.CSTNode):
            return edit(updated)
        return updated

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated_node.with_changes(body=self._body(original_node.body, updated_node.body))

    def _body(self, original: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement]):
        body: list[cst.BaseStatement] = []
        for before, after in zip(original, updated):
            body.extend(self.rewrite.insert_before.get(id(before), []))
            if id(before) not in self.rewrite.remove:
                body.append(after)
            body.extend(self.rewrite.insert_after.get(id(before), []))
        # a block may not be empty
        return body or [cst.SimpleStatementLine([cst.Pass()])]

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        args = self._sequence(
            original_node, list(updated_node.args), updated_node.whitespace_before_args
        )
        return updated_node if args is None else updated_node.with_changes(args=args)

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.List:
        elements = self._sequence(
            original_node, list(updated_node.elements), updated_node.lbracket.whitespace_after
        )
        return updated_node if elements is None else updated_node.with_changes(elements=elements)

    def _sequence(
        self, original: cst.CSTNode, elements: list, opening: cst.BaseParenthesizableWhitespace
    ):
        key = id(original)
        inserts = self.rewrite.sequence_inserts.get(key, [])
        removals = self.rewrite.sequence_removals.get(key, set())
        if not inserts and not removals:
            return None
        # the literal's own separator, told before removals may leave one element to tell it by
        opening = _separator(elements, opening).whitespace_after
        # from the highest position down so that earlier positions stay valid
        ops: list[tuple[int, int, cst.BaseExpression | None, str | None]] = [
            (i, 1, None, None) for i in removals]
        ops += [(p, 0, v, c) for p, v, c in inserts]
        for position, _, value, comment in sorted(ops, key=lambda op: (op[0], op[1]),
                                                  reverse=True):
            if value is None:
                elements = remove_element(elements, position)
            else:
                elements = insert_element(elements, position, value, opening, comment)
        return elements


def _strip_comment(
    whitespace: cst.BaseParenthesizableWhitespace,
) -> cst.BaseParenthesizableWhitespace:
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(
            first_line=whitespace.first_line.with_changes(
                comment=None, whitespace=cst.SimpleWhitespace("")
            ),
            empty_lines=[],
        )
    return whitespace


def _separator(elements: list, opening: cst.BaseParenthesizableWhitespace) -> cst.Comma:
    """The comma that separates two elements in this literal's own style."""
    for element in elements[:-1]:
        if isinstance(element.comma, cst.Comma):
            return element.comma.with_changes(
                whitespace_after=_strip_comment(element.comma.whitespace_after)
            )
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=_strip_comment(opening))
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _make_element(
    like: cst.Arg | cst.Element, value: cst.BaseExpression, comma
) -> cst.Arg | cst.Element:
    if isinstance(like, cst.Arg):
        return cst.Arg(value=value, comma=comma)
    return cst.Element(value=value, comma=comma)


def insert_element(
    elements: list,
    position: int,
    value: cst.BaseExpression,
    opening: cst.BaseParenthesizableWhitespace,
    comment: str | None = None,
) -> list:
    """``elements`` of a call or list literal with ``value`` inserted before ``position``
    (``comment`` at the end of its line, when a line break follows its comma)."""
    separator = _separator(elements, opening)
    if position < len(elements):
        new = _make_element(elements[position], value, _commented(separator, comment))
        return [*elements[:position], new, *elements[position:]]
    last = elements[-1]
    # the comment on the old last element's line: after its comma, or before `)` without one
    own_line = _first_line(last.comma)
    closing = last.whitespace_after_arg if isinstance(last, cst.Arg) else None
    if own_line is None and isinstance(closing, cst.ParenthesizedWhitespace):
        own_line = closing.first_line
    trailing = last.comma
    if isinstance(trailing, cst.Comma):
        trailing = trailing.with_changes(whitespace_after=_strip_comment(trailing.whitespace_after))
    new = _make_element(last, value, _commented(trailing, comment))
    if isinstance(last, cst.Arg):
        # the whitespace before the closing parenthesis moves to the new last argument
        assert closing is not None
        new = new.with_changes(whitespace_after_arg=_strip_comment(closing))
        last = last.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
    last_comma = separator
    if own_line is not None and isinstance(separator.whitespace_after, cst.ParenthesizedWhitespace):
        last_comma = separator.with_changes(
            whitespace_after=separator.whitespace_after.with_changes(first_line=own_line)
        )
    return [*elements[:-1], last.with_changes(comma=last_comma), new]


def _commented(comma: cst.Comma | cst.MaybeSentinel, comment: str | None
               ) -> cst.Comma | cst.MaybeSentinel:
    """``comma`` with ``comment`` on the line it ends; as it is where no line break follows."""
    line = _first_line(comma)
    if comment is None or line is None:
        return comma
    assert isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace)
    return comma.with_changes(whitespace_after=comma.whitespace_after.with_changes(
        first_line=line.with_changes(whitespace=cst.SimpleWhitespace("  "),
                                     comment=cst.Comment(comment))))


def remove_element(elements: list, position: int) -> list:
    """``elements`` without the one at ``position``; the new last element keeps the old ending."""
    if position < len(elements) - 1 or len(elements) == 1:
        return [*elements[:position], *elements[position + 1 :]]
    gone = elements[position]
    previous = elements[position - 1]
    own_line = _first_line(previous.comma)  # the comment on the previous element's own line
    comma = gone.comma
    if isinstance(comma, cst.Comma) and own_line is not None:
        comma = comma.with_changes(
            whitespace_after=comma.whitespace_after.with_changes(first_line=own_line)
        )
    previous = previous.with_changes(comma=comma)
    if isinstance(gone, cst.Arg):
        closing = gone.whitespace_after_arg
        if (
            not isinstance(comma, cst.Comma)
            and own_line is not None
            and isinstance(closing, cst.ParenthesizedWhitespace)
        ):
            closing = closing.with_changes(first_line=own_line)
        previous = previous.with_changes(whitespace_after_arg=closing)
    return [*elements[: position - 1], previous]


def _first_line(comma: cst.Comma | cst.MaybeSentinel) -> cst.TrailingWhitespace | None:
    if isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return comma.whitespace_after.first_line
    return None


def _add_imports(module: cst.Module, imports: list[str]) -> cst.Module:
    """Add ``imports`` after the last top-level import (or at the top) of ``module``."""
    if not imports:
        return module
    body = list(module.body)
    last_import = -1
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            last_import = index
    if last_import < 0 and body and _is_docstring(body[0]):
        last_import = 0
    new = [cst.parse_statement(f"{statement}\n") for statement in imports]
    return module.with_changes(body=[*body[: last_import + 1], *new, *body[last_import + 1 :]])


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def splice_functional(current: cst.CSTNode, new: cst.Call) -> cst.Call:
    """``new``'s function and extra arguments applied to ``current``'s tensor argument.

    ``F.relu(self.fc1(x))`` spliced with ``F.leaky_relu(h, 0.2)`` gives
    ``F.leaky_relu(self.fc1(x), 0.2)``: the data flow of the receiving program stays as it was.
    """
    assert isinstance(current, cst.Call)
    data = current.args[0]
    extra = list(new.args[1:])
    comma = new.args[0].comma if extra else cst.MaybeSentinel.DEFAULT
    if extra and not isinstance(comma, cst.Comma):
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return current.with_changes(func=new.func, args=[data.with_changes(comma=comma), *extra])


def new_statement(
    template: cst.SimpleStatementLine, old: cst.CSTNode, new: cst.CSTNode
) -> cst.SimpleStatementLine:
    """A copy of ``template`` with ``old`` replaced by ``new``, without its comments."""
    statement = template.deep_replace(old, new)
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement.with_changes(leading_lines=[], trailing_whitespace=cst.TrailingWhitespace())


def credited(statement: cst.SimpleStatementLine, comment: str | None) -> cst.SimpleStatementLine:
    """``statement`` with ``comment`` at the end of its line (in place of one it had); as it is
    for None."""
    if comment is None:
        return statement
    return statement.with_changes(trailing_whitespace=cst.TrailingWhitespace(
        whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(comment)))
