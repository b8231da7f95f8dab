"""Inlay hints: the type label at the end of every typed line, inside the requested range."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from lsprotocol import types

if TYPE_CHECKING:
    from conftest import Editor

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def hints(editor: Editor, uri: str, first: int = 0, last: int = 1_000) -> list:
    answer = await editor.client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(first, 0), end=types.Position(last, 0)),
        )
    )
    return [(hint.position.line, hint.position.character, hint.label) for hint in answer]


async def test_every_typed_line_ends_with_its_type_label(editor: Editor, model: str):
    uri = editor.open(model)
    lines = model.splitlines()

    assert await hints(editor, uri) == [
        (line, len(lines[line]), label)
        for line, label in [
            (10, "connection layer"),
            (11, "pooling layer"),
            (12, "connection layer"),  # a call over three lines is marked on its first
            (15, "connection layer"),
            (16, "connection layer"),
            (17, "container, connection layer, activation function"),
            (20, "activation function"),
            (21, "activation function"),
            (22, "reshape"),
            (23, "activation function"),
            (24, "activation function"),
        ]
    ]


async def test_hints_are_padded_away_from_the_code(editor: Editor, model: str):
    uri = editor.open(model)

    answer = await editor.client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(10, 0), end=types.Position(11, 0)),
        )
    )

    assert [(hint.label, hint.padding_left) for hint in answer] == [("connection layer", True)]


async def test_only_hints_inside_the_requested_range_are_returned(editor: Editor, model: str):
    uri = editor.open(model)

    # lines 20..22 of `forward`; the end of line 23 lies past the range's end (23, 0)
    assert [label for _, _, label in await hints(editor, uri, 20, 23)] == [
        "activation function",
        "activation function",
        "reshape",
    ]
    assert await hints(editor, uri, 0, 9) == []


async def test_hints_follow_an_edit(editor: Editor, model: str):
    uri = editor.open(model)
    editor.replace(uri, "nn.MaxPool2d(2, 2)", "nn.BatchNorm2d(6)")

    assert await hints(editor, uri, 11, 12) == [
        (11, len("        self.pool = nn.BatchNorm2d(6)"), "normalization layer")
    ]


async def test_a_hint_after_wide_characters_sits_at_the_utf16_line_end(editor: Editor):
    uri = editor.open("import torch.nn as nn\n\nact = nn.GELU()  # 🙂 smooth\n")

    assert await hints(editor, uri) == [
        (2, len("act = nn.GELU()  # 🙂 smooth") + 1, "activation function")
    ]
