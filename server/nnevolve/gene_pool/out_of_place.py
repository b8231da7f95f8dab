"""Material for another network made safe for autograd: no in-place operations.

A zoo writes ``nn.ReLU(inplace=True)``, ``F.relu(x, inplace=True)`` and a residual
``out += identity`` to save memory where it knows that no tensor it overwrites is needed for
the backward pass. Placed in another network (after a layer whose output autograd keeps) the
same code makes training fail. So everything the gene pool stores is written out of place:
the ``inplace`` argument of torch layers and functions is dropped (keyword or positional,
``nn.ReLU(True)``) and, in ``forward`` methods, ``out += identity`` becomes
``out = out + identity``. The function computed is the same.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable

import libcst as cst
from libcst.helpers import get_full_name_for_node

from nnevolve.analysis.catalog import lookup
from nnevolve.analysis.imports import torch_bindings
from nnevolve.genome.canonical import PREFIXES

# the bindings of the gene pool's canonical spelling (``nn.ReLU``, ``F.relu``, ``torch.add``)
CANONICAL_IMPORTS = tuple(statement for _, statement in PREFIXES.values())
# text that may hold something to rewrite: most lines have none and are not parsed
_MAYBE_IN_PLACE = re.compile(r"inplace|True|[-+*/%@&|^<>]=")
_OPERATORS: dict[type[cst.BaseAugOp], type[cst.BaseBinaryOp]] = {
    cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide, cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo, cst.PowerAssign: cst.Power,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply, cst.BitAndAssign: cst.BitAnd,
    cst.BitOrAssign: cst.BitOr, cst.BitXorAssign: cst.BitXor,
    cst.LeftShiftAssign: cst.LeftShift, cst.RightShiftAssign: cst.RightShift,
}


def out_of_place(source: str, imports: Iterable[str] = CANONICAL_IMPORTS) -> str:
    """``source`` (a canonical layer call, or a class with its helpers) with no in-place
    operation; ``imports`` are the import statements that bind its torch names. Source that
    does not parse comes back as it was."""
    if not _MAYBE_IN_PLACE.search(source):
        return source
    try:
        module = cst.parse_module(source)
        bindings = _bindings(tuple(imports))
    except (cst.ParserSyntaxError, SyntaxError, ValueError):
        return source
    return module.visit(_OutOfPlace(bindings)).code


@functools.cache
def _bindings(imports: tuple[str, ...]) -> dict[str, str]:
    # the same canonical imports for every gene of a harvest: parsed once
    return torch_bindings(ast.parse("\n".join(imports)).body)


class _OutOfPlace(cst.CSTTransformer):
    def __init__(self, bindings: dict[str, str]) -> None:
        self.bindings = bindings
        self.forward = 0  # depth of ``forward`` methods being walked

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.forward += node.name.value == "forward"

    def leave_FunctionDef(self, original_node: cst.FunctionDef,
                          updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.forward -= original_node.name.value == "forward"
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        name = get_full_name_for_node(updated_node.func)
        head, _, rest = (name or "").partition(".")
        qualified = self.bindings.get(head)
        entry = lookup(f"{qualified}.{rest}" if rest else qualified) if qualified else None
        if entry is None:
            return updated_node
        # an ``inplace`` given by position: the signature's slot (always its last)
        slot = entry.args.index("inplace") if "inplace" in entry.args else None
        args = [a for index, a in enumerate(updated_node.args)
                if not (a.keyword is not None and a.keyword.value == "inplace")
                and not (a.keyword is None and not a.star and index == slot)]
        if len(args) == len(updated_node.args):
            return updated_node
        if args:  # the last argument left must not keep a trailing comma
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(args=args)

    def leave_AugAssign(self, original_node: cst.AugAssign, updated_node: cst.AugAssign
                        ) -> cst.AugAssign | cst.Assign:
        # tensors in forward code only: ``channels *= 2`` building a layer is no tensor
        operator = _OPERATORS.get(type(updated_node.operator))
        if not self.forward or operator is None or not isinstance(updated_node.target, cst.Name):
            return updated_node
        value = updated_node.value
        if not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript,
                                  cst.Integer, cst.Float)) and not getattr(value, "lpar", ()):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        target = updated_node.target
        return cst.Assign(targets=[cst.AssignTarget(target)],
                          value=cst.BinaryOperation(target.deep_clone(), operator(), value),
                          semicolon=updated_node.semicolon)
