"""Inlay hints: the type label at the end of each typed line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from nnevolve.analysis import TYPE_LABELS

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer


def line_labels(document: AnalyzedDocument) -> dict[int, str]:
    """The label of each typed line (1-based), by the first line of its items.

    A line with several items gets their distinct labels in order:
    ``container, connection layer, activation function``.
    """
    labels: dict[int, list[str]] = {}
    for item in document.analysis.items:
        label = TYPE_LABELS.get(item.type, item.type)
        on_line = labels.setdefault(item.line, [])
        if label not in on_line:
            on_line.append(label)
    return {line: ", ".join(names) for line, names in labels.items()}


def _within(position: types.Position, span: types.Range) -> bool:
    at = (position.line, position.character)
    return (span.start.line, span.start.character) <= at <= (span.end.line, span.end.character)


async def inlay_hints(
    ls: NnevolveLanguageServer, params: types.InlayHintParams
) -> list[types.InlayHint]:
    """``textDocument/inlayHint``: the hints of the typed lines inside the requested range."""
    document = await ls.documents.analyzed(params.text_document.uri)
    if document is None:
        return []
    hints = []
    for line, label in sorted(line_labels(document).items()):
        position = document.line_end(line)
        if _within(position, params.range):
            hints.append(types.InlayHint(position=position, label=label, padding_left=True))
    return hints


def register(server: NnevolveLanguageServer) -> None:
    """Answer inlay-hint requests."""
    server.feature(types.TEXT_DOCUMENT_INLAY_HINT)(inlay_hints)
