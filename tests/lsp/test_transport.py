"""Malformed frames and messages: the server answers per JSON-RPC and keeps reading frames."""

from __future__ import annotations

import json

import pytest
from raw_server import RawServer, frame, message

from nnevolve.lsp.transport import Body, FrameReader, Skipped, invalid_request

SMALL_MODEL = "import torch.nn as nn\n\nhead = nn.Linear(784, 100)\n"
PING = {"jsonrpc": "2.0", "id": 1, "method": "x"}


def bodies(frames: list) -> list[bytes]:
    return [f.data for f in frames if isinstance(f, Body)]


def test_well_formed_frames_come_out_whole_however_they_are_split():
    stream = frame(b'{"a": 1}') + b"Content-Type: x\r\n" + frame(b"[]") + frame(b"")
    for size in (1, 3, len(stream)):
        reader = FrameReader()
        frames = [f for i in range(0, len(stream), size) for f in reader.feed(stream[i : i + size])]
        assert frames == [Body(b'{"a": 1}'), Body(b"[]"), Body(b"")]


@pytest.mark.parametrize(
    "bad",
    [
        b"Content-Length: 1000000000000\r\n\r\n{}",  # never allocated
        b"Content-Length: -5\r\n\r\n{}",
        b"Content-Length: ten\r\n\r\n{}",
        b"Content-Type: json\r\n\r\n{}",  # no length
        b'{"jsonrpc": "2.0", "id": 9, "method": "x"}',  # no header at all
        b"Content-Length: 5\r\n\r\n{" + b"x" * 20,  # too short: the rest is garbage
        b"garbage\r\n\r\n",
        b"\xff\xfe" * 10_000,
    ],
    ids=["huge", "negative", "non-numeric", "missing", "headerless", "short", "junk", "binary"],
)
def test_after_a_malformed_frame_the_next_frame_is_read(bad: bytes):
    reader = FrameReader(max_body=1_000)
    frames = reader.feed(bad) + reader.feed(message(PING))
    assert bodies(frames)[-1] == json.dumps(PING).encode()
    assert len(reader._buffer) == 0


def test_an_over_long_length_ends_where_the_next_frame_begins():
    reader = FrameReader()
    frames = reader.feed(b"Content-Length: 500\r\n\r\n{}" + message(PING))
    assert bodies(frames) == [b"{}", json.dumps(PING).encode()]


def test_lf_only_headers_are_read():
    assert FrameReader().feed(b"Content-Length: 2\n\n{}") == [Body(b"{}")]


def test_an_over_the_cap_length_is_reported_without_waiting_for_its_body():
    reader = FrameReader(max_body=100)
    frames = reader.feed(b"Content-Length: 101\r\n\r\n")
    frames += reader.feed(b"x" * 10_000) + reader.feed(frame(b"{}"))
    assert frames[0] == Skipped("a 101-byte message, over the 100-byte limit")
    assert bodies(frames) == [b"{}"]
    assert len(reader._buffer) == 0  # the oversized body was dropped as it came


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([PING], None),
        ([], None),
        (None, None),
        (3, None),
        ({"jsonrpc": "2.0", "id": 7}, 7),
        ({"jsonrpc": "2.0", "id": 7, "params": {}}, 7),
        ({"id": 8, "method": "x"}, 8),
        ({"jsonrpc": "2.0", "id": 4, "method": 5}, 4),
        ({"jsonrpc": "2.0", "id": [1], "method": "x"}, None),
    ],
)
def test_what_is_not_a_json_rpc_message_is_an_invalid_request(payload, expected):
    problem = invalid_request(payload)
    assert problem is not None and problem[0] == expected


@pytest.mark.parametrize(
    "payload",
    [
        PING,
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": "a", "result": None},
        {"jsonrpc": "2.0", "id": 3, "error": {"code": 1, "message": "no"}},
    ],
)
def test_requests_notifications_and_responses_are_valid(payload):
    assert invalid_request(payload) is None


def error_of(server: RawServer, body: bytes) -> dict:
    server.send(frame(body))
    answer = server.wait_for(lambda m: "error" in m and "method" not in m, timeout=30)
    return {"id": answer["id"], "code": answer["error"]["code"]}


def assert_answers(server: RawServer, number: int) -> None:
    uri = f"file:///w/check{number}.py"
    server.open(uri, SMALL_MODEL)
    hover = server.hover(uri, 2, 10, timeout=30)
    assert "Linear 784→100" in hover["result"]["contents"]["value"]


def test_the_server_answers_bad_messages_and_survives_bad_frames():
    server = RawServer()
    try:
        server.initialize()
        # JSON-RPC 2.0: -32700 for what is not JSON, -32600 for what is not a request
        assert error_of(server, b"{not json") == {"id": None, "code": -32700}
        assert error_of(server, b"\xff\xfe{}") == {"id": None, "code": -32700}
        assert error_of(server, b"[" * 100_000) == {"id": None, "code": -32700}
        assert error_of(server, b"null") == {"id": None, "code": -32600}
        assert error_of(server, json.dumps([PING]).encode()) == {"id": None, "code": -32600}
        assert error_of(server, b'{"jsonrpc": "2.0", "id": 12}') == {"id": 12, "code": -32600}
        assert_answers(server, 0)
        for number, bad in enumerate(
            [
                b"Content-Length: 1000000000000\r\n\r\n{}",
                b"Content-Length: 10\r\n\r\n" + json.dumps(PING).encode(),
                b"Content-Length: 900\r\n\r\n" + json.dumps(PING).encode(),
                b"Content-Length: -1\r\n\r\n{}",
                b"Content-Length: many\r\n\r\n{}",
                json.dumps(PING).encode(),  # no header
                b"Content-Length: 2\n\n{}",  # LF only: read, and answered as invalid
            ],
            start=1,
        ):
            server.send(bad)
            assert_answers(server, number)
        assert server.stop() == 0
        assert "Traceback" not in "".join(server.stderr)
    finally:
        server.process.kill()


@pytest.mark.parametrize(
    "deep",
    [
        "x = " + "+".join(["1"] * 100_000) + "\n",  # RecursionError in ast.parse
        "x = " + "-" * 50_000 + "1\n",  # MemoryError in ast.parse
        "x = " + "(" * 5_000 + ")" * 5_000 + "\n",
    ],
    ids=["long-sum", "many-signs", "deep-parentheses"],
)
def test_deeply_nested_text_gets_empty_answers_and_no_traceback(tmp_path, deep: str):
    from nnevolve.store import RunStore

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    RunStore(tmp_path / ".nnevolve" / "runs.sqlite").close()  # a store: the offers read it
    uri = (tmp_path / "deep.py").as_uri()
    source = SMALL_MODEL + deep
    server = RawServer()
    try:
        server.initialize()
        server.open(uri, source)
        whole = {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}}
        for _ in range(3):
            answer = server.request(
                "textDocument/codeAction",
                {"textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": []}},
            )
            assert "error" not in answer and not answer["result"]
            lenses = server.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
            assert "error" not in lenses
        assert_answers(server, 0)
    finally:
        server.stop()
    assert "Traceback" not in "".join(server.stderr)
    assert "RecursionError" not in "".join(server.stderr)
