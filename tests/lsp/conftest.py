"""pytest-lsp fixtures: a real nnevolve language server over stdio, driven like an editor."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import pytest_asyncio
import pytest_lsp
from evolve_support import plain, recording_client
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from raw_server import SERVER_COMMAND

# A LeNet-style model: every feature test reads it; line numbers below are 0-based (LSP).
MODEL = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """LeNet for 3x32x32 images."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(
            6, 16, 5
        )
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.head = nn.Sequential(nn.Linear(84, 10), nn.LogSoftmax(dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.head(x)
'''


class RecordingClient(LanguageClient):
    """pytest-lsp's client, also keeping every diagnostics notification with its version."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.initialize_result: types.InitializeResult | None = None


def make_client() -> RecordingClient:
    return recording_client(RecordingClient)


async def start_session(
    client: RecordingClient, capabilities: types.ClientCapabilities | None = None
) -> None:
    """Initialize as VS Code would (UTF-16 positions, markdown hovers), unless told otherwise."""
    client.initialize_result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities("visual-studio-code"),
            client_info=types.ClientInfo(name="Visual Studio Code"),
        )
    )


# One server per test module (starting one costs seconds: lsprotocol is big); each test gets
# its own documents through `editor`. Modules using it run in the module's event loop:
# `pytestmark = pytest.mark.asyncio(loop_scope="module")`.
@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    scope="module",
)
async def client(lsp_client: RecordingClient):
    await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


def lsp_range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(start=types.Position(*start), end=types.Position(*end))


def position_at(text: str, offset: int) -> tuple[int, int]:
    """0-based (line, character) of an offset into ASCII ``text``."""
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def find(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """0-based (line, character) of ``needle`` in ASCII ``text``."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = text.index(needle, offset + 1)
    return position_at(text, offset)


class Editor:
    """Opens, edits and queries documents the way an editor does, tracking versions."""

    def __init__(self, client: RecordingClient, folder: str) -> None:
        self.client = client
        self.folder = folder  # keeps one test's documents apart from another's
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.opened: set[str] = set()

    def open(self, text: str, name: str = "model.py", language_id: str = "python") -> str:
        uri = f"file:///workspace/{self.folder}/{name}"
        self.opened.add(uri)
        self.versions[uri], self.texts[uri] = 1, text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=1, text=text
                )
            )
        )
        return uri

    def replace(self, uri: str, old: str, new: str) -> int:
        """Replace the first ``old`` with ``new`` by an incremental edit; the new version."""
        offset = self.texts[uri].index(old)
        start = position_at(self.texts[uri], offset)
        end = position_at(self.texts[uri], offset + len(old))
        self.texts[uri] = self.texts[uri].replace(old, new, 1)
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=lsp_range(start, end), text=new)
                ],
            )
        )
        return self.versions[uri]

    def find(self, uri: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
        """0-based (line, character) of ``needle`` in the document's current (ASCII) text."""
        return find(self.texts[uri], needle, occurrence)

    def span(self, uri: str, code: str, occurrence: int = 0) -> dict[str, Any]:
        """The LSP range, as JSON, of one-line ``code`` in the document's current text."""
        line, character = self.find(uri, code, occurrence)
        return {
            "start": {"line": line, "character": character},
            "end": {"line": line, "character": character + len(code)},
        }

    def close(self, uri: str) -> None:
        self.opened.discard(uri)
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    async def line_types(self, uri: Any) -> dict[str, Any]:
        params = {"textDocument": {"uri": uri}}
        return plain(await self.client.protocol.send_request_async("nnevolve/lineTypes", params))

    async def hover(self, uri: str, position: tuple[int, int]) -> types.Hover | None:
        return await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(*position),
            )
        )

    async def diagnostics(self, uri: str, version: Any = "current") -> list[types.Diagnostic]:
        """The diagnostics published for ``uri`` at ``version`` (None: unversioned, on close)."""
        version = self.versions[uri] if version == "current" else version
        for _ in range(500):
            for params in self.client.published:
                if params.uri == uri and params.version == version:
                    return list(params.diagnostics)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no diagnostics published for {uri} version {version}")


@pytest_asyncio.fixture
async def launch():
    """Start a server (command, client capabilities); stopped after the test.

    It runs in the test's own event loop: mark a test of a module-loop file with
    ``@pytest.mark.asyncio(loop_scope="function")`` to use it.
    """
    started: list[RecordingClient] = []

    async def start(
        command: list[str] = SERVER_COMMAND, capabilities: types.ClientCapabilities | None = None
    ) -> RecordingClient:
        config = ClientServerConfig(server_command=command, client_factory=make_client)
        client = await config.start()
        started.append(client)
        await start_session(client, capabilities)
        return client

    yield start
    for client in started:
        await client.stop()


@pytest.fixture
def editor_on() -> type[Editor]:
    """:class:`Editor` itself, to drive a server started with ``launch``."""
    return Editor


@pytest.fixture
def model() -> str:
    """A small LeNet source (see :data:`MODEL` for its line numbers)."""
    return MODEL


@pytest.fixture
def editor(client: RecordingClient, request: pytest.FixtureRequest):
    """An editor on the module's server; the test's documents are closed after it."""
    editor = Editor(client, re.sub(r"\W", "_", request.node.name))
    yield editor
    for uri in list(editor.opened):
        editor.close(uri)
