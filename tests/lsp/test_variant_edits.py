"""Variant edits: minimal line edits, re-basing onto the user's text, LSP text edits."""

from __future__ import annotations

from evolve_support import apply_text_edits
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types

from nnevolve.lsp.variants import (
    LineEdit,
    apply_line_edits,
    line_edits,
    rebase,
    split_lines,
    to_text_edits,
    unified_diff,
)

BASE = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 100)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc2(self.act(self.fc1(x)))
"""

VARIANT = BASE.replace("nn.Linear(64, 100)", "nn.Linear(64, 32)").replace(
    "nn.Linear(100, 10)", "nn.Linear(32, 10)"
)


def test_split_lines_follows_lsp_line_breaks_only() -> None:
    assert split_lines("a\r\nb\rc\nd\x0ce\u2028f") == ["a\r\n", "b\r", "c\n", "d\x0ce\u2028f"]
    assert split_lines("") == []
    assert split_lines("x\n") == ["x\n"]


def test_line_edits_change_only_the_lines_that_differ() -> None:
    edits = line_edits(BASE, VARIANT)
    assert [(e.start, e.end) for e in edits] == [(6, 7), (8, 9)]
    assert edits[0].new_lines == ("        self.fc1 = nn.Linear(64, 32)\n",)
    text_edits = to_text_edits(BASE, edits)
    assert all(e.range.start.character == 0 and e.range.end.character == 0 for e in text_edits)
    assert apply_text_edits(BASE, text_edits) == VARIANT


def test_identical_source_needs_no_edit() -> None:
    assert line_edits(BASE, BASE) == ()
    assert rebase(BASE, BASE, BASE + "# note\n") is not None


def test_rebase_keeps_a_user_change_that_does_not_touch_the_variant() -> None:
    current = BASE.replace("import torch.nn as nn\n", "import torch.nn as nn\nimport math\n")
    rebased = rebase(BASE, VARIANT, current)
    assert rebased is not None
    assert rebased.source == VARIANT.replace(
        "import torch.nn as nn\n", "import torch.nn as nn\nimport math\n"
    )
    assert [(e.start, e.end) for e in rebased.edits] == [(7, 8), (9, 10)]
    assert apply_text_edits(current, to_text_edits(current, rebased.edits)) == rebased.source


def test_rebase_withholds_a_variant_whose_lines_the_user_changed() -> None:
    current = BASE.replace("nn.Linear(64, 100)", "nn.Linear(64, 128)")
    assert rebase(BASE, VARIANT, current) is None


def test_rebase_withholds_when_the_user_changed_an_adjacent_line() -> None:
    # like git, a change right next to the variant's change is a conflict
    current = BASE.replace("nn.ReLU()", "nn.Tanh()")
    variant = BASE.replace("nn.Linear(100, 10)", "nn.Linear(100, 10, bias=False)")
    assert rebase(BASE, variant, current) is None


def test_rebase_onto_unchanged_text_is_the_variant_itself() -> None:
    rebased = rebase(BASE, VARIANT, BASE)
    assert rebased is not None and rebased.source == VARIANT


def test_last_line_without_a_line_break_is_replaced_up_to_its_end() -> None:
    base = "a = 1\nb = 2"
    variant = "a = 1\nb = 3\nc = 4"
    edits = to_text_edits(base, line_edits(base, variant))
    assert edits[0].range.end == types.Position(line=1, character=5)
    assert apply_text_edits(base, edits) == variant


def test_columns_are_counted_in_utf16_code_units() -> None:
    base = "x = 1\ns = '𝔸𝔹'"  # two characters outside the BMP: 4 UTF-16 units
    variant = "x = 2\ns = '𝔸𝔹'"
    assert apply_text_edits(base, to_text_edits(base, line_edits(base, variant))) == variant
    edits = to_text_edits(variant, line_edits(variant, "x = 2\ns = ''"))
    assert edits[0].range.end.character == len("s = '") + 4 + 1


def test_crlf_text_keeps_its_line_breaks() -> None:
    base = BASE.replace("\n", "\r\n")
    variant = VARIANT.replace("\n", "\r\n")
    edits = line_edits(base, variant)
    assert len(edits) == 2
    assert apply_text_edits(base, to_text_edits(base, edits)) == variant


def test_unified_diff_names_the_file_and_shows_the_changed_lines() -> None:
    diff = unified_diff(BASE, VARIANT, "model.py")
    assert diff.startswith("--- a/model.py\n+++ b/model.py\n")
    assert "-        self.fc1 = nn.Linear(64, 100)\n+        self.fc1 = nn.Linear(64, 32)\n" in diff


def test_apply_line_edits_inserts_and_deletes() -> None:
    edits = (LineEdit(0, 0, ("top\n",)), LineEdit(1, 2, ()))
    assert apply_line_edits("a\nb\nc\n", edits) == "top\na\nc\n"


_LINES = st.lists(st.sampled_from(["x = 1\n", "y = 2\n", "z\n", "\n", "w = 'é𝔸'\n"]), max_size=12)


@given(base=_LINES, variant=_LINES)
def test_edits_always_reproduce_the_variant_exactly(base: list[str], variant: list[str]) -> None:
    old, new = "".join(base), "".join(variant)
    assert apply_line_edits(old, line_edits(old, new)) == new
    assert apply_text_edits(old, to_text_edits(old, line_edits(old, new))) == new


@given(
    head=_LINES,
    middle=st.lists(st.just("keep\n"), min_size=2, max_size=4),
    tail=_LINES,
    new_head=_LINES,
    new_tail=_LINES,
)
def test_rebase_merges_changes_at_distant_places(
    head: list[str], middle: list[str], tail: list[str], new_head: list[str], new_tail: list[str]
) -> None:
    # the variant changes the head, the user the tail; lines in between keep them apart
    base = "".join(head + middle + tail)
    variant = "".join(new_head + middle + tail)
    current = "".join(head + middle + new_tail)
    rebased = rebase(base, variant, current)
    assert rebased is not None
    assert rebased.source == "".join(new_head + middle + new_tail)
    assert apply_text_edits(current, to_text_edits(current, rebased.edits)) == rebased.source
