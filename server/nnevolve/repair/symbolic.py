"""Rewrite a width expression so that it evaluates to the needed widths, keeping its names.

A width argument that refers to names (``512 * block.expansion``, ``planes * 4``,
``self.num_classes``) says how the author derived it; folding it into a literal would keep the
layer consistent today and wrong as soon as the name changes. So the smallest change is made:

- an expression without names (``64``, ``16 * 5 * 5``) becomes the needed literal;
- a sum, product, difference or floor division with an integer literal gets that literal
  changed (``512 * block.expansion`` → ``256 * block.expansion``; the equal factors of
  ``c * 4 * 4`` stay equal), when one value is right for every module the call builds;
- otherwise, when every needed width is the same integer multiple or fraction of the declared
  one, the expression is scaled (``width`` → ``width // 2``);
- otherwise the width cannot be fixed: :class:`WidthRefused` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import libcst as cst

Pair = tuple[object, int]  # (declared width, needed width) of one built module or reshape run
_CONSTANT_NAMES = frozenset({"True", "False", "None"})


class WidthRefused(ValueError):
    """The expression cannot be rewritten to fit; the message is the reason, in words."""


def _names(expr: cst.CSTNode) -> bool:
    """True when ``expr`` refers to a name or an attribute (not ``True``/``False``/``None``)."""
    if isinstance(expr, cst.Attribute) or (
            isinstance(expr, cst.Name) and expr.value not in _CONSTANT_NAMES):
        return True
    return any(_names(child) for child in expr.children)


def _integer(expr: cst.BaseExpression) -> int | None:
    if isinstance(expr, cst.Integer):
        value = expr.evaluated_value
        return value if isinstance(value, int) else None
    return None


def _operands(expr: cst.BaseExpression, operator: type[cst.BaseBinaryOp]
              ) -> list[cst.BaseExpression]:
    """The operands of a chain of one associative operator: ``a * (b * 4)`` → a, b, 4."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, operator):
        return _operands(expr.left, operator) + _operands(expr.right, operator)
    return [expr]


def _one(values: set[int]) -> int | None:
    return next(iter(values)) if len(values) == 1 else None


def _root(value: int, degree: int) -> int | None:
    """The integer ``degree``-th root of ``value``, None when there is none."""
    guess = round(value ** (1 / degree))
    return next((r for r in (guess - 1, guess, guess + 1) if r > 0 and r**degree == value), None)


def _solve_product(literals: list[cst.Integer], pairs: Sequence[tuple[int, int]]
                   ) -> dict[cst.Integer, int] | None:
    values = [_integer(lit) or 0 for lit in literals]
    product = 1
    for v in values:
        product *= v
    # the rest of the product is declared / product; the literals must make needed / rest
    if product <= 0 or any(d <= 0 or d % product for d, _ in pairs):
        return None
    wanted = _one({Fraction(n * product, d) for d, n in pairs})
    if wanted is None or wanted.denominator != 1 or wanted <= 0:
        return None
    target = int(wanted)
    if len(set(values)) == 1:  # 4 * 4 (a square feature map): keep the literals equal
        root = _root(target, len(values))
        if root is not None:
            return dict.fromkeys(literals, root)
    for i in reversed(range(len(literals))):  # else change the one literal that can take it
        others = product // values[i]
        if target % others == 0:
            return {literals[i]: target // others}
    return None


def _solve(expr: cst.BaseExpression, pairs: Sequence[tuple[int, int]]
           ) -> dict[cst.Integer, int] | None:
    """New values for literals of ``expr`` that make it give every pair's needed width."""
    if not isinstance(expr, cst.BinaryOperation):
        return None
    op = expr.operator
    if isinstance(op, (cst.Multiply, cst.Add)):
        chain = _operands(expr, type(op))
        literals = [cst.ensure_type(o, cst.Integer) for o in chain if _integer(o) is not None]
        if not literals:
            return None
        if isinstance(op, cst.Multiply):
            return _solve_product(literals, pairs)
        last = literals[-1]
        # the rest of the sum does not change: the last literal takes the difference
        new = _one({(_integer(last) or 0) + n - d for d, n in pairs})
        return None if new is None or new < 0 else {last: new}
    left, right = _integer(expr.left), _integer(expr.right)
    if isinstance(op, cst.Subtract) and (left is None) != (right is None):
        if right is not None:  # a - c: a is declared + c
            new = _one({d + right - n for d, n in pairs})
            literal = expr.right
        else:  # c - a: a is c - declared
            assert left is not None
            new = _one({n + left - d for d, n in pairs})
            literal = expr.left
        return None if new is None or new < 0 else {cst.ensure_type(literal, cst.Integer): new}
    if isinstance(op, cst.FloorDivide) and right is not None and left is None and right > 0:
        return _solve_floor_division(cst.ensure_type(expr.right, cst.Integer), right, pairs)
    return None


def _solve_floor_division(literal: cst.Integer, c: int, pairs: Sequence[tuple[int, int]]
                          ) -> dict[cst.Integer, int] | None:
    """``a // c``: a is only known to lie in [c·declared, c·declared + c - 1]; a new divisor
    must give the needed width for every such a, for every pair."""
    low, high = 1, None
    for d, n in pairs:
        if d < 0 or n <= 0:
            return None
        a_min, a_max = c * d, c * d + c - 1
        # a // L == n for all a in [a_min, a_max]  ⇔  a_max // (n + 1) < L <= a_min // n
        low = max(low, a_max // (n + 1) + 1)
        high = a_min // n if high is None else min(high, a_min // n)
    if high is None or low > high:
        return None
    best = min(range(low, high + 1), key=lambda v: abs(v - c)) if high - low < 4096 else low
    return {literal: best}


class _SetLiterals(cst.CSTTransformer):
    def __init__(self, values: dict[cst.Integer, int]) -> None:
        super().__init__()
        self.values = values

    def leave_Integer(self, original_node: cst.Integer, updated_node: cst.Integer
                      ) -> cst.Integer:
        value = self.values.get(original_node)
        return updated_node if value is None else updated_node.with_changes(value=str(value))


def _identity(expr: cst.BinaryOperation, literal: cst.Integer, value: int
              ) -> cst.BaseExpression | None:
    """``a`` for ``a * 1``, ``a + 0``, ``a // 1``, ``a - 0``: no operation left to write."""
    op = expr.operator
    neutral = 1 if isinstance(op, (cst.Multiply, cst.FloorDivide)) else 0
    if value != neutral or not isinstance(op, (cst.Multiply, cst.Add, cst.FloorDivide,
                                               cst.Subtract)):
        return None
    if expr.right is literal:
        return expr.left
    if expr.left is literal and isinstance(op, (cst.Multiply, cst.Add)):
        return expr.right
    return None


def _scaled(expr: cst.BaseExpression, operator: cst.BaseBinaryOp, k: int) -> cst.BaseExpression:
    # + and - bind looser than * and //: keep them together with parentheses
    if isinstance(expr, cst.BinaryOperation) and not expr.lpar and isinstance(
            expr.operator, (cst.Add, cst.Subtract)):
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    elif isinstance(expr, (cst.UnaryOperation, cst.BooleanOperation, cst.Comparison,
                           cst.IfExp, cst.Lambda, cst.NamedExpr)) and not expr.lpar:
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=expr, operator=operator, right=cst.Integer(str(k)))


def _scale(expr: cst.BaseExpression, pairs: Sequence[tuple[int, int]]
           ) -> cst.BaseExpression | None:
    """``expr * k`` or ``expr // k`` when every needed width is declared·k or declared/k."""
    if any(d <= 0 or n <= 0 for d, n in pairs):
        return None
    up = _one({Fraction(n, d) for d, n in pairs})
    if up is not None and up.denominator == 1 and up > 1:
        return _scaled(expr, cst.Multiply(), int(up))
    down = _one({Fraction(d, n) for d, n in pairs})
    if down is not None and down.denominator == 1 and down > 1:
        return _scaled(expr, cst.FloorDivide(), int(down))
    return None


def rewrite_width(expr: cst.BaseExpression, pairs: Sequence[Pair], *, scale: bool = True
                  ) -> cst.BaseExpression:
    """An expression like ``expr`` that evaluates to the needed width of every pair.

    ``scale`` allows ``expr * k`` / ``expr // k`` (not for the output layer, whose width a
    model argument such as ``num_classes`` should set).

    Raises
    ------
    WidthRefused
        When no edit within the rules fits; the message says why (without the layer).
    """
    wanted = sorted({n for _, n in pairs})
    if not _names(expr):
        if len(wanted) > 1:
            raise WidthRefused("one literal cannot fit them all")
        return cst.Integer(str(wanted[0]))
    ints: list[tuple[int, int]] = []
    for declared, needed in pairs:
        if not isinstance(declared, int) or isinstance(declared, bool):
            raise WidthRefused(f"its value {declared!r} is not an integer")
        ints.append((declared, needed))
    solved = _solve(expr, ints)
    if solved is not None:
        if len(solved) == 1 and isinstance(expr, cst.BinaryOperation):
            [(literal, value)] = solved.items()
            identity = _identity(expr, literal, value)
            if identity is not None:
                return identity
        return cst.ensure_type(expr.visit(_SetLiterals(solved)), cst.BaseExpression)
    scaled = _scale(expr, ints) if scale else None
    if scaled is not None:
        return scaled
    if isinstance(expr, (cst.Name, cst.Attribute)):
        raise WidthRefused("it is a name, not rewritten")
    raise WidthRefused("it refers to names, and no new value of a literal in it nor a whole "
                       "multiple or fraction of it gives that")
