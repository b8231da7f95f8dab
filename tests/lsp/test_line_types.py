"""`nnevolve/lineTypes`: every typed item with its LSP range, for the extension's decorations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Editor

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_line_types_lists_every_typed_item_in_order(editor: Editor, model: str):
    uri = editor.open(model)

    answer = await editor.line_types(uri)

    assert answer["version"] == 1
    assert [
        (item["range"]["start"]["line"], item["type"], item["name"]) for item in answer["items"]
    ] == [
        (10, "connection", "torch.nn.Conv2d"),
        (11, "pooling", "torch.nn.MaxPool2d"),
        (12, "connection", "torch.nn.Conv2d"),
        (15, "connection", "torch.nn.Linear"),
        (16, "connection", "torch.nn.Linear"),
        (17, "container", "torch.nn.Sequential"),
        (17, "connection", "torch.nn.Linear"),
        (17, "activation", "torch.nn.LogSoftmax"),
        (20, "activation", "torch.nn.functional.relu"),
        (21, "activation", "torch.nn.functional.relu"),
        (22, "reshape", "torch.flatten"),
        (23, "activation", "torch.nn.functional.relu"),
        (24, "activation", "torch.nn.functional.relu"),
    ]


async def test_an_item_carries_its_exact_range_detail_and_parameter_count(
    editor: Editor, model: str
):
    uri = editor.open(model)

    items = (await editor.line_types(uri))["items"]

    fc1 = next(item for item in items if item["range"]["start"]["line"] == 15)
    assert fc1 == {
        "range": editor.span(uri, "nn.Linear(16 * 5 * 5, 120)"),
        "type": "connection",
        "name": "torch.nn.Linear",
        "detail": "Linear 400→120",
        "params": 48_120,
    }
    conv1 = items[0]
    assert conv1["range"] == editor.span(uri, "nn.Conv2d(3, 6, 5)")
    assert (conv1["detail"], conv1["params"]) == ("Conv2d 3→6, 5×5", 456)


async def test_a_call_over_several_lines_is_one_item(editor: Editor, model: str):
    uri = editor.open(model)

    items = (await editor.line_types(uri))["items"]

    conv2 = items[2]
    assert conv2["range"] == {
        "start": {"line": 12, "character": editor.find(uri, "nn.Conv2d(\n")[1]},
        "end": {"line": 14, "character": len("        )")},
    }
    assert (conv2["detail"], conv2["params"]) == ("Conv2d 6→16, 5×5", 2_416)


async def test_items_of_a_sequential_on_one_line_are_each_their_own(editor: Editor, model: str):
    uri = editor.open(model)

    items = [
        item
        for item in (await editor.line_types(uri))["items"]
        if item["range"]["start"]["line"] == 17
    ]

    assert [item["range"] for item in items] == [
        editor.span(uri, "nn.Sequential(nn.Linear(84, 10), nn.LogSoftmax(dim=1))"),
        editor.span(uri, "nn.Linear(84, 10)"),
        editor.span(uri, "nn.LogSoftmax(dim=1)"),
    ]


async def test_line_types_follow_each_edit_with_the_new_version(editor: Editor, model: str):
    uri = editor.open(model)
    assert (await editor.line_types(uri))["items"][4]["name"] == "torch.nn.Linear"

    version = editor.replace(uri, "nn.Linear(120, 84)", "nn.Dropout(0.25)")
    answer = await editor.line_types(uri)

    assert answer["version"] == version == 2
    dropout = answer["items"][4]
    assert (dropout["type"], dropout["name"], dropout["detail"]) == (
        "dropout",
        "torch.nn.Dropout",
        "Dropout p=0.25",
    )
    assert dropout["range"] == editor.span(uri, "nn.Dropout(0.25)")

    editor.replace(uri, "        self.fc2 = nn.Dropout(0.25)\n", "")
    answer = await editor.line_types(uri)
    assert answer["version"] == 3
    assert [item["range"]["start"]["line"] for item in answer["items"]][:5] == [10, 11, 12, 15, 16]
    assert answer["items"][4]["type"] == "container"


async def test_columns_are_counted_in_utf16_code_units(editor: Editor, model: str):
    source = 'import torch.nn as nn\n\nheads = {"🙂": nn.ReLU(), "é": nn.Tanh()}\n'
    uri = editor.open(source)

    items = (await editor.line_types(uri))["items"]

    # 🙂 is one code point but two UTF-16 units; é is one of each
    assert [(item["name"], item["range"]["start"], item["range"]["end"]) for item in items] == [
        ("torch.nn.ReLU", {"line": 2, "character": 15}, {"line": 2, "character": 24}),
        ("torch.nn.Tanh", {"line": 2, "character": 31}, {"line": 2, "character": 40}),
    ]


async def test_a_document_that_is_not_open_has_no_version_and_no_items(editor: Editor, model: str):
    assert await editor.line_types("file:///workspace/never_opened.py") == {
        "version": None,
        "items": [],
    }


async def test_while_one_line_is_broken_the_others_keep_their_items(editor: Editor, model: str):
    uri = editor.open(model)
    version = editor.replace(uri, "nn.Linear(120, 84)", "nn.Linear(120, 84")  # typing...

    answer = await editor.line_types(uri)

    assert answer["version"] == version
    names = [(item["range"]["start"]["line"], item["name"]) for item in answer["items"]]
    assert (15, "torch.nn.Linear") in names and (22, "torch.flatten") in names
    assert 16 not in [line for line, _ in names]  # the broken call itself is not claimed
    assert len(await editor.diagnostics(uri)) == 1
