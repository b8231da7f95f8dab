"""The nnevolve language server: one pygls server, its features registered from their modules.

A feature module exposes ``register(server)``; adding a feature (code lens, evolve command)
means writing its module and listing it in :data:`FEATURES`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from nnevolve import __version__
from nnevolve.lsp import (
    code_actions,
    code_lens,
    diagnostics,
    documents,
    evolve,
    hover,
    inlay_hints,
    line_types,
    offers,
    results,
    semantic_tokens,
    transport,
    trust,
)
from nnevolve.lsp.documents import Documents
from nnevolve.lsp.protocol import NnevolveProtocol, converter

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from pygls.server import ServerErrors

logger = logging.getLogger(__name__)

FEATURES: tuple[ModuleType, ...] = (
    trust,
    documents,
    diagnostics,
    hover,
    inlay_hints,
    semantic_tokens,
    line_types,
    code_lens,
    offers,
    evolve,
    code_actions,
    results,
)


class NnevolveLanguageServer(LanguageServer):
    """pygls' language server plus the open documents' analyses and background tasks."""

    def __init__(self) -> None:
        super().__init__(
            "nnevolve",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=NnevolveProtocol,
            converter_factory=converter,
        )
        self.documents = Documents(self)
        self.client_name = ""  # clientInfo.name from initialize: what the client can render
        self._background: set[asyncio.Task[Any]] = set()

    def run_in_background(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` on the server's loop without awaiting it; its errors are logged."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("background task failed", exc_info=error)

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        """Log errors to stderr and the client's log, never as a pop-up in the user's face."""
        logger.error("%s: %s", getattr(source, "__name__", source), error)
        if source is FeatureRequestError:  # the request's response already carries the error
            return
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Error, message=f"nnevolve: {error}")
        )

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio through :mod:`nnevolve.lsp.transport` (bounded, resynchronising frames)."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(transport.serve(self._stop_event, stdin or sys.stdin.buffer, self.protocol))
        except BrokenPipeError:
            logger.error("the client closed the connection; the server stops")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the analysis thread and the site listings with the server."""
        from nnevolve.lsp.evolvable import evolvable  # noqa: PLC0415 (features load after)

        self.documents.shutdown()
        evolvable(self).close()
        super().shutdown()


def create_server() -> NnevolveLanguageServer:
    """A new server with every feature of :data:`FEATURES` registered."""
    server = NnevolveLanguageServer()
    for feature in FEATURES:
        feature.register(server)
    return server


def main() -> int:
    """Serve the language server on stdin/stdout until the client exits; logs go to stderr."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="nnevolve-lsp %(levelname)s %(message)s"
    )
    create_server().start_io()
    return 0
