"""The nnevolve language server: one pygls server, its features registered from their modules.

A feature module exposes ``register(server)``; adding a feature (code lens, evolve command)
means writing its module and listing it in :data:`FEATURES`. The server object and the
state the features share are in :mod:`nnevolve.lsp.state`.
"""

from __future__ import annotations

import logging
import sys
from types import ModuleType

from nnevolve.lsp import (
    code_actions,
    code_lens,
    diagnostics,
    evolve,
    hover,
    inlay_hints,
    line_types,
    results,
    semantic_tokens,
    trust,
)
from nnevolve.lsp.state import NnevolveLanguageServer

FEATURES: tuple[ModuleType, ...] = (
    trust,
    diagnostics,
    hover,
    inlay_hints,
    semantic_tokens,
    line_types,
    code_lens,
    evolve,
    code_actions,
    results,
)


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
