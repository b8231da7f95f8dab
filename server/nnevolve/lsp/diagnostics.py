"""Diagnostics: a file's syntax error, as one error at its position, plus what other features add.

Other features (a failed evolution run) contribute by adding a source to the server's
``diagnostic_sources``, so that one publication carries every diagnostic of a version and none
overwrites another's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer

SOURCE = "nnevolve"


def refresh(server: NnevolveLanguageServer, uri: str) -> None:
    """Publish the diagnostics of ``uri``'s current version again (a source changed its mind)."""
    document = server.documents.text_document(uri)
    if document is not None:
        server.run_in_background(publish_diagnostics(server, uri, document.version))


def syntax_diagnostics(document: AnalyzedDocument) -> list[types.Diagnostic]:
    """The document's syntax error as a single diagnostic, or nothing when it parses."""
    problem = document.analysis.error
    if problem is None:
        return []
    return [
        types.Diagnostic(
            range=document.range_of(problem),
            message=problem.message,
            severity=types.DiagnosticSeverity.Error,
            source=SOURCE,
        )
    ]


async def publish_diagnostics(ls: NnevolveLanguageServer, uri: str, version: int | None) -> None:
    """Publish the diagnostics of ``uri`` at ``version``, unless a newer edit overtook it."""
    if not _is_current(ls, uri, version):
        return
    document = await ls.documents.analyzed(uri)
    if document is None or not _is_current(ls, uri, document.version):
        return
    found = syntax_diagnostics(document)
    for source in ls.diagnostic_sources:
        found.extend(source(document))
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=document.version)
    )


def _is_current(ls: NnevolveLanguageServer, uri: str, version: int | None) -> bool:
    document = ls.documents.text_document(uri)
    return document is not None and document.version == version


def register(server: NnevolveLanguageServer) -> None:
    """Publish diagnostics after each open or edit; clear them when the document closes."""

    def changed(uri: str) -> None:
        document = server.documents.text_document(uri)
        if document is not None:
            server.run_in_background(publish_diagnostics(server, uri, document.version))

    def closed(uri: str) -> None:
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    server.documents.when_changed(changed)
    server.documents.when_closed(closed)
