"""Pareto variants as code actions on the model class, and the command ``nnevolve.applyVariant``.

Each action's edit is one ``WorkspaceEdit`` of every file the variant changes (the model
document, and the training script when the variant changes it: :mod:`nnevolve.lsp.variant_edits`),
a versioned ``TextDocumentEdit`` per file that changes only the lines that differ. After the
user edits a file, a variant is re-based onto the new text when the user's change does not
touch the lines the variant changes, and withheld otherwise (:mod:`nnevolve.lsp.variants`): a
stale edit is never offered, and a client refuses a versioned edit whose version has passed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from nnevolve.lsp import figures, trust
from nnevolve.lsp.analysis_worker import EVOLVE_MAX_CHARS
from nnevolve.lsp.code_lens import find_model_class
from nnevolve.lsp.offers import (
    OfferedRun,
    OfferedVariant,
    belongs_to,
    read_offered_run,
    store_path_for,
    uri_to_path,
)
from nnevolve.lsp.variant_edits import (
    FileText,
    VariantEdit,
    document_text,
    train_text,
    variant_edit,
    withheld_reason,
    workspace_edit,
)
from nnevolve.store import StoreError

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer

APPLY_VARIANT_COMMAND = "nnevolve.applyVariant"
ACTION_KIND = types.CodeActionKind.RefactorRewrite


_CHANGES_IN_TITLE = 2  # a menu entry stays one readable line; the results view lists them all


def action_title(variant: OfferedVariant, count: int, run: OfferedRun) -> str:
    """``Apply variant 2/5: 98.2% (+0.4), 18,204 params (−38%), 0.21 ms (−12%) — line 20:
    F.relu → F.silu``: the figures, then what it changes in the user's network; a cancelled
    run's say so: ``Apply variant 2/5 (cancelled run): ...``."""
    base = run.base
    origin = " (cancelled run)" if run.cancelled else ""
    title = f"Apply variant {variant.index}/{count}{origin}: " + figures.variant_figures(
        acc=variant.accuracy,
        size=variant.params,
        time_ms=variant.latency_ms,
        base_acc=base.accuracy if base else None,
        base_size=base.params if base else None,
        base_time_ms=base.latency_ms if base else None,
    )
    return f"{title} — {changes_summary(variant.changes)}" if variant.changes else title


def changes_summary(changes: tuple[str, ...] | list[str]) -> str:
    """The first changes of a variant and how many more: ``line 20: F.relu → F.silu; +2 more``."""
    shown = list(changes[:_CHANGES_IN_TITLE])
    more = len(changes) - len(shown)
    return "; ".join(shown) + (f"; +{more} more" if more else "")


@dataclass(frozen=True)
class _Rebased:
    version: int | None
    run_id: str
    train: FileText | None  # the training script's text they were re-based onto
    variants: tuple[VariantEdit, ...]


def rebased_variants(
    ls: NnevolveLanguageServer, document: AnalyzedDocument, run: OfferedRun,
    train: FileText | None
) -> tuple[VariantEdit, ...]:
    """Each offered variant with its edits against this version of the document and of the
    training script (a file whose changed lines were edited withholds it)."""
    cache = ls.offers.rebased
    cached = cache.get(document.uri)
    if (cached is not None and cached.version == document.version
            and cached.run_id == run.run_id and cached.train == train):
        return cached.variants
    model = document_text(document)
    variants = tuple(variant_edit(model, variant, train) for variant in run.variants)
    cache[document.uri] = _Rebased(document.version, run.run_id, train, variants)
    return variants


def _wants_rewrites(params: types.CodeActionParams) -> bool:
    only = params.context.only
    return not only or any(
        ACTION_KIND == kind or ACTION_KIND.startswith(f"{kind}.") for kind in only
    )


async def code_actions(
    ls: NnevolveLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    """``textDocument/codeAction``: one action per offered variant, on any line of the class."""
    uri = params.text_document.uri
    if not _wants_rewrites(params) or not ls.trusted:
        return None
    run = await ls.offers.offered(uri)
    if run is None or not run.variants or not belongs_to(run.run, uri):
        return None
    document = await ls.documents.analyzed(uri)
    if document is None or document.too_large() is not None:
        return None
    cls = find_model_class(document, run.run.class_name)
    first, last = params.range.start.line + 1, params.range.end.line + 1
    if cls is None or last < cls.line or first > cls.end_line:
        return None
    actions = []
    count = len(run.variants)
    train = await train_text(ls, run)
    for edit in rebased_variants(ls, document, run, train):
        title = action_title(edit.variant, count, run)
        if edit.withheld is not None:  # the user changed its lines: greyed out, with the reason
            if _shows_disabled(ls):
                reason = withheld_reason(edit, count, run)
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=ACTION_KIND,
                        disabled=types.CodeActionDisabled(reason=reason),
                    )
                )
            continue
        if edit.applied:
            continue
        actions.append(
            types.CodeAction(title=title, kind=ACTION_KIND, edit=workspace_edit(ls, edit))
        )
    return actions


def _shows_disabled(ls: NnevolveLanguageServer) -> bool:
    """Whether the client draws disabled code actions (LSP: only then may a server send them)."""
    document = ls.client_capabilities.text_document
    code_action = document.code_action if document else None
    return bool(code_action and code_action.disabled_support)


class ApplyError(ValueError):
    """A variant cannot be applied; the message says why."""


def _apply_arguments(arguments: tuple[Any, ...]) -> tuple[str, str, int, int | None]:
    argument = arguments[0] if len(arguments) == 1 else None
    if not isinstance(argument, dict):
        raise ApplyError('expects one argument: {"uri", "run", "variant", "version"?}')
    uri, run_id, variant_id = argument.get("uri"), argument.get("run"), argument.get("variant")
    version = argument.get("version")
    if not isinstance(uri, str) or not isinstance(run_id, str):
        raise ApplyError('"uri" and "run" must be strings')
    if isinstance(variant_id, bool) or not isinstance(variant_id, int):
        raise ApplyError('"variant" must be a variant id (an integer)')
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ApplyError('"version" must be an integer')
    return uri, run_id, variant_id, version


async def _find_run(ls: NnevolveLanguageServer, uri: str, run_id: str) -> OfferedRun:
    run = await _run_by_id(ls, uri, run_id)
    if not belongs_to(run.run, uri):
        # its variants are another file's text: applied here they would replace this one
        raise ApplyError(
            f"run {run_id} evolved {Path(run.run.file).name}, not {_file_name(uri)}"
        )
    return run


def _file_name(uri: str) -> str:
    path = uri_to_path(uri)
    return path.name if path is not None else uri


async def _run_by_id(ls: NnevolveLanguageServer, uri: str, run_id: str) -> OfferedRun:
    offered = await ls.offers.offered(uri)
    if offered is not None and offered.run_id == run_id:
        return offered
    path = uri_to_path(uri)
    if path is None:
        raise ApplyError(f"{uri} is not a file on disk")
    try:
        store_path = store_path_for(path, ls.workspace_folders())
        found = await asyncio.to_thread(read_offered_run, store_path, run_id)
    except (StoreError, OSError) as error:
        raise ApplyError(f"cannot read the run store: {error}") from error
    if found is None:
        raise ApplyError(f"there is no run '{run_id}' in this project's run store")
    return found


async def apply_variant(ls: NnevolveLanguageServer, arguments: tuple[Any, ...]) -> dict[str, Any]:
    """Apply one variant through ``workspace/applyEdit``, re-based onto the current text."""
    uri, run_id, variant_id, version = _apply_arguments(arguments)
    if not ls.trusted:
        raise ApplyError(trust.UNTRUSTED_REASON)
    document = await ls.documents.analyzed(uri)
    if document is None:
        raise ApplyError(f"{uri} is not open in the editor")
    if version is not None and version != document.version:
        raise ApplyError(
            f"the document changed since version {version} (it is at version {document.version})"
        )
    run = await _find_run(ls, uri, run_id)
    variant = run.variant(variant_id)
    if variant is None:
        raise ApplyError(f"run {run_id} has no Pareto variant {variant_id}")
    edit = variant_edit(document_text(document), variant, await train_text(ls, run))
    if edit.withheld is not None:
        raise ApplyError(withheld_reason(edit, len(run.variants), run))
    if edit.applied:
        return {"applied": True, "reason": "the document already reads as this variant"}
    label = f"nnevolve: {action_title(variant, len(run.variants), run)}"
    response = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=workspace_edit(ls, edit), label=label)
    )
    if not response.applied:
        reason = response.failure_reason or "the document changed while the edit was on its way"
        raise ApplyError(f"the editor refused the edit: {reason}")
    return {"applied": True}


def register(server: NnevolveLanguageServer) -> None:
    """Offer variants as code actions; apply one by command. A document's stored run is
    looked up when it is opened, and forgotten when it is closed."""

    def changed(uri: str) -> None:
        document = server.documents.text_document(uri)
        # an untrusted workspace's store is not read; a file too large to evolve has no runs
        if (
            document is not None
            and server.trusted
            and len(document.source) <= EVOLVE_MAX_CHARS
        ):
            server.offers.load_latest(uri, document.source, server.workspace_folders())

    server.documents.when_changed(changed)
    server.documents.when_closed(server.offers.withdraw)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[ACTION_KIND], resolve_provider=False),
    )(code_actions)

    @server.command(APPLY_VARIANT_COMMAND)
    async def apply_variant_command(ls: LanguageServer, *arguments: Any) -> dict[str, Any]:
        try:
            return await apply_variant(server, arguments)
        except ApplyError as error:
            message = f"Variant not applied: {error}."
            server.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=message)
            )
            return {"applied": False, "reason": message}

    server.documents.when_closed(lambda uri: server.offers.rebased.pop(uri, None))
