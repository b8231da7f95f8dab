"""The run whose Pareto variants each open document offers, read from the run store.

A run is offered to a document when it finishes or is cancelled (what it found so far), and
again when the file is opened later (after a restart) if the file still matches the run's
base (the normalized-source hash). A cancelled run that found no variant worth offering is
passed over: the run offered before stays offered. Only the store is read, never the
``variant-NN.py`` files (a cancelled run has none).
Reading the store runs in a thread of its own (``asyncio.to_thread``), never on the event
loop and never in pygls' thread pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from nnevolve.analysis import Analysis, analyze
from nnevolve.config import ConfigError, find_pyproject, load_config
from nnevolve.genome.errors import GenomeError
from nnevolve.genome.normalize import source_hash
from nnevolve.store import Evaluation, RunRecord, RunStore, StoreError, Variant, default_store_path
from nnevolve.variant_files import VariantFile, files_changes, variant_files

logger = logging.getLogger(__name__)

# runs offered as code actions (a failed run's variants stay reachable by nnevolve/pareto)
OFFERED_STATUSES = ("finished", "cancelled")


def uri_to_path(uri: str) -> Path | None:
    """The local file of a `file:` URI; None for other schemes (untitled:, ...)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if parsed.netloc:  # a UNC path: file://server/share/x.py
        path = f"//{parsed.netloc}{path}"
    return Path(path)


def store_path_for(file: Path, workspace_folders: Sequence[Path] | None) -> Path:
    """The run store of the project around `file` (as the server's runs of it use it)."""
    try:
        return load_config(file, workspace_folders).store_path
    except ConfigError:
        # a broken [tool.nnevolve] still tells where the project is
        pyproject = find_pyproject(file)
        return default_store_path(pyproject.parent if pyproject else file.parent)


def run_file_key(file: Path) -> str:
    """How the run store names a model file (the resolved path)."""
    return str(file.resolve())


def belongs_to(run: RunRecord, uri: str) -> bool:
    """Whether `run` evolved the file at `uri` (whose text its variants would replace)."""
    path = uri_to_path(uri)
    return path is not None and run.file == run_file_key(path)


@dataclass(frozen=True)
class OfferedVariant:
    """One Pareto-optimal variant of a run, with its figures."""

    id: int
    index: int  # 1-based, most accurate first
    source: str
    accuracy: float | None
    params: int | None
    latency_ms: float | None
    test_accuracy: float | None
    changes: tuple[str, ...]  # its net difference from the run's base (nnevolve.changes)
    lineage: tuple[dict[str, str], ...]  # the edits that bred it, cumulative from the seed
    # the files it changes: the model file, and the training script when it changes that
    files: tuple[VariantFile, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "index": self.index,
            "accuracy": self.accuracy,
            "params": self.params,
            "latency_ms": self.latency_ms,
            "test_accuracy": self.test_accuracy,
            "changes": list(self.changes),
            "lineage": list(self.lineage),
        }


@dataclass(frozen=True)
class OfferedRun:
    """A finished or cancelled run of one model class: its base text, the original's figures,
    its variants."""

    run: RunRecord
    store_path: Path
    base: Evaluation | None  # the original network's figures
    variants: tuple[OfferedVariant, ...]
    valid: int = 0  # variants (the seed excluded) that trained to the end

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def cancelled(self) -> bool:
        return self.run.status == "cancelled"

    def variant(self, variant_id: int) -> OfferedVariant | None:
        return next((v for v in self.variants if v.id == variant_id), None)


def pareto_variants(store: RunStore, run: RunRecord) -> tuple[OfferedVariant, ...]:
    """The run's Pareto variants that change the network or its training script, most
    accurate first."""
    front = [
        v
        for v in store.pareto(run.id)
        if not v.is_base
        and (v.source != run.base_source or v.train_source is not None)
        and v.evaluation is not None
        and v.evaluation.status == "ok"
    ]
    base_analysis = analyze(run.base_source)  # one base, many variants
    return tuple(
        _offered(v, index, run, base_analysis) for index, v in enumerate(front, start=1)
    )


def _offered(variant: Variant, index: int, run: RunRecord,
             base_analysis: Analysis) -> OfferedVariant:
    evaluation = variant.figures  # the confirmed means once the run confirmed them
    assert evaluation is not None
    files = tuple(variant_files(run, variant))
    return OfferedVariant(
        id=variant.id,
        index=index,
        source=variant.source,
        accuracy=evaluation.accuracy,
        params=evaluation.params,
        latency_ms=evaluation.latency_ms,
        test_accuracy=evaluation.test_accuracy,
        changes=tuple(files_changes(files, base_analysis=base_analysis)),
        lineage=tuple(variant.edits),
        files=files,
    )


def read_offered_run(store_path: Path, run_id: str) -> OfferedRun | None:
    """Load one run with its Pareto variants (blocking: call it in a thread)."""
    if not store_path.is_file():
        return None
    with RunStore(store_path, read_only=True) as store:
        run = store.get_run(run_id)
        if run is None:
            return None
        base = store.base_variant(run_id)
        valid = sum(
            1
            for v in store.variants(run_id)
            if not v.is_base and v.evaluation is not None and v.evaluation.status == "ok"
        )
        return OfferedRun(
            run=run,
            store_path=store_path,
            base=base.figures if base is not None else None,
            variants=pareto_variants(store, run),
            valid=valid,
        )


def latest_matching_run(
    file: Path, text: str, workspace_folders: Sequence[Path]
) -> OfferedRun | None:
    """The newest finished (or cancelled, with variants) run of `file`, if its base matches
    `text` (blocking: call in a thread)."""
    store_path = store_path_for(file, workspace_folders)
    if not store_path.is_file():  # never create a store just by opening a file
        return None
    try:
        current_hash = source_hash(text)
    except (GenomeError, RecursionError, MemoryError):
        return None  # text that does not parse (or nests too deep to) matches no run
    with RunStore(store_path, read_only=True) as store:
        runs = store.list_runs(file=run_file_key(file))
    for run in runs:
        if run.status in OFFERED_STATUSES:
            if run.base_hash != current_hash:
                return None  # the file moved on since its latest run
            offered = read_offered_run(store_path, run.id)
            if offered is not None and (offered.variants or not offered.cancelled):
                return offered
    return None


class Offers:
    """Which run each open document offers (by URI)."""

    def __init__(self) -> None:
        self._offered: dict[str, OfferedRun] = {}
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._looked_up: set[str] = set()  # the store is read once per opening, not per keystroke
        # per URI, the offered variants re-based onto one document version (code_actions):
        # code actions are asked on every cursor move
        self.rebased: dict[str, Any] = {}

    def offer(self, uri: str, run: OfferedRun) -> None:
        """Offer `run`'s variants on `uri` (a run that just ended replaces the previous one)."""
        loading = self._loading.pop(uri, None)
        if loading is not None:
            loading.cancel()
        self._offered[uri] = run

    def withdraw(self, uri: str) -> None:
        """Forget what `uri` offers (its document was closed)."""
        self._offered.pop(uri, None)
        self.rebased.pop(uri, None)
        self._looked_up.discard(uri)
        loading = self._loading.pop(uri, None)
        if loading is not None:
            loading.cancel()

    async def offered(self, uri: str) -> OfferedRun | None:
        """The run offered on `uri`, after any pending load from the store."""
        loading = self._loading.get(uri)
        if loading is not None:
            try:
                await asyncio.shield(loading)
            except asyncio.CancelledError:
                if not loading.cancelled():
                    raise
        return self._offered.get(uri)

    def load_latest(self, uri: str, text: str, workspace_folders: Sequence[Path]) -> None:
        """Look up the latest offered run of the file at `uri` in the background."""
        path = uri_to_path(uri)
        if path is None or uri in self._looked_up:
            return
        self._looked_up.add(uri)
        task = asyncio.ensure_future(self._load(uri, path, text, workspace_folders))
        self._loading[uri] = task
        task.add_done_callback(lambda _: self._loading.pop(uri, None))

    async def _load(
        self, uri: str, path: Path, text: str, workspace_folders: Sequence[Path]
    ) -> None:
        try:
            run = await asyncio.to_thread(latest_matching_run, path, text, workspace_folders)
        except (StoreError, OSError) as error:
            logger.warning("cannot read the run store for %s: %s", path, error)
            return
        if run is not None and uri not in self._offered:
            self._offered[uri] = run
