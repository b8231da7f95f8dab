"""Workspace trust: in a workspace the client does not trust, only analysis runs.

Evolving trains the workspace's model file (its code runs), and the run store is a file of
the workspace; marks, hovers and diagnostics only parse text. The client says whether the
workspace is trusted in ``initializationOptions.workspaceTrusted`` (VS Code's workspace
trust); a client that says nothing has no such notion and is trusted, as the user chose
to run the server there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from nnevolve.lsp.state import NnevolveLanguageServer

UNTRUSTED_REASON = (
    "this workspace is not trusted, and evolving runs its code: trust it first "
    "(Workspaces: Manage Workspace Trust)"
)
UNTRUSTED_LENS = "Evolve is off: the workspace is not trusted"


def _says_untrusted(options: Any) -> bool:
    return isinstance(options, dict) and options.get("workspaceTrusted") is False


def register(server: NnevolveLanguageServer) -> None:
    """Read the client's trust (``server.trusted``: then evolve and stored runs are on), its
    name and whether it wants engines started ahead from its ``initialize`` request."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: Any, params: types.InitializeParams) -> None:
        # the one initialize handler pygls allows, so it also keeps the client's name
        server.client_name = params.client_info.name if params.client_info else ""
        server.trusted = not _says_untrusted(params.initialization_options)
        options = params.initialization_options
        server.prestart_engine = isinstance(options, dict) and options.get("prestartEngine") is True
