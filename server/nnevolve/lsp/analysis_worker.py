"""Where analyses run: a thread for ordinary files, a child process for very large ones.

``ast.parse`` holds the GIL for its whole run (about half a second for 20,000 lines), so
even from a thread it would freeze the event loop that reads the client's messages; a child
process keeps the server answering other requests meanwhile. Ordinary files parse in
milliseconds and are not worth the trip.

The child (``python -m nnevolve.lsp.analysis_worker``) reads sources from its stdin and
writes pickled analyses to its stdout, and ends when its stdin closes — so it also ends
with a server that is killed outright, which a multiprocessing pool does not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from nnevolve.analysis import Analysis, analyze

logger = logging.getLogger(__name__)

LARGE_SOURCE_CHARS = 200_000  # about 5,000 lines: parsing it in-process would stall ~0.15 s
_NOTHING = Analysis(items=(), error=None)
_LENGTH = struct.Struct("<Q")


def safe_analyze(source: str) -> Analysis:
    """:func:`nnevolve.analysis.analyze`, with no items rather than an exception."""
    try:
        return analyze(source)
    except Exception:  # the analysis promises not to raise; the server must survive if it does
        logger.exception("analysis failed on a %d-character source", len(source))
        return _NOTHING


class AnalysisWorker:
    """Runs analyses one at a time: small sources in a thread, large ones in a child process."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnevolve-analysis")
        self._child: asyncio.subprocess.Process | None = None
        self._child_lock = asyncio.Lock()  # one source in flight per child

    async def analyze(self, source: str) -> Analysis:
        """The analysis of ``source``; never raises, even if the child process dies."""
        if len(source) < LARGE_SOURCE_CHARS:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, safe_analyze, source)
        async with self._child_lock:
            try:
                return await self._analyze_in_child(source)
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError):
                logger.exception(
                    "the analysis process failed on a %d-character source", len(source)
                )
                self._stop_child()  # the next large source gets a fresh child
                return _NOTHING

    async def _analyze_in_child(self, source: str) -> Analysis:
        if self._child is None or self._child.returncode is not None:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "nnevolve.lsp.analysis_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        child = self._child
        assert child.stdin is not None and child.stdout is not None
        data = source.encode("utf-8", "surrogatepass")  # lone surrogates are text too
        child.stdin.write(_LENGTH.pack(len(data)) + data)
        await child.stdin.drain()
        (size,) = _LENGTH.unpack(await child.stdout.readexactly(_LENGTH.size))
        analysis = pickle.loads(await child.stdout.readexactly(size))
        if not isinstance(analysis, Analysis):
            raise pickle.UnpicklingError(f"the analysis process sent {type(analysis).__name__}")
        return analysis

    def _stop_child(self) -> None:
        if self._child is not None and self._child.returncode is None:
            self._child.kill()
        self._child = None

    def shutdown(self) -> None:
        """Stop the thread and the child process; queued analyses are dropped."""
        self._thread.shutdown(wait=False, cancel_futures=True)
        if self._child is not None and self._child.stdin is not None:
            try:
                self._child.stdin.close()  # end of input: the child exits
            except RuntimeError:  # the loop is already closed: our exit closes the pipe anyway
                pass


def serve(sources: BinaryIO, analyses: BinaryIO) -> None:
    """The child's loop: a length-prefixed source in, a length-prefixed pickled analysis out."""
    while header := sources.read(_LENGTH.size):
        if len(header) < _LENGTH.size:
            return
        (size,) = _LENGTH.unpack(header)
        source = sources.read(size).decode("utf-8", "surrogatepass")
        data = pickle.dumps(safe_analyze(source), protocol=pickle.HIGHEST_PROTOCOL)
        analyses.write(_LENGTH.pack(len(data)) + data)
        analyses.flush()


if __name__ == "__main__":
    # The analyses travel on the original stdout; anything else printed goes to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, channel)
