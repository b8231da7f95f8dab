"""Broken files: the analysis never raises, reports the error, and keeps what parses."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from nnevolve.analysis import analyze
from nnevolve.analysis.line_types import _analyze

MODEL = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.fc1 = nn.Linear(120, 84)
            self.fc2 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            return self.fc2(F.relu(self.fc1(x)))
    """
)


def lines_of(source: str) -> list[int]:
    return [item.line for item in _analyze(source).items]


def test_a_clean_file_has_no_error_and_is_not_stale():
    analysis = _analyze(MODEL)
    assert analysis.error is None and not analysis.stale
    assert lines_of(MODEL) == [7, 8, 9, 12, 13]


def test_an_unclosed_call_being_typed_keeps_every_other_item():
    broken = MODEL.replace("nn.Linear(120, 84)", "nn.Linear(120,")
    analysis = _analyze(broken)
    assert analysis.stale
    assert (analysis.error.line, analysis.error.message) == (8, "'(' was never closed")
    assert [i.line for i in analysis.items] == [7, 9, 12, 13]


def test_a_half_typed_block_header_keeps_the_block_below_it():
    broken = MODEL.replace("    def forward(self, x):", "    def forward(self, x)")
    analysis = _analyze(broken)
    assert analysis.stale and analysis.error.line == 11
    assert [i.line for i in analysis.items] == [7, 8, 9, 12, 13]


def test_a_missing_comma_inside_a_sequential():
    source = (
        "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(4, 8) nn.ReLU())\nact = nn.Tanh()\n"
    )
    analysis = _analyze(source)
    assert analysis.error.line == 2 and "comma" in analysis.error.message
    assert [(i.line, i.name) for i in analysis.items] == [(3, "torch.nn.Tanh")]


def test_a_bad_indentation_and_an_empty_function_body():
    source = MODEL.replace("        self.fc2 =", "      self.fc2 =") + "\ndef later():\n"
    analysis = _analyze(source)
    assert analysis.stale and analysis.error.line == 9
    assert lines_of(source) == [7, 8, 12, 13]


def test_an_unterminated_string_hides_nothing_before_it():
    source = MODEL + 'doc = """never closed\n'
    analysis = _analyze(source)
    assert analysis.error.message.startswith("unterminated triple-quoted string")
    assert lines_of(source) == [7, 8, 9, 12, 13]


def test_error_position_is_one_based_line_and_zero_based_code_point_column():
    analysis = _analyze("x = 'é'; y = )\n")
    assert (analysis.error.line, analysis.error.col, analysis.error.end_line) == (1, 13, 1)
    assert analysis.error.end_col == 14


def test_null_bytes_are_reported_and_the_rest_analysed():
    source = MODEL.replace("super()", "super\x00()")
    analysis = _analyze(source)
    assert (analysis.error.line, analysis.error.col) == (6, 13)
    assert "null" in analysis.error.message
    assert analysis.stale and lines_of(source) == [7, 8, 9, 12, 13]


def test_text_decoded_with_surrogate_escapes_is_analysed():
    source = (b"# caf\xe9 latin-1 comment\n" + MODEL.encode()).decode("utf-8", "surrogateescape")
    analysis = _analyze(source)
    assert analysis.error.line == 1 and "Unicode" in analysis.error.message
    assert [line - 1 for line in lines_of(source)] == [7, 8, 9, 12, 13]


def test_binary_garbage_and_pathological_nesting_do_not_raise():
    garbage = bytes(range(256)).decode("latin-1") * 20
    assert _analyze(garbage).error is not None
    assert _analyze("(" * 5000).error is not None
    assert (
        _analyze("x = " + "-" * 100_000 + "1\n").error is not None
    )  # the parser runs out of stack
    assert _analyze("x = " + "+".join(["1"] * 100_000) + "\n").error is not None


def test_bytes_are_accepted_as_utf8():
    assert [i.name for i in _analyze(b"import torch.nn as nn\nnn.ReLU()\n").items] == [
        "torch.nn.ReLU"
    ]


def test_an_unrecoverable_file_has_no_items_and_is_not_stale():
    analysis = _analyze("\n".join(f"{'(' * (i % 7 + 1)}nn.ReLU(" for i in range(60)))
    assert analysis.error is not None
    assert analysis.items == () and not analysis.stale


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_analyze_never_raises_on_arbitrary_text(text: str):
    analysis = _analyze(text)
    assert analysis.error is not None or not analysis.stale


_FRAGMENTS = [
    "import torch.nn as nn\n", "from torch import nn\n", "import torch.nn.functional as F\n",
    "class N(nn.Module):\n", "    def __init__(self):\n", "        self.fc = nn.Linear(3, 4)\n",
    "nn.Sequential(", "nn.Conv2d(1, 2, 3)", ", ", ")", "(", "\n", "    ", "F.relu(x)",
    "layers.append(nn.ReLU())\n", "def f(:\n", '"""', "\x00", "\ufeff", "\r", "é", "**", "*",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30))
def test_analyze_never_raises_on_broken_model_code(fragments: list[str]):
    source = "".join(fragments)
    analysis = _analyze(source)
    lines = source.count("\n") + source.count("\r") + 1
    for item in analysis.items:  # every range is inside the text
        assert 1 <= item.line <= item.end_line <= lines
    assert analyze(source) == analysis


def test_a_bug_in_the_analysis_is_logged_and_gives_an_empty_result(monkeypatch, caplog):
    from nnevolve.analysis import line_types

    def broken(source: str):
        raise RuntimeError("a bug")

    monkeypatch.setattr(line_types, "_analyze", broken)
    assert analyze(MODEL).items == ()
    assert "line-type analysis failed" in caplog.text


def test_the_garbage_collector_is_running_again_after_an_analysis():
    import gc

    analyze(MODEL)
    analyze("def (:\n")
    assert gc.isenabled()


def test_compiler_warnings_neither_print_nor_break_the_parse(capfd):
    import warnings

    source = "import torch.nn as nn\npattern = '\\d+'\nfc = nn.Linear(2, 3)\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under `python -W error`
        analysis = _analyze(source)
    assert analysis.error is None and [i.name for i in analysis.items] == ["torch.nn.Linear"]
    assert capfd.readouterr().err == ""
