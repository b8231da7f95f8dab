"""Open documents and their line-type analysis, cached per document version.

Every feature asks :class:`Documents` for an :class:`AnalyzedDocument`. The analysis of a
version is computed once, lazily, off the event loop (see :mod:`nnevolve.lsp.analysis_worker`),
and shared by every request and by the diagnostics of that version.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from nnevolve.analysis import Analysis, LineItem, SyntaxProblem
from nnevolve.lsp.analysis_worker import EVOLVE_MAX_CHARS, AnalysisWorker, Examined, ModelClass

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer
    from pygls.workspace import TextDocument


logger = logging.getLogger(__name__)

PYTHON_LANGUAGE_ID = "python"
PYTHON_SUFFIXES = (".py", ".pyi")

# The line breaks of both LSP and Python's tokenizer; str.splitlines also breaks on \f, \x1c,
# \u2028, ... which would shift every line number after one of them.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

DocumentListener = Callable[[str], None]


def is_python_document(uri: str, language_id: str | None) -> bool:
    """Whether a document is Python source: by its language id, else by its file suffix."""
    if language_id:
        return language_id == PYTHON_LANGUAGE_ID
    return unquote(uri).split("?", 1)[0].endswith(PYTHON_SUFFIXES)


def split_lines(source: str) -> list[str]:
    """The document's lines without their line breaks, numbered as the client numbers them."""
    return _LINE_BREAK.split(source)


@dataclass(frozen=True, eq=False)
class AnalyzedDocument:
    """One version of an open document with its analysis and position conversions.

    Analysis positions are 1-based lines and 0-based code-point columns; LSP positions are
    0-based lines and columns in the client's code units (UTF-16 unless negotiated).
    """

    uri: str
    version: int | None
    source: str
    lines: list[str]
    analysis: Analysis
    codec: PositionCodec
    classes: tuple[ModelClass, ...] = ()  # the classes the engine can evolve

    @classmethod
    def of(
        cls, uri: str, version: int | None, source: str, examined: Examined, codec: PositionCodec
    ) -> AnalyzedDocument:
        """A document version from what the analysis worker found in its text."""
        lines = split_lines(source)
        return cls(uri, version, source, lines, examined.analysis, codec, examined.classes)

    def too_large(self) -> str | None:
        """Why evolve features are off for this text (it is too large), or None."""
        if len(self.source) <= EVOLVE_MAX_CHARS:
            return None
        return (
            f"the file is too large to evolve ({len(self.source):,} characters; "
            f"the limit is {EVOLVE_MAX_CHARS:,})"
        )

    @cached_property
    def _non_ascii(self) -> dict[int, list[int]]:
        # per non-ASCII line, the columns of its characters beyond the BMP (UTF-16 pairs):
        # one pass per version rather than one per position (a 5 MB line has 100,000 items)
        return {
            index: [match.start() for match in _ASTRAL.finditer(text)]
            for index, text in enumerate(self.lines)
            if not text.isascii()
        }

    @cached_property
    def _units_per_astral(self) -> int | None:
        # 2 in UTF-16, 1 in UTF-32; None in UTF-8, where other characters are wide too
        units = self.codec.client_num_units("\u00e9\U0001f600")
        return {3: 2, 2: 1}.get(units)

    def character(self, line: int, col: int) -> int:
        """The client column of a 1-based ``line`` and 0-based code-point ``col`` (clamped)."""
        index = min(max(line - 1, 0), len(self.lines) - 1)
        text = self.lines[index]
        col = min(max(col, 0), len(text))
        astral = self._non_ascii.get(index)
        if astral is None:
            return col
        if self._units_per_astral is not None:
            return col + (self._units_per_astral - 1) * bisect.bisect_left(astral, col)
        return self.codec.client_num_units(text[:col])

    def position(self, line: int, col: int) -> types.Position:
        """LSP position of a 1-based ``line`` and 0-based code-point ``col``, clamped to the text."""
        index = min(max(line - 1, 0), len(self.lines) - 1)
        return types.Position(line=index, character=self.character(line, col))

    def range_of(self, span: LineItem | SyntaxProblem) -> types.Range:
        """LSP range of an analysed item or syntax problem."""
        return types.Range(
            start=self.position(span.line, span.col),
            end=self.position(span.end_line, span.end_col),
        )

    def line_end(self, line: int) -> types.Position:
        """LSP position just past the last character of a 1-based ``line``."""
        index = min(max(line - 1, 0), len(self.lines) - 1)
        return self.position(index + 1, len(self.lines[index]))

    def location(self, position: types.Position) -> tuple[int, int] | None:
        """The 1-based line and code-point column of an LSP position, None past the end."""
        if not 0 <= position.line < len(self.lines) or position.character < 0:
            return None
        text = self.lines[position.line]
        if text.isascii():
            return position.line + 1, min(position.character, len(text))
        units = 0
        for col, char in enumerate(text):
            if units >= position.character:
                return position.line + 1, col
            units += self.codec.client_num_units(char)
        return position.line + 1, len(text)


class Documents:
    """The server's open Python documents and the cache of their analyses."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self._analyzed: dict[str, AnalyzedDocument] = {}
        self._pending: dict[tuple[str, int | None], asyncio.Future[AnalyzedDocument]] = {}
        self._worker = AnalysisWorker()
        self._change_listeners: list[DocumentListener] = []
        self._close_listeners: list[DocumentListener] = []
        self._followed: set[str] = set()  # Python documents announced to the listeners

    def follow(self) -> None:
        """Follow the client's documents (pygls keeps their text; we keep their analyses)."""

        def opened(ls: Any, params: types.DidOpenTextDocumentParams) -> None:
            self.changed(params.text_document.uri)  # pygls stored the text

        def edited(ls: Any, params: types.DidChangeTextDocumentParams) -> None:
            self.changed(params.text_document.uri)  # pygls applied the edit

        def closed(ls: Any, params: types.DidCloseTextDocumentParams) -> None:
            self.closed(params.text_document.uri)

        self._server.feature(types.TEXT_DOCUMENT_DID_OPEN)(opened)
        self._server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(edited)
        self._server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(closed)

    def when_changed(self, listener: DocumentListener) -> None:
        """Call ``listener(uri)`` after a Python document is opened or edited."""
        self._change_listeners.append(listener)

    def when_closed(self, listener: DocumentListener) -> None:
        """Call ``listener(uri)`` after a document is closed."""
        self._close_listeners.append(listener)

    def text_document(self, uri: str) -> TextDocument | None:
        """The open Python document at ``uri``; None when unknown, closed or not Python."""
        try:
            document = self._server.workspace.text_documents.get(unquote(uri))
        except RuntimeError:  # a request before `initialize`: there is no workspace yet
            return None
        if document is None or not is_python_document(uri, document.language_id):
            return None
        return document

    async def analyzed(self, uri: str) -> AnalyzedDocument | None:
        """The current version of ``uri`` with its analysis, computed at most once per version."""
        document = self.text_document(uri)
        if document is None:
            return None
        source = document.source
        cached = self._analyzed.get(uri)
        if cached is not None and cached.version == document.version and cached.source is source:
            return cached
        key = (uri, document.version)
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._analyze(uri, document.version, source))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._store(key, done))
        # Shielded: a cancelled hover must not cancel the analysis other requests wait for.
        return await asyncio.shield(pending)

    async def _analyze(self, uri: str, version: int | None, source: str) -> AnalyzedDocument:
        examined = await self._worker.examine(source)
        return AnalyzedDocument.of(
            uri, version, source, examined, self._server.workspace.position_codec
        )

    def _store(self, key: tuple[str, int | None], done: asyncio.Future[AnalyzedDocument]) -> None:
        self._pending.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return
        analyzed = done.result()
        document = self.text_document(key[0])
        # Keep only the current version of an open document: a late, older result is dropped.
        if document is not None and document.version == analyzed.version:
            self._analyzed[key[0]] = analyzed

    def changed(self, uri: str) -> None:
        """Tell the listeners that ``uri`` was opened or edited (Python documents only)."""
        if self.text_document(uri) is None:
            return
        self._followed.add(uri)
        _tell(self._change_listeners, uri)

    def closed(self, uri: str) -> None:
        """Forget ``uri``'s analysis and tell the listeners, if they knew the document."""
        self._analyzed.pop(uri, None)
        if uri not in self._followed:
            return
        self._followed.discard(uri)
        _tell(self._close_listeners, uri)

    def shutdown(self) -> None:
        """Stop the analyses."""
        self._worker.shutdown()


def _tell(listeners: list[DocumentListener], uri: str) -> None:
    for listener in listeners:
        try:
            listener(uri)
        except Exception:  # one feature's failure must not keep the news from the others
            logger.exception("document listener %r failed for %s", listener, uri)
