"""The language server object and the state its features keep, as typed attributes.

Every feature module types its server as :class:`NnevolveLanguageServer` from here, so the
features depend on this module and on the books below it, never on each other through
:mod:`nnevolve.lsp.server` (which only lists and registers them). Each book is made once,
with the server: the open documents and their analyses, what the client said at
``initialize`` (its name, whether it trusts the workspace), the diagnostics other features
add, the runs each document offers, the lenses of documents with a run in progress and the
evolvable-lines listings.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from nnevolve import __version__
from nnevolve.lsp import transport
from nnevolve.lsp.documents import AnalyzedDocument, Documents
from nnevolve.lsp.evolvable import Evolvable
from nnevolve.lsp.offers import Offers, uri_to_path
from nnevolve.lsp.protocol import NnevolveProtocol, converter
from nnevolve.lsp.run_lenses import Lenses

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from pygls.server import ServerErrors

logger = logging.getLogger(__name__)

# a feature's diagnostics of one document version, published with its syntax error
DiagnosticSource = Callable[[AnalyzedDocument], "list[types.Diagnostic]"]


class NnevolveLanguageServer(LanguageServer):
    """pygls' language server plus the state of nnevolve's features and background tasks."""

    def __init__(self) -> None:
        super().__init__(
            "nnevolve",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=NnevolveProtocol,
            converter_factory=converter,
        )
        self._background: set[asyncio.Task[Any]] = set()
        self.documents = Documents(self)
        self.documents.follow()
        self.client_name = ""  # clientInfo.name from initialize: what the client can render
        # initializationOptions.prestartEngine: keep an engine started ahead of the next run
        self.prestart_engine = False
        # off only when the client says the workspace is untrusted (nnevolve.lsp.trust)
        self.trusted = True
        self.diagnostic_sources: list[DiagnosticSource] = []
        self.offers = Offers()
        self.lenses = Lenses(self, self.run_in_background)
        self.evolvable = Evolvable(self.run_in_background)

    def workspace_folders(self) -> tuple[Path, ...]:
        """The client's workspace folders on disk (its root folder when it names none): a file
        outside them all keeps its runs in the user's cache (nnevolve.config.load_config)."""
        try:
            uris = [folder.uri for folder in self.workspace.folders.values()]
            root = self.workspace.root_uri
        except RuntimeError:  # before `initialize`: no workspace yet
            return ()
        if not uris and root:
            uris = [root]
        return tuple(path for uri in uris if (path := uri_to_path(uri)) is not None)

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
        self.documents.shutdown()
        self.evolvable.close()
        super().shutdown()
