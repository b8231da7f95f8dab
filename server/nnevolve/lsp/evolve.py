"""Commands ``nnevolve.evolve`` and ``nnevolve.cancel``: a run with work-done progress.

The run is ``python -m nnevolve evolve ... --progress-jsonl`` in its own process group
(:mod:`nnevolve.lsp.evolve_process`); its JSON lines become progress reports on the
server's event loop. One run per document at a time. The run evolves the document's text
at the moment of the command (an unsaved text goes through a copy, see
:mod:`nnevolve.lsp.unsaved`); that text is the run's base, against which its variants are
later offered as code actions.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from nnevolve.config import ConfigError, load_config
from nnevolve.genome import GenomeError
from nnevolve.genome.model_spec import resolve_model
from nnevolve.lsp import diagnostics, figures, trust
from nnevolve.lsp.analysis_worker import examine
from nnevolve.lsp.code_lens import find_model_class, model_classes_of
from nnevolve.lsp.documents import AnalyzedDocument
from nnevolve.lsp.evolve_process import STOP_GRACE_S, EvolveProcess, engine_command
from nnevolve.lsp.evolve_request import EvolveRequest, RequestError, engine_arguments, parse_request
from nnevolve.lsp.offers import OfferedRun, read_offered_run, uri_to_path
from nnevolve.lsp.run_lenses import CANCEL_COMMAND, EVOLVE_COMMAND, RunningLens
from nnevolve.lsp.unsaved import record_run_under, saved_text, write_unsaved_copy
from nnevolve.store import RunStore, StoreError

if TYPE_CHECKING:
    from nnevolve.lsp.state import NnevolveLanguageServer

logger = logging.getLogger(__name__)


FINISHING_GRACE_S = 60.0  # a cancel while the variants are written waits this long for them


class RunFailed(Exception):
    """The run could not start or finish; the message says why, in the user's words."""


@dataclass
class ActiveRun:
    """A run in progress for one document."""

    uri: str
    model: str = ""
    token: str | None = None
    process: EvolveProcess | None = None
    run_id: str | None = None
    store_path: Path | None = None
    cancel_requested: bool = False
    last_progress: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None  # where the run is, as its notification says (figures.stage)
    released: asyncio.Event = field(default_factory=asyncio.Event)  # the document is free again


@dataclass(frozen=True)
class Failure:
    """Why the last run of a document's model class failed (shown as one diagnostic)."""

    model: str
    message: str
    line: int | None = None  # the line the reason names (a static check's rejection does)


_NAMED_LINE = re.compile(r"\bline (\d+)\b")


def named_line(message: str) -> int | None:
    """The first line a failure's words name (`... forward raised RuntimeError at line 12: ...`)."""
    match = _NAMED_LINE.search(message)
    return int(match.group(1)) if match else None


class Evolutions:
    """The server's runs: at most one per document, each in its own process group (made once,
    by :func:`register`, and kept by the handlers it registers)."""

    def __init__(self, server: NnevolveLanguageServer) -> None:
        self.server = server
        self.active: dict[str, ActiveRun] = {}
        self.failures: dict[str, Failure] = {}
        # an engine started ahead (torch imported, forkserver up) for the next run in its folder
        self.spare: EvolveProcess | None = None
        self.spare_watch: asyncio.Task[None] | None = None  # says when the spare is warm
        self.seen: set[str] = set()  # documents already looked at for a model to evolve
        self.closing = False

    # -- the command ------------------------------------------------------------------------

    async def evolve(self, request: EvolveRequest) -> dict[str, Any]:
        """Run the engine on the request's model class; answer when the run has ended."""
        uri = request.uri
        if uri in self.active and self.active[uri].cancel_requested:
            # "Evolve" right after "Cancel": the cancelled run is stopping; this one follows it
            await self.active[uri].released.wait()
        if uri in self.active:
            running = self.active[uri]
            message = (
                f"nnevolve is already evolving {running.model or 'a network'} in "
                f"{_name(uri)}: wait for it to finish or cancel it first."
            )
            self.show(types.MessageType.Warning, message)
            return {"started": False, "reason": message}
        run = ActiveRun(uri)
        self.active[uri] = run  # claimed before the first await: a second request sees it
        try:
            outcome = await self._evolve(run, request)
            self._release(run)  # the run is over for the user; its leftovers are not
            if run.process is not None:
                self.prepare(run.process.cwd)  # the next run in this folder starts warm
                await run.process.wait()  # the answer comes once no process of it is left
            return outcome
        finally:
            if run.process is not None and run.process.returncode is None:
                # the request itself was cancelled (shutdown): never leave a run behind
                await asyncio.shield(run.process.stop())
            self._release(run)

    def _release(self, run: ActiveRun) -> None:
        """The document has no run any more (a new one may start)."""
        if self.active.get(run.uri) is run:
            del self.active[run.uri]
            run.released.set()
            # after the progress's end and the run's offers: a lens asked for now is final
            self.server.lenses.show(run.uri, None)

    async def _evolve(self, run: ActiveRun, request: EvolveRequest) -> dict[str, Any]:
        try:
            path, document, model = await self._target(request)
        except RequestError as error:
            message = f"Cannot evolve: {error}"
            self.show(types.MessageType.Error, message)
            return {"started": False, "reason": message}
        run.model = model
        self._clear_failure(run.uri)
        await self._begin_progress(run)
        self._show_lens(run)  # with the progress's token: the lens's Cancel names the run
        try:
            outcome = await self._run_engine(run, request, path, document.source)
        except RunFailed as error:
            message = f"Evolving {model} failed: {error}"
            self._fail(run, message)
            return {"started": True, "run": run.run_id, "status": "failed", "message": message}
        return outcome

    async def _target(self, request: EvolveRequest) -> tuple[Path, AnalyzedDocument, str]:
        """The file, its analysed text at command time and the model class to evolve."""
        if not self.server.trusted:
            raise RequestError(trust.UNTRUSTED_REASON)
        path = uri_to_path(request.uri)
        if path is None:
            raise RequestError(f"{request.uri} is not a file on disk; save it first")
        document = await self.server.documents.analyzed(request.uri)
        if document is None:  # not open in the editor: evolve the file as saved
            text = await asyncio.to_thread(saved_text, path)
            if text is None:
                raise RequestError(f"cannot read {path}")
            examined = await asyncio.to_thread(examine, text)
            document = AnalyzedDocument.of(
                request.uri, None, text, examined, self.server.workspace.position_codec
            )
        if (too_large := document.too_large()) is not None:
            raise RequestError(f"{path.name}: {too_large}")
        if document.analysis.error is not None:
            raise RequestError(
                f"{path.name} has a syntax error on line {document.analysis.error.line}; fix it first"
            )
        names = [cls.name for cls in model_classes_of(document)]
        if not names:
            raise RequestError(f"{path.name} has no nn.Module subclass that builds layers")
        try:
            # a class, a factory or a call such as VGG('VGG11'); checked without running anything
            spec = resolve_model(document.source, request.model, analysis=document.analysis)
        except GenomeError as error:
            raise RequestError(f"{path.name}: {error}") from error
        return path, document, spec.expression

    async def _run_engine(
        self, run: ActiveRun, request: EvolveRequest, path: Path, text: str
    ) -> dict[str, Any]:
        try:
            config = load_config(path, self.server.workspace_folders())
            config = config.with_overrides(request.overrides)
        except ConfigError as error:
            raise RunFailed(str(error)) from error
        run.store_path = config.store_path
        file = path
        try:
            if await asyncio.to_thread(saved_text, path) != text:
                file = await asyncio.to_thread(write_unsaved_copy, config.root, path, text)
            if run.cancel_requested:
                return await self._cancelled(run)
            # the engine runs in the root (a file outside the workspace: a new cache folder)
            await asyncio.to_thread(config.root.mkdir, parents=True, exist_ok=True)
            args = engine_arguments(file, run.model, config, request.overrides)
            run.process = await self._engine(config.root)
            try:
                await run.process.launch(args)
            except OSError:  # it died while it warmed up: its exit status and stderr say why
                raise RunFailed(self._crash_reason(run, await run.process.wait())) from None
            if run.cancel_requested:  # cancelled while the process was starting
                await run.process.stop()
            result, error_message = await self._follow(run, file != path, path)
            # the engine stored the run's end before its last line: the outcome need not wait
            # for its process group to go (its teardown, then the workers', takes a while)
            code = 0 if result or error_message is not None else await run.process.wait()
        except OSError as error:
            raise RunFailed(f"the engine could not run: {error}") from error
        finally:
            if file != path:  # the run keeps its base text in the store; the copy is litter
                file.unlink(missing_ok=True)
        return await self._conclude(run, result, error_message, code)

    async def _follow(
        self, run: ActiveRun, copied: bool, path: Path
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Turn the run's JSON lines into progress; return its result and error messages."""
        assert run.process is not None
        result: dict[str, Any] | None = None
        error_message: str | None = None
        async for message in run.process.messages():
            event = message.get("event")
            if event == "started" and isinstance(message.get("run_id"), str):
                run.run_id = message["run_id"]
                if copied and run.store_path is not None:
                    try:
                        await asyncio.to_thread(record_run_under, run.store_path, run.run_id, path)
                    # the run goes on; only its reopening suffers
                    except (StoreError, sqlite3.Error) as error:
                        logger.warning("cannot record run %s under %s: %s", run.run_id, path, error)
            elif event == "progress":
                run.last_progress = message
                run.run_id = run.run_id or message.get("run_id")
                if message.get("phase") == "done":
                    continue  # the progress's end, with the run's summary, follows at once
                self._report(run, figures.progress_line(message), message.get("percent"))
                # the lens says what the notification says (a refresh only when that changed)
                run.stage = figures.stage(message)
                self._show_lens(run)
            elif event == "result":
                result = message
                break  # the last line: stdout stays open as long as the forkserver lives
            elif event == "error":
                error_message = str(message.get("message") or "")
                break
        return result, error_message

    async def _conclude(
        self, run: ActiveRun, result: dict[str, Any] | None, error_message: str | None, code: int
    ) -> dict[str, Any]:
        status = result.get("status") if result else None
        if status == "finished":
            # a cancel that came while the variants were written found the run done: it says so
            return await self._finished(run, late_cancel=run.cancel_requested)
        if status == "cancelled" or run.cancel_requested:
            return await self._cancelled(run)
        reason = (result or {}).get("error") or error_message or self._crash_reason(run, code)
        await self._settle_status(run, "failed", str(reason))
        raise RunFailed(str(reason))

    def _crash_reason(self, run: ActiveRun, code: int) -> str:
        assert run.process is not None
        tail = [line for line in run.process.stderr_tail() if line.strip()]
        last = tail[-1] if tail else ""
        return f"the engine stopped with exit status {code}" + (f": {last}" if last else "")

    async def _finished(self, run: ActiveRun, *, late_cancel: bool = False) -> dict[str, Any]:
        offered = None
        if run.run_id is not None and run.store_path is not None:
            offered = await asyncio.to_thread(read_offered_run, run.store_path, run.run_id)
        if offered is None:
            raise RunFailed("the run finished but its results are not in the run store")
        invalid = every_variant_invalid(offered)
        if invalid is not None:
            raise RunFailed(invalid)
        self.server.offers.offer(run.uri, offered)
        summary = run_summary(offered, LATE_CANCEL if late_cancel else "Finished")
        self._end_progress(run, summary)
        return {
            "started": True,
            "run": run.run_id,
            "status": "finished",
            "variants": len(offered.variants),
            "message": summary,
        }

    async def _cancelled(self, run: ActiveRun) -> dict[str, Any]:
        await self._settle_status(run, "cancelled", None)
        offered = None
        if run.run_id is not None and run.store_path is not None:
            try:
                offered = await asyncio.to_thread(read_offered_run, run.store_path, run.run_id)
            except (StoreError, OSError, sqlite3.Error) as error:
                logger.warning("cannot read the cancelled run %s: %s", run.run_id, error)
        kept = run.last_progress
        evaluated = int(kept.get("evaluated") or 0) + int(kept.get("failed") or 0)
        answer: dict[str, Any] = {"started": True, "run": run.run_id, "status": "cancelled"}
        if offered is not None and offered.variants:
            # what was found so far is offered as a finished run's variants are; a run
            # cancelled before it found anything leaves the previous run offered
            self.server.offers.offer(run.uri, offered)
            summary = run_summary(offered, "Cancelled")
            answer["variants"] = len(offered.variants)
        else:
            summary = (
                f"Cancelled: the {evaluated} variant{'' if evaluated == 1 else 's'} "
                "evaluated so far stay in the run store"
            )
        self._end_progress(run, summary)
        return {**answer, "message": summary}

    async def _settle_status(self, run: ActiveRun, status: str, error: str | None) -> None:
        """Give a run the engine could not close (killed, crashed) its final status."""
        if run.run_id is None or run.store_path is None or not run.store_path.is_file():
            return

        def settle(store_path: Path, run_id: str) -> None:
            with RunStore(store_path) as store:
                record = store.get_run(run_id)
                if record is not None and record.status == "running":
                    store.set_run_status(run_id, status, error)

        try:
            await asyncio.to_thread(settle, run.store_path, run.run_id)
        except (StoreError, OSError) as store_error:
            logger.warning("cannot record the end of run %s: %s", run.run_id, store_error)

    # -- engines started ahead --------------------------------------------------------------

    def prepare(self, root: Path) -> None:
        """Start an engine ahead for runs in `root` (replacing one for another folder), when
        the client asked for it (``initializationOptions.prestartEngine``) and the workspace
        is trusted (the engine runs from the workspace's folder)."""
        if self.closing or not self.server.prestart_engine or not self.server.trusted:
            return
        spare = self.spare
        if spare is not None and spare.cwd == root and spare.returncode is None:
            return
        self.spare = None
        if spare is not None:
            self.server.run_in_background(spare.stop())
        self.server.run_in_background(self._start_spare(root))

    async def _start_spare(self, root: Path) -> None:
        try:
            spare = await EvolveProcess.start(engine_command(), cwd=root)
        except OSError as error:
            logger.warning("cannot start an engine ahead in %s: %s", root, error)
            return
        if self.spare is not None or self.closing:  # another came first, or the server ends
            await spare.stop()
            return
        self.spare = spare
        self.spare_watch = self.server.run_in_background(self._say_when_warm(spare))

    async def _say_when_warm(self, spare: EvolveProcess) -> None:
        if await spare.warmed_up() and self.spare is spare:
            self.server.window_log_message(types.LogMessageParams(
                type=types.MessageType.Log,
                message=f"nnevolve: an engine is warm for runs in {spare.cwd}"))

    async def _engine(self, root: Path) -> EvolveProcess:
        """The run's engine: the one started ahead for its folder, else one started now."""
        spare, self.spare = self.spare, None
        watch, self.spare_watch = self.spare_watch, None
        if watch is not None:
            # the run reads the engine's output from here on: the watch must have let go of it
            watch.cancel()
            await asyncio.wait([watch])
        if spare is not None and spare.cwd == root and spare.returncode is None:
            return spare
        if spare is not None:
            self.server.run_in_background(spare.stop())
        return await EvolveProcess.start(engine_command(), cwd=root)

    def document_seen(self, uri: str) -> None:
        """A document opened or edited: the first time, an engine is started ahead for its
        folder if it holds a model to evolve."""
        if uri in self.seen or not self.server.prestart_engine:
            return
        self.seen.add(uri)
        self.server.run_in_background(self._prepare_for(uri))

    async def _prepare_for(self, uri: str) -> None:
        document = await self.server.documents.analyzed(uri)
        path = uri_to_path(uri)
        if document is None or path is None or not model_classes_of(document):
            return
        try:
            root = (await asyncio.to_thread(load_config, path,
                                             self.server.workspace_folders())).root
        except ConfigError:
            return  # evolving it would fail on its settings first
        if root.is_dir():  # a file outside the workspace gets its folder with its first run
            self.prepare(root)

    async def stop_spare(self) -> None:
        """The server ends: so does the engine started ahead."""
        self.closing = True
        spare, self.spare = self.spare, None
        if spare is not None:
            await spare.stop()

    # -- cancellation -----------------------------------------------------------------------

    async def cancel(self, uri: str) -> bool:
        """Stop the document's run and its workers; False when none is running."""
        run = self.active.get(uri)
        if run is None:
            return False
        run.cancel_requested = True
        self._report(run, "cancelling…", None)
        self._show_lens(run)
        if run.process is not None:
            # the search has ended: the engine finishes writing the variants (seconds, under
            # load more than the usual grace) and the run ends finished; it is not killed midway
            finishing = run.last_progress.get("phase") == "finishing"
            await run.process.stop(FINISHING_GRACE_S if finishing else STOP_GRACE_S)
        return True

    async def cancel_all(self) -> None:
        """Stop every run (the server is shutting down)."""
        await asyncio.gather(*(self.cancel(uri) for uri in list(self.active)))

    # -- progress, lens, messages, diagnostics ----------------------------------------------

    def _show_lens(self, run: ActiveRun) -> None:
        # a cancelling run's lens names no stage: later reports need no refresh
        stage = None if run.cancel_requested else run.stage
        self.server.lenses.show(
            run.uri, RunningLens(run.model, stage, run.cancel_requested, run.token))

    async def _begin_progress(self, run: ActiveRun) -> None:
        capabilities = self.server.client_capabilities.window
        if not (capabilities and capabilities.work_done_progress):
            return
        token = f"nnevolve-evolve-{uuid.uuid4()}"
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception as error:  # noqa: BLE001 - a client that refuses gets no progress bar
            logger.warning("the client refused a progress token: %s", error)
            return
        run.token = token
        self.server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=f"Evolving {run.model}",
                cancellable=True,
                message="starting",
                percentage=0,
            ),
        )
        cancelled = self.server.work_done_progress.tokens.get(token)
        if cancelled is not None:
            loop = asyncio.get_running_loop()
            # the client's Cancel button cancels this future (pygls, on the event loop)
            cancelled.add_done_callback(
                lambda future: (
                    future.cancelled()
                    and loop.call_soon_threadsafe(self._cancel_from_client, run.uri, token)
                )
            )

    def _cancel_from_client(self, uri: str, token: str) -> None:
        run = self.active.get(uri)
        if run is not None and run.token == token:
            self.server.run_in_background(self.cancel(uri))

    def _report(self, run: ActiveRun, message: str, percent: Any) -> None:
        if run.token is None:
            return
        percentage = int(percent) if isinstance(percent, (int, float)) else None
        self.server.work_done_progress.report(
            run.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def _end_progress(self, run: ActiveRun, message: str) -> None:
        if run.token is None:
            self.show(types.MessageType.Info, message)
            return
        self.server.work_done_progress.end(run.token, types.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(run.token, None)
        run.token = None

    def _fail(self, run: ActiveRun, message: str) -> None:
        self._end_progress(run, message)
        self.show(types.MessageType.Error, message)
        self.failures[run.uri] = Failure(run.model, message, named_line(message))
        diagnostics.refresh(self.server, run.uri)

    def forget(self, uri: str) -> None:
        """The document was closed: its failure is no longer shown."""
        self.failures.pop(uri, None)
        self.seen.discard(uri)

    def _clear_failure(self, uri: str) -> None:
        if self.failures.pop(uri, None) is not None:
            diagnostics.refresh(self.server, uri)

    def failure_diagnostics(self, document: AnalyzedDocument) -> list[types.Diagnostic]:
        """The last failed run of the document, as one diagnostic on the line its reason names
        (the model class line when it names none)."""
        failure = self.failures.get(document.uri)
        if failure is None:
            return []
        cls = find_model_class(document, failure.model)
        line, col = (cls.line, cls.col) if cls is not None else (1, 0)
        if failure.line is not None and 1 <= failure.line <= len(document.lines):
            text = document.lines[failure.line - 1]
            line, col = failure.line, len(text) - len(text.lstrip())
        return [
            types.Diagnostic(
                range=types.Range(start=document.position(line, col), end=document.line_end(line)),
                message=failure.message,
                severity=types.DiagnosticSeverity.Warning,
                source=diagnostics.SOURCE,
                code="evolve-failed",
            )
        ]

    def show(self, kind: types.MessageType, message: str) -> None:
        self.server.window_show_message(types.ShowMessageParams(type=kind, message=message))


# the summary's first words when the cancel came after the search had ended
LATE_CANCEL = "Finished before the cancel took effect (the search had ended)"


def every_variant_invalid(offered: OfferedRun) -> str | None:
    """Why a finished run is a failure all the same: not one variant trained; else None."""
    if offered.valid > 0:
        return None
    counts = offered.run.counts
    return (
        f"every variant was invalid ({counts.rejected} rejected by the static check, "
        f"{counts.failed} failed to train)"
    )


def run_summary(offered: OfferedRun, ending: str = "Finished") -> str:
    """``Finished: 3 Pareto-optimal variants · best 98.2% (+0.4) · smallest 9,114 params (−69%)``
    (``Cancelled: ...`` for what a cancelled run found)."""
    variants = offered.variants
    if not variants:
        return f"{ending}: no variant beats the original network on any objective"
    base = offered.base
    best = max(variants, key=lambda v: v.accuracy or 0.0)
    smallest = min(variants, key=lambda v: v.params or 0)
    parts = [f"{ending}: {len(variants)} Pareto-optimal variant{'' if len(variants) == 1 else 's'}"]
    if best.accuracy is not None:
        parts.append(
            "best "
            + figures.accuracy(best.accuracy)
            + figures.accuracy_change(best.accuracy, base.accuracy if base else None)
        )
    if smallest.params is not None:
        parts.append(
            "smallest "
            + figures.params(smallest.params)
            + figures.relative_change(smallest.params, base.params if base else None)
        )
    return " · ".join(parts) + " — apply one from the code actions on " + offered.run.class_name


def finished_summary(offered: OfferedRun) -> str:
    """The summary of a finished run (see :func:`run_summary`)."""
    return run_summary(offered, "Finished")


def _name(uri: str) -> str:
    path = uri_to_path(uri)
    return path.name if path is not None else uri


def register(server: NnevolveLanguageServer) -> None:
    """Commands ``nnevolve.evolve`` and ``nnevolve.cancel``; stop runs on shutdown."""
    registry = Evolutions(server)
    server.diagnostic_sources.append(registry.failure_diagnostics)

    @server.command(EVOLVE_COMMAND)
    async def evolve_command(ls: LanguageServer, *arguments: Any) -> dict[str, Any]:
        try:
            request = parse_request(arguments)
        except RequestError as error:
            message = f"nnevolve.evolve {error}"
            registry.show(types.MessageType.Error, message)
            return {"started": False, "reason": message}
        return await registry.evolve(request)

    @server.command(CANCEL_COMMAND)
    async def cancel_command(ls: LanguageServer, *arguments: Any) -> dict[str, Any]:
        argument = arguments[0] if len(arguments) == 1 else None
        uri = argument.get("uri") if isinstance(argument, dict) else argument
        if not isinstance(uri, str):
            return {"cancelled": False, "reason": 'expects one argument: {"uri": ...}'}
        cancelled = await registry.cancel(uri)
        if not cancelled:
            registry.show(types.MessageType.Info, f"No run is evolving {_name(uri)}.")
        return {"cancelled": cancelled}

    @server.feature(types.SHUTDOWN)
    async def stop_runs(ls: LanguageServer, *_: Any) -> None:
        server.lenses.closing = True
        await asyncio.gather(registry.cancel_all(), registry.stop_spare())

    server.documents.when_changed(registry.document_seen)
    server.documents.when_closed(registry.forget)
