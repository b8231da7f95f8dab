"""Semantic tokens: each item's callee, with a custom token type named after its line type.

VS Code lets one semantic-token provider win per document (usually Pylance on ``.py``), so
these serve the clients where ours is the only provider; decorations, hints and hovers
carry the marks everywhere else.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from nnevolve.analysis import LINE_TYPES

if TYPE_CHECKING:
    from nnevolve.analysis import LineItem
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer

LEGEND = types.SemanticTokensLegend(token_types=list(LINE_TYPES), token_modifiers=[])
_TOKEN_TYPE = {name: index for index, name in enumerate(LINE_TYPES)}

# A dotted callee such as `nn.Linear` or `torch . nn . functional . relu`
_CALLEE = re.compile(r"[^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*")


def callee_span(document: AnalyzedDocument, item: LineItem) -> tuple[int, int]:
    """Code-point columns of the item's callee on its first line (LSP tokens are one-line)."""
    text = document.lines[min(item.line, len(document.lines)) - 1]
    callee = _CALLEE.match(text, item.col)
    if callee is not None:
        return callee.start(), callee.end()
    end = item.end_col if item.end_line == item.line else len(text)
    return item.col, min(end, len(text))


def encode_tokens(document: AnalyzedDocument) -> list[int]:
    """The LSP relative encoding (Δline, Δstart, length, type, 0) of one token per item."""
    data: list[int] = []
    previous_line = previous_start = 0
    previous_end = (-1, -1)  # tokens may not overlap: skip one that starts inside the last
    for item in document.analysis.items:
        token_type = _TOKEN_TYPE.get(item.type)
        start_col, end_col = callee_span(document, item)
        start = document.position(item.line, start_col)
        end = document.position(item.line, end_col)
        if token_type is None or end.character <= start.character:
            continue
        if (start.line, start.character) < previous_end:
            continue
        delta_line = start.line - previous_line
        delta_start = start.character - previous_start if delta_line == 0 else start.character
        data += [delta_line, delta_start, end.character - start.character, token_type, 0]
        previous_line, previous_start = start.line, start.character
        previous_end = (end.line, end.character)
    return data


async def semantic_tokens(
    ls: NnevolveLanguageServer, params: types.SemanticTokensParams
) -> types.SemanticTokens:
    """``textDocument/semanticTokens/full``: the tokens of the whole document."""
    document = await ls.documents.analyzed(params.text_document.uri)
    return types.SemanticTokens(data=encode_tokens(document) if document is not None else [])


def register(server: NnevolveLanguageServer) -> None:
    """Answer full-document semantic-token requests, advertising :data:`LEGEND`."""
    server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)(semantic_tokens)
