"""Semantic tokens: one token per item, over its callee, typed after the item's line type."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from lsprotocol import types

if TYPE_CHECKING:
    from conftest import Editor

LINE_TYPES = [
    "connection",
    "activation",
    "normalization",
    "pooling",
    "dropout",
    "reshape",
    "container",
    "optimizer",
    "loss",
    "scheduler",
]

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def tokens(editor: Editor, uri: str) -> list[tuple[int, str, str]]:
    """Decode the server's tokens into (line, text under the token, token type)."""
    legend = editor.client.initialize_result.capabilities.semantic_tokens_provider.legend
    answer = await editor.client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    lines = editor.texts[uri].splitlines()
    decoded, line, start = [], 0, 0
    data = answer.data
    for index in range(0, len(data), 5):
        delta_line, delta_start, length, token_type, modifiers = data[index : index + 5]
        start = start + delta_start if delta_line == 0 else delta_start
        line += delta_line
        assert modifiers == 0
        decoded.append((line, lines[line][start : start + length], legend.token_types[token_type]))
    return decoded


async def test_the_legend_names_one_token_type_per_line_type(editor: Editor):
    provider = editor.client.initialize_result.capabilities.semantic_tokens_provider

    assert list(provider.legend.token_types) == LINE_TYPES
    assert provider.full is True


async def test_each_item_is_one_token_over_its_callee(editor: Editor, model: str):
    uri = editor.open(model)

    assert await tokens(editor, uri) == [
        (10, "nn.Conv2d", "connection"),
        (11, "nn.MaxPool2d", "pooling"),
        (12, "nn.Conv2d", "connection"),  # only on the first line of a multi-line call
        (15, "nn.Linear", "connection"),
        (16, "nn.Linear", "connection"),
        (17, "nn.Sequential", "container"),
        (17, "nn.Linear", "connection"),
        (17, "nn.LogSoftmax", "activation"),
        (20, "F.relu", "activation"),
        (21, "F.relu", "activation"),
        (22, "torch.flatten", "reshape"),
        (23, "F.relu", "activation"),
        (24, "F.relu", "activation"),
    ]


async def test_tokens_follow_an_edit(editor: Editor, model: str):
    uri = editor.open(model)
    editor.replace(uri, "F.relu(self.fc1(x))", "torch.sigmoid(self.fc1(x))")

    assert (23, "torch.sigmoid", "activation") in await tokens(editor, uri)


async def test_an_unknown_document_has_no_tokens(editor: Editor):
    answer = await editor.client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(
            text_document=types.TextDocumentIdentifier(uri="file:///workspace/nowhere.py")
        )
    )
    assert list(answer.data) == []
