"""Hover: a typed item says what it is; anything else says nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from lsprotocol import types

if TYPE_CHECKING:
    from conftest import Editor

pytestmark = pytest.mark.asyncio(loop_scope="module")


def as_range(span: dict) -> types.Range:
    return types.Range(start=types.Position(**span["start"]), end=types.Position(**span["end"]))


async def test_hover_on_a_layer_names_its_type_callee_detail_and_parameters(
    editor: Editor, model: str
):
    uri = editor.open(model)
    line, character = editor.find(uri, "Linear(16 * 5")

    hover = await editor.hover(uri, (line, character + 2))

    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value == (
        "**connection layer** · `torch.nn.Linear` · Linear 400→120 · 48,120 parameters"
    )
    assert hover.range == as_range(editor.span(uri, "nn.Linear(16 * 5 * 5, 120)"))


async def test_hover_on_a_functional_activation(editor: Editor, model: str):
    uri = editor.open(model)

    hover = await editor.hover(uri, editor.find(uri, "F.relu", occurrence=2))

    assert hover is not None
    assert hover.contents.value.startswith("**activation function** · `torch.nn.functional.relu`")
    assert hover.range == as_range(editor.span(uri, "F.relu(self.fc1(x))"))


async def test_hover_inside_a_call_over_several_lines_covers_the_whole_call(
    editor: Editor, model: str
):
    uri = editor.open(model)
    line, character = editor.find(uri, "6, 16, 5")

    hover = await editor.hover(uri, (line, character + 3))

    assert hover is not None
    assert "`torch.nn.Conv2d` · Conv2d 6→16, 5×5 · 2,416 parameters" in hover.contents.value
    start = editor.find(uri, "nn.Conv2d(\n")
    assert hover.range == types.Range(
        start=types.Position(*start), end=types.Position(line + 1, len("        )"))
    )


async def test_hover_picks_the_innermost_item_of_a_sequential(editor: Editor, model: str):
    uri = editor.open(model)

    outer = await editor.hover(uri, editor.find(uri, "Sequential(nn."))
    inner = await editor.hover(uri, editor.find(uri, "LogSoftmax"))

    assert outer is not None and outer.contents.value.startswith(
        "**container** · `torch.nn.Sequential`"
    )
    assert inner is not None and inner.contents.value.startswith(
        "**activation function** · `torch.nn.LogSoftmax`"
    )


async def test_hover_elsewhere_says_nothing(editor: Editor, model: str):
    uri = editor.open(model)

    assert await editor.hover(uri, editor.find(uri, "def forward")) is None
    assert await editor.hover(uri, editor.find(uri, "self.head(x)")) is None  # a use site
    assert await editor.hover(uri, (3, 0)) is None  # a blank line
    assert await editor.hover(uri, (500, 4)) is None  # past the end


async def test_hover_follows_an_edit(editor: Editor, model: str):
    uri = editor.open(model)
    editor.replace(uri, "nn.Linear(120, 84)", "nn.Linear(\n            120, 64)")

    hover = await editor.hover(uri, editor.find(uri, "120, 64"))

    assert hover is not None
    assert hover.contents.value == (
        "**connection layer** · `torch.nn.Linear` · Linear 120→64 · 7,744 parameters"
    )
    assert hover.range.start == types.Position(*editor.find(uri, "nn.Linear(\n"))


async def test_hover_positions_are_read_in_utf16_code_units(editor: Editor):
    uri = editor.open('import torch.nn as nn\n\nheads = {"🙂": nn.ReLU(), "é": nn.Tanh()}\n')

    # "🙂" takes two UTF-16 units: `nn.Tanh()` starts at character 31, code point 30
    tanh = await editor.hover(uri, (2, 31))
    before = await editor.hover(uri, (2, 30))

    assert tanh is not None and "`torch.nn.Tanh`" in tanh.contents.value
    assert tanh.range == types.Range(start=types.Position(2, 31), end=types.Position(2, 40))
    assert before is None


@pytest.mark.asyncio(loop_scope="function")  # its own server: `launch` runs in this test's loop
async def test_a_client_without_markdown_gets_plain_text(launch, editor_on, model: str):
    plain_text_only = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.PlainText])
        )
    )
    client = await launch(capabilities=plain_text_only)
    editor = editor_on(client, "plain")
    uri = editor.open(model)

    hover = await editor.hover(uri, editor.find(uri, "nn.Linear(16"))

    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.PlainText
    assert hover.contents.value == (
        "connection layer · torch.nn.Linear · Linear 400→120 · 48,120 parameters"
    )
    await client.shutdown_session()
