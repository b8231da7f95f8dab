"""A variant's edit across the files it changes, re-based onto the texts the editor has now.

A variant changes the model document and, when a recipe edit changed it, the project's
training script (:mod:`nnevolve.variant_files`). Each file is re-based on its own: onto the
open document's text (its edit versioned), or the file on disk when it is not open. When the
user's edits since the run touch the variant's lines in any of its files, the whole variant
is withheld with the reason: the files are applied together or not at all, in one
``WorkspaceEdit``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from nnevolve.lsp.offers import OfferedRun, OfferedVariant, run_file_key, uri_to_path
from nnevolve.lsp.variants import Rebased, rebase, to_text_edits
from nnevolve.variant_files import MODEL

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer


@dataclass(frozen=True)
class FileText:
    """The text one of a run's files has now, and where it is."""

    uri: str
    version: int | None  # the open document's version; None: the file on disk
    text: str | None  # None: neither open nor readable


@dataclass(frozen=True)
class FileEdit:
    """One file of a variant, re-based onto its current text (None: withheld)."""

    name: str  # "model.py", "train.py"
    target: FileText
    rebased: Rebased | None


@dataclass(frozen=True)
class VariantEdit:
    """A variant's edits of every file it changes."""

    variant: OfferedVariant
    files: tuple[FileEdit, ...]

    @property
    def withheld(self) -> FileEdit | None:
        """The first file whose lines were edited since the run (None: it applies)."""
        return next((f for f in self.files if f.rebased is None), None)

    @property
    def applied(self) -> bool:
        """Whether every file already reads as the variant (nothing to do)."""
        return all(f.rebased is not None and not f.rebased.edits for f in self.files)


def train_uri(run: OfferedRun) -> str | None:
    """The URI of the run's training script, None when the run has none."""
    train_file = run.run.train_file
    return Path(train_file).as_uri() if train_file else None


async def train_text(ls: NnevolveLanguageServer, run: OfferedRun) -> FileText | None:
    """The run's training script as the editor has it (open), else as the disk has it (read in
    a thread); None when the run offers no variant that changes it."""
    uri = train_uri(run)
    if uri is None or not any(len(v.files) > 1 for v in run.variants):
        return None
    path = Path(run.run.train_file or "")
    for open_uri in list(ls.workspace.text_documents):
        open_path = uri_to_path(open_uri)
        if open_path is not None and run_file_key(open_path) == run_file_key(path):
            document = ls.documents.text_document(open_uri)
            if document is not None:
                return FileText(open_uri, document.version, document.source)
    try:
        text: str | None = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    return FileText(uri, None, text)


def document_text(document: AnalyzedDocument) -> FileText:
    """An open document's text, for its edit."""
    return FileText(document.uri, document.version, document.source)


def variant_edit(model: FileText, variant: OfferedVariant,
                 train: FileText | None) -> VariantEdit:
    """The variant's files re-based: the model file onto ``model``, its training script onto
    ``train`` (a script that cannot be read withholds the variant)."""
    files = []
    for file in variant.files:
        if file.role == MODEL:
            target = model
        else:
            target = train if train is not None else FileText(Path(file.path).as_uri(), None, None)
        rebased = None if target.text is None else rebase(file.base, file.text, target.text)
        files.append(FileEdit(file.name, target, rebased))
    return VariantEdit(variant, tuple(files))


def workspace_edit(ls: NnevolveLanguageServer, edit: VariantEdit) -> types.WorkspaceEdit:
    """One edit of every file that changes: versioned where the client can check versions (a
    file that is not open gets version null: the file on disk)."""
    changed = [(f.target, to_text_edits(f.target.text or "", f.rebased.edits))
               for f in edit.files if f.rebased is not None and f.rebased.edits]
    workspace = ls.client_capabilities.workspace
    versioned = bool(
        workspace and workspace.workspace_edit and workspace.workspace_edit.document_changes
    )
    if not versioned:
        return types.WorkspaceEdit(changes={target.uri: edits for target, edits in changed})
    return types.WorkspaceEdit(document_changes=[
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(
                uri=target.uri, version=target.version),
            edits=list(edits))
        for target, edits in changed
    ])


def withheld_reason(edit: VariantEdit, count: int, run: OfferedRun) -> str:
    """Why a variant is not offered on the current texts."""
    variant, file = edit.variant, edit.withheld
    if file is not None and file.target.text is None:
        return f"variant {variant.index}/{count} changes {file.name}, which cannot be read"
    if file is not None and file.name != Path(run.run.file).name:
        return (f"variant {variant.index}/{count} changes lines of {file.name} that were "
                "edited since the run started; undo those edits or evolve again")
    return (f"variant {variant.index}/{count} changes lines of {run.run.class_name} that were "
            "edited since the run started; undo those edits or evolve again")
