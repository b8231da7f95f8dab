"""The editor the LSP benchmarks talk through: a pygls client of a real ``python -m nnevolve.lsp``
over stdio that records what the server sends (progress, messages shown, log lines)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient


class Editor:
    """A pygls client that accepts progress tokens and records the server's progress values,
    the messages it shows and the lines it logs (each with its ``perf_counter`` time)."""

    def __init__(self) -> None:
        self.client = LanguageClient("nnevolve-bench", "0.1")
        self.progress: list[Any] = []
        self.shown: list[tuple[float, types.ShowMessageParams]] = []
        self.logged: list[tuple[float, str]] = []
        self.version = 1
        self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)(lambda params: None)
        self.client.feature(types.PROGRESS)(lambda params: self.progress.append(params.value))
        self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(lambda params: None)
        self.client.feature(types.WORKSPACE_CODE_LENS_REFRESH)(lambda params: None)
        self.client.feature(types.WINDOW_SHOW_MESSAGE)(
            lambda params: self.shown.append((time.perf_counter(), params)))
        self.client.feature(types.WINDOW_LOG_MESSAGE)(
            lambda params: self.logged.append((time.perf_counter(), params.message)))
        self._drain: asyncio.Task[None] | None = None

    async def start(self, workspace: Path, options: dict[str, Any] | None = None) -> None:
        """Start the server and initialize it on ``workspace`` with ``initializationOptions``."""
        await self.client.start_io(sys.executable, "-m", "nnevolve.lsp")
        server = self.client._server
        if server is not None and server.stderr is not None:  # an undrained pipe would block it
            self._drain = asyncio.create_task(self._drain_stderr(server.stderr))
        capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True))
        await self.client.initialize_async(types.InitializeParams(
            capabilities=capabilities, root_uri=workspace.as_uri(),
            initialization_options=options))
        self.client.initialized(types.InitializedParams())

    @staticmethod
    async def _drain_stderr(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()
        if self._drain is not None:
            self._drain.cancel()

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                 text=text)))

    def replace_line(self, uri: str, line: int, text: str) -> None:
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line, 0), end=types.Position(line + 1, 0)),
                text=text)]))

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line, character)))

    async def command(self, name: str, uri: str) -> Any:
        """Run the workspace command ``name`` (``nnevolve.evolve``, ``.cancel``) on ``uri``."""
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=[{"uri": uri}]))


async def until(condition: Any, timeout: float) -> None:
    """Wait until ``condition()`` holds, at most ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the server did not answer in time")
        await asyncio.sleep(0.02)
