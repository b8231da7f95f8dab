"""rewrite_width: the smallest edit of a width expression, never a literal over a name."""

from __future__ import annotations

import libcst as cst
import pytest

from nnevolve.repair.symbolic import WidthRefused, rewrite_width

# the values the names have when the model is built
NAMES = {"block": type("Block", (), {"expansion": 4}), "planes": 64, "growth": 8, "n": 64,
         "width": 16, "a": 6, "b": 10, "hidden": 16, "num_classes": 10,
         "self": type("Self", (), {"n": 10})}


def rewritten(code: str, pairs, *, scale: bool = True) -> str:
    new = rewrite_width(cst.parse_expression(code), pairs, scale=scale)
    new_code = cst.Module([]).code_for_node(new)
    for _, needed in pairs[:1]:  # the rewritten expression gives the needed width
        assert eval(new_code, dict(NAMES)) == needed  # noqa: S307
    return new_code


@pytest.mark.parametrize(("code", "pairs", "expected"), [
    # no names: the needed literal, as before
    ("64", [(64, 32)], "32"),
    ("16 * 5 * 5", [(400, 288)], "288"),
    # one literal factor or term: that literal changes
    ("512 * block.expansion", [(2048, 1024)], "256 * block.expansion"),
    ("planes * 4", [(256, 128)], "planes * 2"),
    ("64 + growth", [(72, 40)], "32 + growth"),
    ("n - 1", [(63, 60)], "n - 4"),
    ("100 - n", [(36, 30)], "94 - n"),
    ("n // 2", [(32, 16)], "n // 4"),
    # the new literal makes the operation an identity: only the name is left
    ("planes * 4", [(256, 64)], "planes"),
    ("n + 8", [(72, 64)], "n"),
    # equal literal factors (a square feature map) stay equal
    ("hidden * 4 * 4", [(256, 3136)], "hidden * 14 * 14"),
    # no literal to change: a whole multiple or fraction of the expression
    ("width", [(16, 8)], "width // 2"),
    ("width", [(16, 48)], "width * 3"),
    ("a + b", [(16, 32)], "(a + b) * 2"),
    # n // 2 == 32 leaves n 64 or 65: no divisor gives 64 for both, doubling does
    ("n // 2", [(32, 64)], "n // 2 * 2"),
])
def test_each_expression_gets_its_smallest_edit(code, pairs, expected):
    assert rewritten(code, pairs) == expected


def test_a_call_that_builds_several_layers_gets_one_literal_right_for_all():
    # planes is 64 for the first layer and 128 for the second; both need half their width
    new = rewrite_width(cst.parse_expression("planes * 4"), [(256, 128), (512, 256)])
    assert cst.Module([]).code_for_node(new) == "planes * 2"


@pytest.mark.parametrize(("code", "pairs", "why"), [
    ("self.n", [(10, 64)], "it is a name, not rewritten"),
    ("width", [(16, 10)], "it is a name, not rewritten"),
    # 128 and 384 from 256 and 512: literals 2 and 3, ratios 1/2 and 3/4
    ("planes * 4", [(256, 128), (512, 384)], "it refers to names, and no new value"),
    ("64 + growth", [(72, 40), (80, 60)], "it refers to names, and no new value"),
    ("width", [(True, 8)], "is not an integer"),
    ("3", [(3, 1), (16, 16)], "one literal cannot fit them all"),
])
def test_an_expression_that_cannot_be_edited_within_the_rules_is_refused(code, pairs, why):
    with pytest.raises(WidthRefused, match=why):
        rewrite_width(cst.parse_expression(code), pairs)


def test_the_output_width_of_a_name_is_never_scaled():
    # num_classes // 100 would be a width the model's arguments no longer explain
    with pytest.raises(WidthRefused, match="it is a name"):
        rewrite_width(cst.parse_expression("num_classes"), [(1000, 10)], scale=False)
    assert rewritten("num_classes", [(10, 20)]) == "num_classes * 2"
