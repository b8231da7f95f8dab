"""Diagnostics: a syntax error is one error at its position; nothing else is ever reported."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from lsprotocol import types

if TYPE_CHECKING:
    from conftest import Editor

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_file_that_parses_has_no_diagnostics(editor: Editor, model: str):
    uri = editor.open(model)

    assert await editor.diagnostics(uri) == []


async def test_a_syntax_error_is_one_error_at_its_position(editor: Editor, model: str):
    uri = editor.open(model.replace("nn.Linear(120, 84)", "nn.Linear(120, 84))"))

    diagnostics = await editor.diagnostics(uri)

    assert len(diagnostics) == 1
    (error,) = diagnostics
    assert error.severity == types.DiagnosticSeverity.Error
    assert error.source == "nnevolve"
    assert "unmatched ')'" in error.message
    line, character = editor.find(uri, "84))")
    assert error.range.start == types.Position(line, character + 3)


async def test_an_edit_that_breaks_then_fixes_the_file_updates_the_diagnostics(
    editor: Editor, model: str
):
    uri = editor.open(model)
    assert await editor.diagnostics(uri) == []

    broken = editor.replace(uri, "def forward(self, x", "def forward(self,, x")
    (error,) = await editor.diagnostics(uri, broken)
    assert error.range.start.line == editor.find(uri, "def forward")[0]

    fixed = editor.replace(uri, "self,, x", "self, x")
    assert await editor.diagnostics(uri, fixed) == []


async def test_closing_a_document_clears_its_diagnostics(editor: Editor, model: str):
    uri = editor.open(model.replace("nn.Linear(120, 84)", "nn.Linear(120, 84"))
    assert len(await editor.diagnostics(uri)) == 1

    editor.close(uri)
    assert await editor.diagnostics(uri, version=None) == []
