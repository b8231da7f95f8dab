"""The custom request ``nnevolve/lineTypes``: every typed item of a document, for decorations.

Params ``{"textDocument": {"uri": ...}}``; answer ``{"version": N, "items": [{"range",
"type", "name", "detail", "params"}]}`` with LSP (0-based) ranges, or ``{"version": null,
"items": []}`` for a document that is not open, not Python, or not named in the params.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnevolve.lsp.protocol import JsonObject

if TYPE_CHECKING:
    from nnevolve.analysis import LineItem
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer

LINE_TYPES_REQUEST = "nnevolve/lineTypes"


def requested_uri(params: Any) -> str | None:
    """The ``textDocument.uri`` of custom params (pygls gives namedtuples), if it is a string."""
    document = _field(params, "textDocument")
    uri = _field(document, "uri")
    return uri if isinstance(uri, str) else None


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # pygls' namedtuple for a dict
        return getattr(value, name, None)
    return None


def item_json(document: AnalyzedDocument, item: LineItem) -> dict[str, Any]:
    """One item of the answer, its range in the client's coordinates."""
    # plain dicts rather than lsprotocol objects: a large file has thousands of items
    start_line = min(item.line, len(document.lines)) - 1
    end_line = min(item.end_line, len(document.lines)) - 1
    return {
        "range": {
            "start": {"line": start_line, "character": document.character(item.line, item.col)},
            "end": {"line": end_line, "character": document.character(item.end_line, item.end_col)},
        },
        "type": item.type,
        "name": item.name,
        "detail": item.detail,
        "params": item.params,
    }


async def line_types(ls: NnevolveLanguageServer, params: Any) -> JsonObject:
    """``nnevolve/lineTypes``: the document's version and its typed items."""
    uri = requested_uri(params)
    document = await ls.documents.analyzed(uri) if uri is not None else None
    if document is None:
        return JsonObject(version=None, items=[])
    return JsonObject(
        version=document.version,
        items=[item_json(document, item) for item in document.analysis.items],
    )


def register(server: NnevolveLanguageServer) -> None:
    """Answer ``nnevolve/lineTypes``."""
    server.feature(LINE_TYPES_REQUEST)(line_types)
