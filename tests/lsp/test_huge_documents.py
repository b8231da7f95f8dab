"""Huge documents: evolve features are bounded and never hold up requests on other documents."""

from __future__ import annotations

import ast
import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from lsprotocol import types

from raw_server import RawServer

from nnevolve.analysis import Analysis, LineItem
from nnevolve.genome.model_classes import layer_building_classes
from nnevolve.lsp.analysis_worker import EVOLVE_MAX_CHARS
from nnevolve.lsp.run_lenses import LABEL_COMMAND

if TYPE_CHECKING:
    from conftest import Editor

module_loop = pytest.mark.asyncio(loop_scope="module")

SMALL_MODEL = "import torch.nn as nn\n\nhead = nn.Linear(784, 100)\n"
CLASS = """class Net{i}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))

"""
HEAD = "import torch.nn as nn\nimport torch.nn.functional as F\n\n"


def test_the_class_search_takes_linear_time():
    # 20,000 classes of 3 layer lines each: the former search compared every class with
    # every layer line (1.2e9 steps, minutes); a binary search per class takes milliseconds
    classes = 20_000
    tree = ast.parse("import torch.nn as nn\n" + "class N(nn.Module): pass\n" * classes)
    items = tuple(
        LineItem(line, 4, line, 20, "connection", "torch.nn.Linear", "Linear", None)
        for cls in range(classes)
        for line in (cls + 2, cls + 2, cls + 2)
    )
    started = time.perf_counter()
    found = layer_building_classes(tree, Analysis(items=items, error=None))
    assert len(found) == classes
    assert time.perf_counter() - started < 5


async def code_lens(editor: Editor, uri: str) -> list[types.CodeLens]:
    return list(
        await editor.client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        or []
    )


@module_loop
async def test_thousands_of_classes_get_their_lenses_without_blocking_other_documents(
    editor: Editor,
):
    source = HEAD + "".join(CLASS.format(i=i) for i in range(3_000))  # ~0.6 MB, under the cap
    assert len(source) < EVOLVE_MAX_CHARS
    small = editor.open(SMALL_MODEL, name="small.py")
    await editor.line_types(small)

    started = time.perf_counter()
    big = editor.open(source, name="many_classes.py")
    lenses = asyncio.ensure_future(code_lens(editor, big))
    await asyncio.sleep(0.05)  # the lens request is on its way; the hover follows it
    hover = await editor.hover(small, (2, 10))
    hover_seconds = time.perf_counter() - started
    answered = await lenses
    lens_seconds = time.perf_counter() - started

    assert hover is not None and "Linear 784→100" in hover.contents.value
    assert len(answered) == 3_000
    assert answered[-1].command is not None
    assert list(answered[-1].command.arguments or []) == [{"uri": big, "model": "Net2999"}]
    print(f"3,000 classes: hover elsewhere {hover_seconds:.2f} s, lenses {lens_seconds:.2f} s")
    assert hover_seconds < lens_seconds or hover_seconds < 1.0  # not held up by the big file
    assert lens_seconds < 60  # liveness under load, not a benchmark


@module_loop
async def test_a_file_over_the_cap_gets_one_too_large_lens_and_no_evolve(editor: Editor):
    classes = EVOLVE_MAX_CHARS // len(CLASS) + 100
    source = HEAD + "".join(CLASS.format(i=i) for i in range(classes))
    big = editor.open(source, name="over_the_cap.py")
    small = editor.open(SMALL_MODEL, name="small_beside.py")

    lenses = asyncio.ensure_future(code_lens(editor, big))
    await asyncio.sleep(0.05)
    hover = await editor.hover(small, (2, 10))
    assert hover is not None and not lenses.done()  # answered while the big file is analysed

    (lens,) = await lenses
    assert lens.command is not None and lens.command.command == LABEL_COMMAND
    assert "too large to evolve" in lens.command.title
    assert f"{len(source):,} characters" in lens.command.title

    answer = await editor.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="nnevolve.evolve", arguments=[{"uri": big}])
    )
    assert answer["started"] is False and "too large to evolve" in answer["reason"]
    actions = await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=big),
            range=types.Range(start=types.Position(5, 0), end=types.Position(5, 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert not actions


def test_a_long_non_ascii_line_is_typed_in_linear_time():
    # one 600 kB line of 40,000 layer calls after a non-ASCII character: each item's columns
    # used to re-encode or re-count the whole line (a 5 MB line took minutes). Raw stdio:
    # pytest-lsp's client alone takes a minute to read 40,000 items.
    source = "import torch.nn as nn\n" + "é = 1; " + "a = nn.ReLU(); " * 40_000
    server = RawServer()
    try:
        server.initialize()
        started = time.perf_counter()
        server.open("file:///w/one_line.py", source)
        answer = server.request(
            "nnevolve/lineTypes", {"textDocument": {"uri": "file:///w/one_line.py"}}, timeout=120
        )["result"]
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    assert len(answer["items"]) == 40_000
    assert answer["items"][-1]["range"] == {
        "start": {"line": 1, "character": len(source) - len("nn.ReLU(); ") - 22},
        "end": {"line": 1, "character": len(source) - len("; ") - 22},
    }
    print(f"one 600 kB line: line types in {seconds:.1f} s")
    assert seconds < 60  # quadratic, it took minutes
