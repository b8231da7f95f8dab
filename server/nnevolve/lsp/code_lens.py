"""Code lens "Evolve this network" above each model class the engine can evolve.

Computed with the stdlib ``ast`` and the cached line-type analysis (no torch, no libcst
metadata), by the analysis worker (:mod:`nnevolve.lsp.analysis_worker`), never on the event
loop: a class deriving from ``nn.Module`` whose body builds layers. A file with a syntax
error offers no lens: the engine could not parse it either. A file over the size cap gets
one label lens saying so; in an untrusted workspace each class's lens says evolve is off.

While a run of the document is in progress (:mod:`nnevolve.lsp.evolve` tells
:class:`Lenses`), the evolved class's lens reads ``Evolving Net… · generation g/G — Cancel``
(after VS Code's spinning icon ``$(sync~spin)`` in clients that render it) and runs
``nnevolve.cancel``; the client is asked to refresh its lenses (``workspace/codeLens/refresh``,
when it declared ``refreshSupport``) whenever that text changes. A lens that only says something
runs ``nnevolve.label``, which does nothing (every lens has a command).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from nnevolve.genome.model_classes import LAYER_TYPES
from nnevolve.lsp import trust
from nnevolve.lsp.analysis_worker import ModelClass

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.server import NnevolveLanguageServer

logger = logging.getLogger(__name__)

EVOLVE_COMMAND = "nnevolve.evolve"
CANCEL_COMMAND = "nnevolve.cancel"
LENS_TITLE = "Evolve this network"
RUNNING_ICON = "$(sync~spin)"  # a VS Code codicon, spinning; other clients would show it raw
# clients (by clientInfo.name) that render VS Code's $(icon) syntax in lens titles
ICON_CLIENTS = ("visual studio code", "code - oss", "code-server", "vscodium", "cursor")


def model_classes_of(document: AnalyzedDocument) -> tuple[ModelClass, ...]:
    """The evolvable classes of one analysed document version (found off the event loop)."""
    return document.classes


def model_callee(model: str) -> str:
    """The class or factory a model expression calls: ``VGG`` for ``VGG('VGG11')``."""
    return model.split("(", 1)[0].strip()


def find_model_class(document: AnalyzedDocument, name: str) -> ModelClass | None:
    """The evolvable class (or factory) that the model expression `name` calls, in this
    version of the document."""
    callee = model_callee(name)
    return next((cls for cls in model_classes_of(document) if cls.name == callee), None)


@dataclass(frozen=True)
class RunningLens:
    """What the lens says while a run of the document is in progress."""

    model: str
    stage: str | None = None  # the words the progress notification starts with (figures.stage)
    cancelling: bool = False


def renders_icons(client_name: str) -> bool:
    """Whether a client of this name shows ``$(sync~spin)`` as an icon (VS Code and its forks)."""
    name = client_name.lower()
    return any(client in name for client in ICON_CLIENTS)


def running_title(state: RunningLens, *, icons: bool = False) -> str:
    """``Evolving Net… · generation 2/8 — Cancel`` (``Cancelling…`` once asked), after the
    spinning icon when `icons`: the stage is the one the progress notification shows."""
    icon = f"{RUNNING_ICON} " if icons else ""
    if state.cancelling:
        return f"{icon}Cancelling the run of {state.model}…"
    where = f" · {state.stage}" if state.stage else ""
    return f"{icon}Evolving {state.model}…{where} — Cancel"


def waiting_title(state: RunningLens) -> str:
    """The lens of the document's other classes while one of them is evolving."""
    return f"One run per file: {state.model} is evolving"


# the command of a lens that only says something: registered below, it does nothing
LABEL_COMMAND = "nnevolve.label"


class Lenses:
    """Which documents have a run in progress, as their lenses show it (one book per server)."""

    def __init__(self, server: NnevolveLanguageServer) -> None:
        self.server = server
        self.running: dict[str, RunningLens] = {}
        self.closing = False  # the client asked the server to shut down: send it no requests

    def show(self, uri: str, state: RunningLens | None) -> None:
        """Show `state` on `uri`'s lenses (None: no run); ask for a refresh when that changed."""
        if self.running.get(uri) == state:
            return
        if state is None:
            self.running.pop(uri, None)
        else:
            self.running[uri] = state
        self.refresh()

    def refresh(self) -> None:
        """``workspace/codeLens/refresh``, when the client declared that it supports it."""
        workspace = self.server.client_capabilities.workspace
        if self.closing:
            return
        if workspace and workspace.code_lens and workspace.code_lens.refresh_support:
            self.server.run_in_background(self._refresh())

    async def _refresh(self) -> None:
        try:
            await self.server.workspace_code_lens_refresh_async(None)
        except Exception as error:  # noqa: BLE001 - a client that fails it only shows stale lenses
            logger.warning("the client refused to refresh its code lenses: %s", error)

    def lens(self, uri: str, cls: ModelClass) -> types.Command:
        """The command of `cls`'s lens in document `uri`."""
        state = self.running.get(uri)
        if state is None:
            return types.Command(
                title=LENS_TITLE,
                command=EVOLVE_COMMAND,
                arguments=[{"uri": uri, "model": cls.name}],
            )
        if model_callee(state.model) == cls.name:
            title = running_title(state, icons=renders_icons(self.server.client_name))
            if state.cancelling:
                return types.Command(title=title, command=LABEL_COMMAND)
            return types.Command(
                title=title,
                command=CANCEL_COMMAND,
                arguments=[{"uri": uri}],
                tooltip=f"Stop evolving {cls.name}; what was evaluated so far is kept",
            )
        # a label: a second run of this document would be refused (it keeps its line)
        return types.Command(title=waiting_title(state), command=LABEL_COMMAND)


_LENSES: weakref.WeakKeyDictionary[NnevolveLanguageServer, Lenses] = weakref.WeakKeyDictionary()


def lenses(server: NnevolveLanguageServer) -> Lenses:
    """The server's lens book."""
    book = _LENSES.get(server)
    if book is None:
        book = _LENSES[server] = Lenses(server)
    return book


async def code_lens(
    ls: NnevolveLanguageServer, params: types.CodeLensParams
) -> list[types.CodeLens] | None:
    """``textDocument/codeLens``: one lens per evolvable class ("Evolve this network", or
    the state of the document's run)."""
    uri = params.text_document.uri
    document = await ls.documents.analyzed(uri)
    if document is None:
        return None
    if (too_large := document.too_large()) is not None and _builds_layers(document):
        start = types.Position(line=0, character=0)
        label = types.Command(title=f"nnevolve: {too_large}", command=LABEL_COMMAND)
        return [types.CodeLens(range=types.Range(start=start, end=start), command=label)]
    book = lenses(ls)
    trusted = trust.trusted(ls)
    result = []
    for cls in model_classes_of(document):
        position = document.position(cls.line, cls.col)
        command = (
            book.lens(uri, cls)
            if trusted
            else types.Command(title=trust.UNTRUSTED_LENS, command=LABEL_COMMAND)
        )
        lens_range = types.Range(start=position, end=position)
        result.append(types.CodeLens(range=lens_range, command=command))
    return result


def _builds_layers(document: AnalyzedDocument) -> bool:
    # a huge data or generated module is not a model file: no lens at all there
    return any(item.type in LAYER_TYPES for item in document.analysis.items)


def register(server: NnevolveLanguageServer) -> None:
    """Offer the evolve lens, and the command of the lenses that are labels."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))(
        code_lens
    )
    server.command(LABEL_COMMAND)(label)


def label(ls: Any, *arguments: Any) -> None:  # pygls reads these hints at run time
    """``nnevolve.label``: clicking a lens that only says something does nothing."""
