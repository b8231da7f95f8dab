"""What the lenses of a document say while one of its classes is evolving (the lens book).

:mod:`nnevolve.lsp.evolve` tells the server's :class:`Lenses` where each run is; the code lens
feature (:mod:`nnevolve.lsp.code_lens`) asks it for each class's command. The evolved class's
lens reads ``Evolving Net… · generation g/G — Cancel`` (after VS Code's spinning icon
``$(sync~spin)`` in clients that render it) and runs ``nnevolve.cancel`` with the run's
progress token (a client that shows the progress cancels it as its Cancel button does, and
closes the notification at once); the client is asked
to refresh its lenses (``workspace/codeLens/refresh``, when it declared ``refreshSupport``)
whenever that text changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from nnevolve.lsp.analysis_worker import ModelClass

logger = logging.getLogger(__name__)

EVOLVE_COMMAND = "nnevolve.evolve"
CANCEL_COMMAND = "nnevolve.cancel"
# the command of a lens that only says something: it does nothing (every lens has a command)
LABEL_COMMAND = "nnevolve.label"
LENS_TITLE = "Evolve this network"
RUNNING_ICON = "$(sync~spin)"  # a VS Code codicon, spinning; other clients would show it raw
# clients (by clientInfo.name) that render VS Code's $(icon) syntax in lens titles
ICON_CLIENTS = ("visual studio code", "code - oss", "code-server", "vscodium", "cursor")

Background = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


def model_callee(model: str) -> str:
    """The class or factory a model expression calls: ``VGG`` for ``VGG('VGG11')``."""
    return model.split("(", 1)[0].strip()


@dataclass(frozen=True)
class RunningLens:
    """What the lens says while a run of the document is in progress."""

    model: str
    stage: str | None = None  # the words the progress notification starts with (figures.stage)
    cancelling: bool = False
    token: str | None = None  # the run's work-done progress token (None: the client has none)


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


class Lenses:
    """Which documents have a run in progress, as their lenses show it (one book per server)."""

    def __init__(self, server: LanguageServer, background: Background) -> None:
        self.server = server
        self.background = background  # the server's run_in_background
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
            self.background(self._refresh())

    async def _refresh(self) -> None:
        try:
            await self.server.workspace_code_lens_refresh_async(None)
        except Exception as error:  # noqa: BLE001 - a client that fails it only shows stale lenses
            logger.warning("the client refused to refresh its code lenses: %s", error)

    def lens(self, uri: str, cls: ModelClass, *, icons: bool) -> types.Command:
        """The command of `cls`'s lens in document `uri` (`icons`: the client renders them)."""
        state = self.running.get(uri)
        if state is None:
            return types.Command(
                title=LENS_TITLE,
                command=EVOLVE_COMMAND,
                arguments=[{"uri": uri, "model": cls.name}],
            )
        if model_callee(state.model) == cls.name:
            title = running_title(state, icons=icons)
            if state.cancelling:
                return types.Command(title=title, command=LABEL_COMMAND)
            target = {"uri": uri} if state.token is None else {"uri": uri, "token": state.token}
            return types.Command(
                title=title,
                command=CANCEL_COMMAND,
                arguments=[target],
                tooltip=f"Stop evolving {cls.name}; what was evaluated so far is kept",
            )
        # a label: a second run of this document would be refused (it keeps its line)
        return types.Command(title=waiting_title(state), command=LABEL_COMMAND)
