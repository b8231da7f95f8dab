"""Custom requests for the extension's results view: ``nnevolve/runs`` and ``nnevolve/pareto``.

``nnevolve/runs`` ``{"uri"}`` → ``{"uri", "runs": [...]}``: the runs of that file, newest
first, with status and counts. ``nnevolve/pareto`` ``{"run", "uri"?}`` → the run, the
original network's figures and each Pareto variant with its figures, changes (its net
difference from the run's base, the training script's lines named with the file), lineage,
source (and ``train_source`` when it changes the training script), a unified diff of each file
it changes against the run's base, and ``withheld`` (why it cannot be applied to the open
document's text, else null). The run store is read in a thread of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnevolve.config import ConfigError, load_config
from nnevolve.lsp import trust
from nnevolve.lsp.offers import (
    OfferedRun,
    OfferedVariant,
    read_offered_run,
    run_file_key,
    store_path_for,
    uri_to_path,
)
from nnevolve.lsp.variant_edits import FileText, train_text, variant_edit, withheld_reason
from nnevolve.lsp.variants import unified_diff
from nnevolve.store import RunRecord, RunStore, StoreError
from nnevolve.variant_files import TRAIN

if TYPE_CHECKING:
    from nnevolve.lsp.state import NnevolveLanguageServer

RUNS_REQUEST = "nnevolve/runs"
PARETO_REQUEST = "nnevolve/pareto"


def plain(value: Any) -> Any:
    """Custom params as JSON values (pygls hands JSON objects over as namedtuples)."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def run_json(run: RunRecord, offered: str | None = None) -> dict[str, Any]:
    """One run for the results view."""
    config = run.config
    return {
        "id": run.id,
        "file": run.file,
        "model": run.class_name,
        "status": run.status,
        "error": run.error,
        "dataset": config.get("dataset"),
        "generation": run.generation,
        "generations": config.get("generations"),
        "objectives": config.get("objectives"),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "counts": run.counts.to_json(),
        "offered": run.id == offered,
    }


def list_runs(file: Path, workspace_folders: Sequence[Path] | None = None) -> list[RunRecord]:
    """The runs of `file`, newest first (blocking); none when the project has no store yet."""
    store_path = store_path_for(file, workspace_folders)
    if not store_path.is_file():
        return []
    with RunStore(store_path, read_only=True) as store:
        return store.list_runs(file=run_file_key(file))


def pareto_json(offered: OfferedRun, current: str | None = None,
                train: FileText | None = None) -> dict[str, Any]:
    """A run's Pareto variants, each with its changes and a unified diff against the run's base.

    `current` is the text of the run's file open in the editor, `train` the training script's
    text now: a variant whose lines the user has edited since is marked ``withheld`` with the
    reason (None when it can be applied).
    """
    run = offered.run
    base = offered.base
    count = len(offered.variants)

    def withheld(variant: OfferedVariant) -> str | None:
        if current is None:
            return None
        edit = variant_edit(FileText(run.file, None, current), variant, train)
        return None if edit.withheld is None else withheld_reason(edit, count, offered)

    return {
        "run": run_json(run),
        "base": None
        if base is None
        else {
            "accuracy": base.accuracy,
            "params": base.params,
            "latency_ms": base.latency_ms,
            "test_accuracy": base.test_accuracy,
            "source": run.base_source,
        },
        "variants": [
            {
                **variant.to_json(),
                "source": variant.source,
                "train_source": next((f.text for f in variant.files if f.role == TRAIN), None),
                "diff": "".join(unified_diff(f.base, f.text, f.name) for f in variant.files),
                "withheld": withheld(variant),
            }
            for variant in offered.variants
        ],
    }


def _candidate_stores(ls: NnevolveLanguageServer, uri: Any) -> list[Path]:
    """Where a run may be: the store of the given document, of open documents, of the workspace."""
    paths: list[Path] = []
    uris = [uri] if isinstance(uri, str) else []
    uris += list(ls.workspace.text_documents)
    folders = ls.workspace_folders()
    for candidate in uris:
        path = uri_to_path(candidate)
        if path is not None:
            paths.append(store_path_for(path, folders))
    for root in folders:
        try:
            paths.append(load_config(root, folders).store_path)
        except ConfigError:
            continue
    return list(dict.fromkeys(paths))


def _find_pareto(stores: list[Path], run_id: str) -> OfferedRun | None:
    for store_path in stores:
        offered = read_offered_run(store_path, run_id)
        if offered is not None:
            return offered
    return None


async def runs_request(ls: NnevolveLanguageServer, params: Any) -> dict[str, Any]:
    """``nnevolve/runs``: the runs of the document's file, newest first."""
    values = plain(params)
    uri = values.get("uri") if isinstance(values, dict) else None
    path = uri_to_path(uri) if isinstance(uri, str) else None
    if path is None or not isinstance(uri, str):
        return {"uri": uri, "runs": [], "error": 'expects {"uri": a file: URI}'}
    if not ls.trusted:
        return {"uri": uri, "runs": [], "error": trust.UNTRUSTED_REASON}
    try:
        runs = await asyncio.to_thread(list_runs, path, ls.workspace_folders())
    except (StoreError, OSError) as error:
        return {"uri": uri, "runs": [], "error": f"cannot read the run store: {error}"}
    offered = await ls.offers.offered(uri)
    offered_id = offered.run_id if offered is not None else None
    return {"uri": uri, "runs": [run_json(run, offered_id) for run in runs]}


async def pareto_request(ls: NnevolveLanguageServer, params: Any) -> dict[str, Any] | None:
    """``nnevolve/pareto``: one run's Pareto variants with figures, sources and diffs."""
    values = plain(params)
    values = values if isinstance(values, dict) else {}
    run_id, uri = values.get("run"), values.get("uri")
    if not isinstance(run_id, str) or not ls.trusted:
        return None
    stores = _candidate_stores(ls, uri)
    try:
        offered = await asyncio.to_thread(_find_pareto, stores, run_id)
    except (StoreError, OSError):
        return None
    if offered is None:
        return None
    current = _open_text(ls, offered.run)
    train = await train_text(ls, offered)
    return await asyncio.to_thread(pareto_json, offered, current, train)


def _open_text(ls: NnevolveLanguageServer, run: RunRecord) -> str | None:
    """The editor's text of the run's file, when it is open (what a variant would apply to)."""
    for uri in list(ls.workspace.text_documents):
        path = uri_to_path(uri)
        if path is not None and run_file_key(path) == run.file:
            document = ls.documents.text_document(uri)
            return document.source if document is not None else None
    return None


def register(server: NnevolveLanguageServer) -> None:
    """Answer the results view's requests."""
    server.feature(RUNS_REQUEST)(runs_request)
    server.feature(PARETO_REQUEST)(pareto_request)
