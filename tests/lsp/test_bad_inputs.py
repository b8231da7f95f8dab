"""The server survives anything a client sends, and answers the next normal request correctly."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

if TYPE_CHECKING:
    from conftest import Editor

SMALL_MODEL = "import torch.nn as nn\n\nhead = nn.Linear(784, 100)\n"
NOWHERE = "file:///workspace/nowhere.py"

pytestmark = pytest.mark.asyncio(loop_scope="module")


def send_raw(editor: Editor, body: bytes) -> None:
    """Write one message to the server's stdin, below the client's JSON-RPC layer."""
    editor.client._server.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


async def assert_still_serving(editor: Editor) -> None:
    """A fresh document gets its items, hover and (empty) diagnostics as usual."""
    uri = editor.open(SMALL_MODEL, name=f"check_{len(editor.versions)}.py")
    answer = await editor.line_types(uri)
    assert [(item["name"], item["detail"], item["params"]) for item in answer["items"]] == [
        ("torch.nn.Linear", "Linear 784→100", 78_500)
    ]
    hover = await editor.hover(uri, (2, 10))
    assert hover is not None
    assert hover.contents.value == (
        "**connection layer** · `torch.nn.Linear` · Linear 784→100 · 78,500 parameters"
    )
    assert await editor.diagnostics(uri) == []
    assert editor.client.messages == []  # no error pop-ups along the way


async def ask_everything(editor: Editor, uri: str) -> tuple:
    """Every request the server answers, for ``uri``."""
    document = types.TextDocumentIdentifier(uri=uri)
    whole = types.Range(start=types.Position(0, 0), end=types.Position(100, 0))
    hints = await editor.client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=document, range=whole)
    )
    tokens = await editor.client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=document)
    )
    return (
        await editor.line_types(uri),
        await editor.hover(uri, (2, 10)),
        list(hints),
        list(tokens.data),
    )


async def test_requests_about_a_document_never_opened_get_empty_answers(editor: Editor):
    assert await ask_everything(editor, NOWHERE) == ({"version": None, "items": []}, None, [], [])
    await assert_still_serving(editor)


async def test_requests_about_a_closed_document_get_empty_answers(editor: Editor):
    uri = editor.open(SMALL_MODEL, name="closing.py")
    assert (await editor.line_types(uri))["version"] == 1

    editor.close(uri)

    assert await ask_everything(editor, uri) == ({"version": None, "items": []}, None, [], [])
    await assert_still_serving(editor)


async def test_a_document_that_is_not_python_gets_no_items_and_no_diagnostics(editor: Editor):
    broken = SMALL_MODEL + "def broken(:\n"
    text = editor.open(broken, name="notes.txt", language_id="plaintext")
    markdown = editor.open(broken, name="README.md", language_id="markdown")
    python_named_text = editor.open(broken, name="model_notes.py", language_id="plaintext")

    for uri in (text, markdown, python_named_text):
        assert await ask_everything(editor, uri) == ({"version": None, "items": []}, None, [], [])
    await assert_still_serving(editor)
    assert {params.uri for params in editor.client.published}.isdisjoint(
        {text, markdown, python_named_text}
    )


async def test_a_20000_line_file_is_analysed_without_freezing_the_server(editor: Editor):
    block = (
        "class Block{}(nn.Module):\n"
        '    """One linear layer and a residual connection."""\n'
        "\n"
        "    def __init__(self, width: int = 64) -> None:\n"
        "        super().__init__()\n"
        "        self.width = width\n"
        "        self.scale = 0.5\n"
        "        self.fc = nn.Linear(width, width)\n"
        "\n"
        "    def forward(self, x):\n"
        "        # ordinary code between the layers, as in real models\n"
        "        y = self.fc(x) * self.scale\n"
        "        z = x + y\n"
        "        if self.width > 32:\n"
        "            z = z / 2\n"
        "        else:\n"
        "            z = z * 2\n"
        "        return z\n"
        "\n"
        "\n"
    )
    source = "import torch.nn as nn\n\n" + "".join(block.format(n) for n in range(1_000))
    assert source.count("\n") == 20_002
    small = editor.open(SMALL_MODEL, name="small.py")
    await editor.line_types(small)

    started = time.perf_counter()
    big = editor.open(source, name="huge.py")
    big_types = asyncio.ensure_future(editor.line_types(big))
    # asked while the big file is being analysed: the small one must not wait for it
    hover = await editor.hover(small, (2, 10))
    hover_seconds = time.perf_counter() - started
    assert not big_types.done(), "the small file's hover waited for the big file's analysis"
    answer = await big_types
    big_seconds = time.perf_counter() - started

    assert hover is not None and "Linear 784→100" in hover.contents.value
    assert answer["version"] == 1
    assert len(answer["items"]) == 1_000
    assert answer["items"][-1]["range"]["start"]["line"] == 20_002 - 13
    assert await editor.diagnostics(big) == []
    print(
        f"20,000 lines: hover elsewhere {hover_seconds * 1000:.0f} ms, "
        f"line types {big_seconds * 1000:.0f} ms"
    )
    assert big_seconds < 60  # liveness, not a benchmark: see benchmarks/bench_lsp.py
    assert hover_seconds < big_seconds  # the small document's hover did not wait for the big one
    await assert_still_serving(editor)


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(range(256)).decode("latin-1") * 64,
        SMALL_MODEL + "\0\0\0",
        "x = '\ud800'\n" + SMALL_MODEL,
        "\ufeff\x0c\x1c\u2028" * 500 + SMALL_MODEL,
        SMALL_MODEL + "x = '\udcff'\0\n" * 30_000,  # large: analysed in the child process
    ],
    ids=["all-bytes", "nul-bytes", "lone-surrogate", "odd-line-breaks", "large-garbage"],
)
async def test_binary_garbage_gets_at_most_one_diagnostic(editor: Editor, garbage: str):
    uri = editor.open(garbage, name="garbage.py")

    answer = await editor.line_types(uri)

    assert answer["version"] == 1
    assert isinstance(answer["items"], list)
    assert len(await editor.diagnostics(uri)) <= 1
    await editor.hover(uri, (0, 5))
    await assert_still_serving(editor)


async def test_line_types_with_malformed_params_get_an_empty_answer(editor: Editor):
    for params in (None, [], {"textDocument": 5}, {"textDocument": {"uri": 42}}, {"uri": "x"}):
        answer = await editor.client.protocol.send_request_async("nnevolve/lineTypes", params)
        assert (answer.version, answer.items) == (None, [])
    await assert_still_serving(editor)


async def test_a_request_with_invalid_params_gets_an_error_response(editor: Editor):
    uri = editor.open(SMALL_MODEL)
    answer: Future = Future()
    editor.client.protocol._request_futures["invalid-hover"] = answer  # routes its response here
    hover = {
        "jsonrpc": "2.0",
        "id": "invalid-hover",
        "method": types.TEXT_DOCUMENT_HOVER,
        "params": {"textDocument": {"uri": uri}, "position": {"line": -1, "character": 0}},
    }

    send_raw(editor, json.dumps(hover).encode())

    with pytest.raises(JsonRpcInvalidParams):
        await asyncio.wait_for(asyncio.wrap_future(answer), 10)
    await assert_still_serving(editor)


async def test_messages_that_are_not_json_rpc_are_skipped(editor: Editor):
    for body in (b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"jsonrpc": "2.0"}', b"{}"):
        send_raw(editor, body)
    await assert_still_serving(editor)


async def test_edits_to_a_document_never_opened_are_ignored(editor: Editor):
    editor.versions[NOWHERE], editor.texts[NOWHERE] = 1, "x = 1\n"
    editor.replace(NOWHERE, "x = 1", "y = 2")

    assert await editor.line_types(NOWHERE) == {"version": None, "items": []}
    await assert_still_serving(editor)


async def test_an_edit_outside_the_document_does_not_break_it(editor: Editor):
    uri = editor.open(SMALL_MODEL, name="edited.py")
    editor.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(99, 7), end=types.Position(120, 0)),
                    text="\ntail = nn.ReLU()\n",
                )
            ],
        )
    )

    answer = await editor.line_types(uri)

    assert answer["version"] == 2
    assert "torch.nn.Linear" in [item["name"] for item in answer["items"]]
    await assert_still_serving(editor)
