"""ClassWalk: one code generation gives what libcst's PositionProvider and a visitor would."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from genome_support import NETWORKS, src
from nnevolve.analysis.literals import SourceText
from nnevolve.genome.walk import ClassWalk, NodeWalk, ast_range

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# comments, blank lines, decorators, strings over several lines, nested code, non-ASCII names
ODD = src(
    '''
    import torch.nn as nn
    import torch.nn.functional as F


    @staticmethod
    def helper(x): return x


    class Odd(nn.Module):  # a comment

        """Docstring
        over lines."""

        # a comment between methods
        def __init__(self, größe=4):
            super().__init__()
            self.fc = nn.Linear(  # first
                größe,

                2)  # last
            self.seq = nn.Sequential(nn.ReLU(), *[nn.Tanh() for _ in range(2)])

        @property
        def name(self): return "odd"; pass

        def forward(self, x):
            def inner(y):
                return F.relu(y)
            s = """a
    b"""
            return inner(self.fc(x)) if s else (self.seq(x))
    '''
)
SOURCES = {**NETWORKS, "odd": ODD}
SOURCES.update({p.stem: p.read_text() for p in sorted(SAMPLES.glob("*.py"))})


class _Order(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.append(node)
        return True


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_positions_parents_and_order_match_libcst(name):
    module = cst.parse_module(SOURCES[name])
    class_node = [n for n in module.body if isinstance(n, cst.ClassDef)][-1]
    alone = module.with_changes(body=[class_node], header=[], footer=[])
    wrapper = MetadataWrapper(alone, unsafe_skip_copy=True)
    ranges = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    walk = ClassWalk(module, class_node, class_line=ranges[class_node.name].start.line)
    order = _Order()
    class_node.visit(order)
    for node in order.nodes:
        expected = ranges[node]
        assert walk.positions.start(node) == (expected.start.line, expected.start.column)
        assert walk.positions.end(node) == (expected.end.line, expected.end.column)
        if node is not class_node:
            assert walk.parents[node] is parents[node]
    assert len(walk.parents) == len(order.nodes) - 1
    # source order, as a visitor meets the nodes
    assert walk.below(class_node, cst.CSTNode) == order.nodes
    calls = [n for n in order.nodes if isinstance(n, cst.Call)]
    assert walk.below(class_node, cst.Call) == calls


def test_positions_are_lines_of_the_file():
    module = cst.parse_module(ODD)
    class_node = [n for n in module.body if isinstance(n, cst.ClassDef)][-1]
    walk = ClassWalk(module, class_node, class_line=9)
    assert walk.positions.start(class_node.name) == (9, 6)
    code = cst.Module([]).code_for_node
    [fc] = [c for c in walk.below(class_node, cst.Call) if code(c.func) == "nn.Linear"]
    assert (walk.positions.start(fc), walk.positions.end(fc)) == ((17, 18), (20, 14))


# non-ASCII text before calls on their lines: ast counts UTF-8 bytes, libcst characters
WIDE = src(
    '''
    import torch.nn as nn
    x = f("größe", nn.Conv2d(1, 2, 3)).view(a, b).view(c, d)
    y = ("é"), (nn.Linear(3, 4))
    '''
)


@pytest.mark.parametrize("name", sorted({**SOURCES, "wide": WIDE}))
def test_every_ast_call_finds_its_libcst_call_by_range(name):
    source = {**SOURCES, "wide": WIDE}[name]
    module = cst.parse_module(source)
    walk = NodeWalk(module)
    text = SourceText(source)
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    assert calls
    for call in calls:
        found = walk.find(ast_range(call, text), cst.Call)
        assert found is not None, ast.unparse(call)
        # the same call: same text, whatever the parentheses or whitespace around it
        assert ast.unparse(ast.parse(module.code_for_node(found).strip(), mode="eval")) \
            == ast.unparse(call)
    assert walk.find((1, 0, 1, 1), cst.Call) is None
