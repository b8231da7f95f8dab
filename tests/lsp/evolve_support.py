"""Support for the evolve tests: a workspace on disk, an editor-like client, process checks.

The client keeps its own copy of each document, applies ``workspace/applyEdit`` to it the
way VS Code does (refusing a versioned edit whose version has passed) and reports every
change back with ``didChange``, so tests see exactly what a user would see.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from raw_server import SERVER_COMMAND

from nnevolve.genome.normalize import source_hash
from nnevolve.lsp.results import plain  # pygls hands custom responses over as namedtuples
from nnevolve.store import RunRecord, RunStore

C = TypeVar("C", bound=LanguageClient)

# an MLP for 8×8 digits: small enough to train in well under a second
MODEL = '''\
import torch.nn as nn


class Net(nn.Module):
    """An MLP for the 8x8 digits."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, 32)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(self.flatten(x))))
'''

# the smallest budget that still breeds a generation (digits ships with scikit-learn)
TINY_BUDGET = {
    "dataset": "digits",
    "generations": 1,
    "population": 4,
    # the base must beat chance clearly (or the run stops before its search)
    "epochs": 3,
    # offers on the search's figures: at this budget a confirmation pass withholds variants
    # whose mean 300 validation samples cannot pin down (tests/test_run_noise.py covers it)
    "confirm_seeds": 0,
    "lr": 0.01,
    "workers": 1,
    "seed": 0,
    "max_train": 600,
    "max_val": 300,
}


def write_workspace(root: Path, *, model: str = MODEL, **settings: Any) -> Path:
    """A project folder with a pyproject.toml (tiny budget) and `model.py`; the model path."""
    root.mkdir(parents=True, exist_ok=True)
    table = {**TINY_BUDGET, **settings}
    lines = ["[tool.nnevolve]"] + [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    model_file = root / "model.py"
    model_file.write_text(model)
    return model_file


def create_model_run(store: RunStore, model_file: Path, *, base: str = MODEL,
                     config: dict[str, Any] | None = None, fingerprint: str = "digits",
                     budget_key: str = "b") -> str:
    """A run of `model_file`'s class Net recorded in `store` (nothing trained); its id."""
    return store.create_run(
        file=str(model_file.resolve()), class_name="Net", base_source=base,
        base_hash=source_hash(base), config={} if config is None else config,
        dataset_fingerprint=fingerprint, budget_key=budget_key,
    )


def run_cli(model_file: Path, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run `nnevolve evolve --progress-jsonl` from a terminal; its `result` event."""
    done = subprocess.run(
        [sys.executable, "-m", "nnevolve", "evolve", str(model_file), "--progress-jsonl", *args],
        cwd=model_file.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,  # a failed run is reported below with its stderr
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    results = [event for event in events if event.get("event") == "result"]
    assert results, f"no result (exit {done.returncode}): {done.stderr[-2000:]}"
    return results[-1]


class EditorClient(LanguageClient):
    """pytest-lsp's client with an editor's documents, versions and workspace edits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.published: list[types.PublishDiagnosticsParams] = []
        self.lens_refreshes = 0  # workspace/codeLens/refresh requests received
        self.on_lens_refresh: Callable[[], None] | None = None

    @property
    def server_pid(self) -> int:
        assert self._server is not None
        return self._server.pid

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.texts[uri] = path.read_text() if text is None else text
        self.versions[uri] = 1
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=self.texts[uri]
                )
            )
        )
        return uri

    def set_text(self, uri: str, text: str) -> int:
        """Replace the whole text (a full-document didChange); the new version."""
        self.texts[uri] = text
        self.versions[uri] += 1
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return self.versions[uri]

    def close(self, uri: str) -> None:
        self.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def apply(self, edit: types.WorkspaceEdit) -> tuple[bool, str | None]:
        """Apply a workspace edit as VS Code does: all or nothing, versions checked; a file
        that is not open (version null) is opened from disk first."""
        for change in edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            uri, version = change.text_document.uri, change.text_document.version
            if uri not in self.texts and version is None:
                path = Path(unquote(urlparse(uri).path))
                if not path.is_file():
                    return False, f"{uri} does not exist"
                self.open(path)
            if uri not in self.texts:
                return False, f"{uri} is not open"
            if version is not None and version != self.versions[uri]:
                return False, f"{uri} is at version {self.versions[uri]}, the edit is for {version}"
        for change in edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            uri = change.text_document.uri
            edits = [e for e in change.edits if isinstance(e, types.TextEdit)]
            assert len(edits) == len(change.edits), "only plain text edits are expected"
            self.set_text(uri, apply_text_edits(self.texts[uri], edits))
        return True, None

    async def execute(self, command: str, argument: Any) -> Any:
        return await self.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=[argument])
        )

    def evolve(self, uri: str, **argument: Any) -> asyncio.Future[Any]:
        """Start ``nnevolve.evolve`` on ``uri``; the future ends with the run's result."""
        return asyncio.ensure_future(self.execute("nnevolve.evolve", {"uri": uri, **argument}))

    async def code_actions(self, uri: str, line: int) -> list[types.CodeAction]:
        result = await self.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line, 0), end=types.Position(line, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        return [action for action in result or [] if isinstance(action, types.CodeAction)]

    async def code_lenses(self, uri: str) -> list[types.CodeLens]:
        lenses = await self.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        return list(lenses or [])

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line, character),
            )
        )

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        return plain(await self.protocol.send_request_async(method, params))

    async def diagnostics_for(
        self, uri: str, version: int, timeout: float = 20
    ) -> list[types.Diagnostic]:
        """The diagnostics most recently published for `uri` at `version`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [p for p in self.published if p.uri == uri and p.version == version]
            if found:
                return list(found[-1].diagnostics)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no diagnostics for {uri} version {version}")

    def progress_of(self, title_prefix: str) -> list[Any]:
        """The reports of the progress whose begin title starts with `title_prefix`."""
        for reports in self.progress_reports.values():
            if (
                reports
                and isinstance(reports[0], types.WorkDoneProgressBegin)
                and reports[0].title.startswith(title_prefix)
            ):
                return reports
        return []

    def progress_token(self, title_prefix: str) -> Any:
        for token, reports in self.progress_reports.items():
            if (
                reports
                and isinstance(reports[0], types.WorkDoneProgressBegin)
                and reports[0].title.startswith(title_prefix)
            ):
                return token
        return None


def hover_text(hover: types.Hover | None) -> str:
    """The text of a hover (the server answers with markup)."""
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


def document_edit(action: types.CodeAction) -> types.TextDocumentEdit:
    """The one versioned document edit of a code action."""
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    return change


def end_message(reports: list[Any]) -> str:
    """The message of a progress's end report."""
    end = reports[-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message is not None
    return end.message


def apply_text_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP text edits (UTF-16 positions) to `text`, as a client does."""
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", text)  # LSP's line breaks only
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        line_text, units = lines[position.line], 0
        for index, char in enumerate(line_text):
            if units >= position.character:
                return starts[position.line] + index
            units += len(char.encode("utf-16-le")) // 2
        return starts[position.line] + len(line_text)

    spans = sorted((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits)
    out, position = [], 0
    for start, end, new_text in spans:
        assert start >= position, "overlapping edits"  # a client refuses them
        out += [text[position:start], new_text]
        position = end
    return "".join(out) + text[position:]


def _apply_edit(
    client: EditorClient, params: types.ApplyWorkspaceEditParams
) -> types.ApplyWorkspaceEditResult:
    client.applied.append(params)
    applied, reason = client.apply(params.edit)
    return types.ApplyWorkspaceEditResult(applied=applied, failure_reason=reason)


def _refresh_lenses(client: EditorClient, params: None) -> None:
    client.lens_refreshes += 1
    if client.on_lens_refresh is not None:
        client.on_lens_refresh()


def record_diagnostics(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    """Keep the latest diagnostics per document and every publication (any recording client).

    pygls passes the client only to a handler whose first parameter is annotated as one.
    """
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)


def recording_client(kind: type[C]) -> C:
    """A client of class ``kind`` with the default features, recording diagnostics."""
    client = kind(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record_diagnostics
    register_lsp_features(client, features)
    return client


def _make_client() -> EditorClient:
    client = recording_client(EditorClient)
    client.feature(types.WORKSPACE_APPLY_EDIT)(_apply_edit)
    client.feature(types.WORKSPACE_CODE_LENS_REFRESH)(_refresh_lenses)
    return client


async def start_editor(
    workspace: Path, capabilities: types.ClientCapabilities | None = None,
    client_name: str = "Visual Studio Code", options: dict[str, Any] | None = None,
) -> EditorClient:
    """A real server over stdio on `workspace`, initialized as VS Code would (unless told;
    `options` are the initializationOptions)."""
    config = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=_make_client)
    client = await config.start()
    assert isinstance(client, EditorClient)
    uri = workspace.resolve().as_uri()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities("visual-studio-code"),
            client_info=types.ClientInfo(name=client_name),
            root_uri=uri,
            workspace_folders=[types.WorkspaceFolder(uri=uri, name=workspace.name)],
            initialization_options=options,
        )
    )
    return client


async def stop_editor(client: EditorClient) -> None:
    await client.shutdown_session()
    await client.stop()


async def wait_for(
    condition: Callable[[], Any], timeout: float = 300, what: str = "", every: float = 0.05
) -> Any:
    """Poll `condition` every `every` seconds until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for {what or condition}")


def recorded_runs(store_path: Path) -> list[RunRecord]:
    """The runs of a run store, newest first; none before the store exists."""
    if not store_path.is_file():
        return []
    with RunStore(store_path) as store:
        return store.list_runs()


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _running(field: int, value: int) -> list[int]:
    """Running (not zombie) processes whose stat `field` (1: parent, 2: group) is `value`."""
    found = []
    for entry in os.listdir("/proc"):
        if (
            entry.isdigit()
            and (fields := _stat(int(entry)))
            and fields[field] == str(value)
            and fields[0] != "Z"
        ):
            found.append(int(entry))
    return found


def children_of(pid: int) -> list[int]:
    """Running (not zombie) processes whose parent is `pid` (Linux /proc)."""
    return _running(1, pid)


def group_members(pgid: int) -> list[int]:
    """Running (not zombie) processes of process group `pgid` (Linux /proc)."""
    return _running(2, pgid)
