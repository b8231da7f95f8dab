"""Hover: what a typed item is, in words — its type, callee, detail and parameter count."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from nnevolve.analysis import TYPE_LABELS, LineItem, item_at

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|~!])")


def parameter_count(params: int) -> str:
    """``78,500 parameters``, ``1 parameter``, ``no parameters``."""
    if params == 0:
        return "no parameters"
    return f"{params:,} parameter{'' if params == 1 else 's'}"


def describe(item: LineItem, *, markdown: bool = True) -> str:
    """One line about ``item``: "**connection layer** · `torch.nn.Linear` · Linear 784→100 · ..."."""
    label = TYPE_LABELS.get(item.type, item.type)
    parts = [f"**{label}**", f"`{item.name}`"] if markdown else [label, item.name]
    # "ReLU" after `torch.nn.ReLU` says nothing new
    if item.detail and item.detail != item.name.rsplit(".", 1)[-1]:
        parts.append(_MARKDOWN_SPECIAL.sub(r"\\\1", item.detail) if markdown else item.detail)
    if item.params is not None:
        parts.append(parameter_count(item.params))
    return " · ".join(parts)


def hover_line(server: NnevolveLanguageServer, document: AnalyzedDocument,
               line: int) -> str | None:
    """"evolvable for VGG11 · layer line, built 3×" for a listed 1-based line, else None
    (listing runs the model's code: only in a trusted workspace)."""
    if not server.trusted:
        return None
    listing = server.evolvable.lines_for(document)
    if listing is None or line not in listing.lines:
        return None
    return f"evolvable for {listing.model} · {listing.lines[line]}"


def _client_reads_markdown(ls: NnevolveLanguageServer) -> bool:
    hover = ls.client_capabilities.text_document and ls.client_capabilities.text_document.hover
    formats = hover.content_format if hover else None
    return not formats or types.MarkupKind.Markdown in formats


async def hover(ls: NnevolveLanguageServer, params: types.HoverParams) -> types.Hover | None:
    """``textDocument/hover``: the description of the item under the cursor, else nothing."""
    document = await ls.documents.analyzed(params.text_document.uri)
    if document is None or (location := document.location(params.position)) is None:
        return None
    item = item_at(document.analysis, *location)
    evolvable_here = hover_line(ls, document, location[0])
    if item is None and evolvable_here is None:
        return None
    markdown = _client_reads_markdown(ls)
    parts = [describe(item, markdown=markdown)] if item is not None else []
    if evolvable_here is not None:
        parts.append(f"*{evolvable_here}*" if markdown else evolvable_here)
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText,
            value="\n\n".join(parts),
        ),
        range=document.range_of(item) if item is not None else None,
    )


def register(server: NnevolveLanguageServer) -> None:
    """Answer hovers."""
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
