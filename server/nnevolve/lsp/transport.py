"""The server's stdio transport: bounded LSP frames, resynchronised after a malformed one.

pygls 2.1's stdio loop (``pygls.io_.run_async``) reads whatever ``Content-Length`` says
(``10**12`` ends in a MemoryError), accepts only CRLF headers, reads every later frame out of
step once one length is wrong, and answers nothing to a body that is not a JSON-RPC message.
This loop replaces it: bodies are capped, a malformed frame is skipped up to the next
``Content-Length`` header, and unreadable messages get the JSON-RPC errors (-32700, -32600).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from pygls.protocol import JsonRPCProtocol

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024  # a 5 MB file is ~6 MB of JSON; nothing legitimate nears this
MAX_HEADER_BYTES = 8 * 1024  # LSP headers are two short lines
READ_CHUNK = 1024 * 1024

PARSE_ERROR = -32700
INVALID_REQUEST = -32600

# where a header block can begin; a resynchronisation skips to the next one
_HEADER_START = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
# a complete Content-Length line: raw line breaks cannot occur inside a JSON string, so a
# body that contains one was cut too long and the next frame begins there
_NEXT_FRAME = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*")
_TOKEN_CHAR = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]")  # what a header name is made of
_LENGTH_VALUE = re.compile(rb"\d{1,20}")


@dataclass(frozen=True)
class Body:
    """The body of one well-framed message."""

    data: bytes


@dataclass(frozen=True)
class Skipped:
    """Bytes dropped because they were not a readable frame, and why."""

    reason: str


Frame = Body | Skipped


class FrameReader:
    """Splits a byte stream into LSP frames; never buffers more than one capped body.

    Tolerates LF-only line breaks. After a malformed header, an over-long length or stray
    bytes it drops input up to the next ``Content-Length`` header and reports a
    :class:`Skipped` once per gap.
    """

    def __init__(self, max_body: int = MAX_BODY_BYTES) -> None:
        self.max_body = max_body
        self._buffer = bytearray()
        self._length: int | None = None  # the body length awaited, once a header was read
        self._scanned = 0  # how far the awaited body was searched for a next frame
        self._skipping: str | None = None  # why input is being dropped (resynchronising)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes read from the stream; the frames they complete, in order."""
        self._buffer += data
        frames: list[Frame] = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> Frame | None:
        if self._skipping is not None:
            return self._resynchronise()
        if self._length is not None:
            return self._body()
        return self._headers()

    def _skip(self, reason: str, start: int) -> Frame | None:
        del self._buffer[:start]
        self._skipping = reason
        return self._resynchronise()

    def _resynchronise(self) -> Frame | None:
        match = _HEADER_START.search(self._buffer)
        if match is None:
            keep = len(b"content-length :") + 8  # a header split across two reads
            del self._buffer[: max(0, len(self._buffer) - keep)]
            return None
        del self._buffer[: match.start()]
        reason, self._skipping = self._skipping, None
        return Skipped(reason or "unreadable bytes")

    def _headers(self) -> Frame | None:
        if self._buffer[:1] and _TOKEN_CHAR.fullmatch(self._buffer[:1]) is None:
            return self._skip("bytes that are not a header", 1)  # e.g. a body without headers
        end = _HEADERS_END.search(self._buffer)
        if end is None:
            if len(self._buffer) > MAX_HEADER_BYTES:
                return self._skip(f"no header end within {MAX_HEADER_BYTES} bytes", 1)
            newline = self._buffer.find(b"\n")
            first = bytes(self._buffer[:newline]).rstrip(b"\r")
            if newline >= 0 and _HEADER_LINE.fullmatch(first) is None:
                return self._skip("bytes that are not a header", 1)
            return None
        length: int | None = None
        for line in re.split(rb"\r?\n", bytes(self._buffer[: end.start()])):
            header = _HEADER_LINE.fullmatch(line)
            if header is None:
                return self._skip("bytes that are not a header", 1)
            if header.group(1).lower() == b"content-length":
                value = header.group(2)
                if _LENGTH_VALUE.fullmatch(value) is None:
                    return self._skip(f"an invalid Content-Length ({value[:40]!r})", 1)
                length = int(value)
        if length is None:
            return self._skip("a header without Content-Length", 1)
        if length > self.max_body:
            return self._skip(
                f"a {length:,}-byte message, over the {self.max_body:,}-byte limit", end.end()
            )
        del self._buffer[: end.end()]
        self._length, self._scanned = length, 0
        return self._next()

    def _body(self) -> Frame | None:
        assert self._length is not None
        length = self._length
        # search only the bytes not searched yet (a header may straddle two reads)
        start = max(0, self._scanned - 32)
        cut = _NEXT_FRAME.search(self._buffer, start)
        if cut is not None and cut.start() < length:
            end = cut.start()  # the length was too long: the next frame starts here
        else:
            limit = min(len(self._buffer), length)
            header_start = _HEADER_START.search(self._buffer, start, limit)
            self._scanned = limit if header_start is None else header_start.start()
            if len(self._buffer) < length:
                return None
            if (
                header_start is not None
                and b"\n" not in self._buffer[header_start.start() :]
                and len(self._buffer) - header_start.start() < 64
            ):
                return None  # perhaps the next frame's header, cut short: wait for its end
            end = length
        body = bytes(self._buffer[:end])
        del self._buffer[:end]
        self._length = None
        return Body(body)


def invalid_request(message: Any) -> tuple[Any, str] | None:
    """``(id, reason)`` when ``message`` is not a JSON-RPC 2.0 request, notification or response."""
    if isinstance(message, list):
        return None, "batches are not supported (LSP sends one message per frame)"
    if not isinstance(message, dict):
        return None, f"a message must be a JSON object, not {type(message).__name__}"
    raw_id = message.get("id")
    message_id = raw_id if isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool) else None
    if message.get("jsonrpc") != "2.0":
        return message_id, 'the message lacks "jsonrpc": "2.0"'
    if "method" in message:
        if not isinstance(message["method"], str):
            return message_id, '"method" must be a string'
        if "id" in message and raw_id is not None and message_id is None:
            return None, '"id" must be a string or an integer'
        return None
    if "id" in message and ("result" in message or "error" in message):
        return None  # a response to one of the server's requests
    return message_id, 'the message has no "method" (and is not a response)'


def send_error(protocol: JsonRPCProtocol, message_id: Any, code: int, message: str) -> None:
    """Send a JSON-RPC error response (``id`` null when the request's id is unknown)."""
    protocol._send_data(  # noqa: SLF001 - pygls' writer, with its framing
        {"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}}
    )


def dispatch(protocol: JsonRPCProtocol, body: bytes) -> None:
    """Handle one frame's body: answer it when it is not a message, else pass it to pygls."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        logger.warning("unreadable message (%d bytes): %s", len(body), _first_line(error))
        send_error(protocol, None, PARSE_ERROR, f"Parse error: {_first_line(error)}")
        return
    problem = invalid_request(message)
    if problem is not None:
        logger.warning("invalid request: %s", problem[1])
        send_error(protocol, problem[0], INVALID_REQUEST, f"Invalid Request: {problem[1]}")
        return
    if "method" in message:
        message.setdefault("params", None)  # optional in JSON-RPC; pygls' types require it
    try:
        structured = protocol.structure_message(message)
    except Exception as error:  # noqa: BLE001 - the protocol answered the request already
        logger.warning("unreadable %s message: %s", message.get("method"), _first_line(error))
        return
    try:
        protocol.handle_message(structured)
    except Exception:  # a handler's bug must not stop the loop (as in pygls' own loop)
        logger.exception("failed to handle %s", message.get("method", "a response"))


def _first_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200] if text else type(error).__name__


class _StdinPump:
    """Reads stdin in a daemon thread, one chunk per request (so a client cannot flood memory).

    A daemon thread, unlike an executor's, does not keep the process alive at exit while
    it waits on a stdin that the client has not closed.
    """

    def __init__(self, stdin: BinaryIO) -> None:
        self._stdin = stdin
        self._requests: queue.Queue[asyncio.Future[bytes]] = queue.Queue()
        threading.Thread(target=self._run, name="nnevolve-stdin", daemon=True).start()

    def read(self) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._requests.put(future)
        return future

    def _run(self) -> None:
        read = getattr(self._stdin, "read1", self._stdin.read)
        while True:
            future = self._requests.get()
            try:
                chunk = read(READ_CHUNK)
            except (OSError, ValueError):
                chunk = b""
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, chunk)
            except RuntimeError:  # the loop is closed: the server is exiting
                return
            if not chunk:
                return


def _settle(future: asyncio.Future[bytes], chunk: bytes) -> None:
    if not future.done():
        future.set_result(chunk)


async def serve(stop_event: threading.Event, stdin: BinaryIO, protocol: JsonRPCProtocol) -> None:
    """Read frames from ``stdin`` and handle them until end of input or ``stop_event``."""
    frames = FrameReader()
    pump = _StdinPump(stdin)
    while not stop_event.is_set():
        chunk = await pump.read()
        if not chunk:
            logger.info("the client closed the server's input")
            return
        for frame in frames.feed(chunk):
            if isinstance(frame, Skipped):
                logger.warning("skipped a malformed frame: %s", frame.reason)
            else:
                dispatch(protocol, frame.data)
