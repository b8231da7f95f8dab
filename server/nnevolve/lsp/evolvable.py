"""Which lines of a document evolution may edit, as ``nnevolve sites`` lists them.

Listing them builds the model once (on the meta device): user code runs, so only in a trusted
workspace, and never on the event loop or on a keystroke: the first hover on a saved model
file starts ``nnevolve sites FILE --json`` in a child process (isolated: the workspace is not
on its ``sys.path``); later hovers on the same text add "evolvable for <model>" to a line's
hover, also on configuration entries, which have no line type of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnevolve.lsp.analysis_worker import isolated_module_command
from nnevolve.lsp.offers import uri_to_path
from nnevolve.lsp.unsaved import saved_text

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument

logger = logging.getLogger(__name__)

LISTING_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class EvolvableLines:
    """The listing of one text: the model it is for and what each listed line holds."""

    model: str
    lines: dict[int, str]  # 1-based line -> what is evolvable there ("layer", "config entry ...")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _words(item: dict) -> str:
    kind = item.get("kind")
    if kind == "config":
        return f"config entry of {item.get('owner')}"
    if kind == "call":
        return f"argument of {str(item.get('owner', '')).split(' ')[0]}"
    if kind == "block":
        return f"{item.get('type')} built by the model"
    instances = item.get("instances") or 0
    return f"layer line{f', built {instances}×' if instances > 1 else ''}"


class Evolvable:
    """Per document text: the evolvable lines once listed, and the listing in flight."""

    def __init__(
        self, background: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]
    ) -> None:
        self.background = background  # the server's run_in_background
        self.done: dict[str, EvolvableLines | None] = {}  # text digest -> listing (None: failed)
        self.running: dict[str, asyncio.Task[None]] = {}
        self.processes: set[asyncio.subprocess.Process] = set()

    def lines_for(self, document: AnalyzedDocument) -> EvolvableLines | None:
        """The listing of this exact text, starting one when the file is saved as it is (the
        caller checks that the workspace is trusted: listing runs the model's code)."""
        if not document.classes or document.too_large():
            return None
        digest = _digest(document.source)
        if digest in self.done:
            return self.done[digest]
        if digest not in self.running:
            path = uri_to_path(document.uri)
            if path is not None:
                task = self.background(self._list(path, document.source, digest))
                self.running[digest] = task
                task.add_done_callback(lambda _t: self.running.pop(digest, None))
        return None

    async def _list(self, path: Path, text: str, digest: str) -> None:
        if await asyncio.to_thread(saved_text, path) != text:
            return  # unsaved edits: the listing would be of another text (tried again later)
        command = [*isolated_module_command("nnevolve"), "sites", str(path), "--json"]
        try:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                stdin=asyncio.subprocess.DEVNULL, cwd=str(path.parent), start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
            self.processes.add(process)
        except OSError:
            logger.exception("cannot list the sites of %s", path)
            self.done[digest] = None
            return
        try:
            out, _ = await asyncio.wait_for(process.communicate(), LISTING_TIMEOUT_S)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            self.done[digest] = None
            return
        finally:
            self.processes.discard(process)
        self.done[digest] = _parse(out)

    def close(self) -> None:
        """Stop the listings in flight with the server (they run the user's model code)."""
        for process in list(self.processes):
            try:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: its children go too
            except (ProcessLookupError, PermissionError):
                pass
        for task in list(self.running.values()):
            task.cancel()


def _parse(out: bytes) -> EvolvableLines | None:
    try:
        listing = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(listing, dict) or not listing.get("traced") or "sites" not in listing:
        return None
    lines: dict[int, str] = {}
    for item in listing["sites"]:
        if isinstance(item, dict) and isinstance(item.get("line"), int) and not item.get("file"):
            lines.setdefault(item["line"], _words(item))  # the training script's lines are not here
    return EvolvableLines(str(listing.get("model", "")), lines)
