"""Where analyses run: a thread for ordinary files, a child process for very large ones.

An analysis here is the line-type analysis plus the document's evolvable classes
(:class:`Examined`): both parse the whole text, so neither may run on the event loop.

``ast.parse`` holds the GIL for its whole run (about half a second for 20,000 lines), so
even from a thread it would freeze the event loop that reads the client's messages; a child
process keeps the server answering other requests meanwhile. Ordinary files parse in
milliseconds and are not worth the trip.

The child (``python -m nnevolve.lsp.analysis_worker``) reads sources from its stdin and
writes pickled analyses to its stdout, and ends when its stdin closes — so it also ends
with a server that is killed outright, which a multiprocessing pool does not.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import os
import pickle
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from nnevolve.analysis import Analysis, analyze
from nnevolve.genome.model_spec import model_factories
from nnevolve.genome.model_classes import LAYER_TYPES, layer_building_classes

logger = logging.getLogger(__name__)

LARGE_SOURCE_CHARS = 200_000  # about 5,000 lines: parsing it in-process would stall ~0.15 s
# Above this, evolve features say "too large" (no model file is near it; the engine would take
# minutes per variant, and the class search would parse megabytes on every edit).
EVOLVE_MAX_CHARS = 1_000_000
_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class ModelClass:
    """A class of the document that the engine can evolve, with its 1-based line span."""

    name: str
    line: int  # the `class` keyword's line (decorators excluded)
    end_line: int
    col: int


@dataclass(frozen=True)
class Examined:
    """What the server knows of one text: its line types and its evolvable classes."""

    analysis: Analysis
    classes: tuple[ModelClass, ...] = ()


_NOTHING = Examined(Analysis(items=(), error=None))


def isolated_module_command(module: str) -> list[str]:
    """``python -m module`` without the working directory on ``sys.path``.

    ``-m`` puts the working directory first on ``sys.path``, where a file named like a module
    Python imports (``difflib.py``) would run; ``-P`` does that job only from Python 3.11.
    """
    bootstrap = (
        "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
        f"import runpy; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", bootstrap]


def model_classes_in(source: str, analysis: Analysis) -> tuple[ModelClass, ...]:
    """The evolvable classes of ``source``: none in a broken, layer-less or too large text."""
    if (
        analysis.error is not None
        or analysis.stale
        or len(source) > EVOLVE_MAX_CHARS
        or not any(item.type in LAYER_TYPES for item in analysis.items)
    ):
        return ()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found = [
        ModelClass(node.name, node.lineno, node.end_lineno or node.lineno, node.col_offset)
        for node in layer_building_classes(tree, analysis)
    ]
    # factory functions that build one of the file's models with no arguments: `def ResNet18()`
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in model_factories(tree):
        node = functions[name]
        if not any(a.default is None for a in _required(node)):
            found.append(ModelClass(name, node.lineno, node.end_lineno or node.lineno,
                                    node.col_offset))
    return tuple(sorted(found, key=lambda m: m.line))


def _required(function: ast.FunctionDef) -> list[ast.arg]:
    """Wrapped so each positional parameter without a default reads ``default is None``."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    return [_Param(a, d) for a, d in zip(positional, defaults)] + [
        _Param(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]


@dataclass(frozen=True)
class _Param:
    arg: ast.arg
    default: ast.expr | None


def examine(source: str) -> Examined:
    """:func:`nnevolve.analysis.analyze` and the evolvable classes; never raises."""
    try:
        analysis = analyze(source)
        return Examined(analysis, model_classes_in(source, analysis))
    except Exception:  # the analysis promises not to raise; the server must survive if it does
        logger.exception("analysis failed on a %d-character source", len(source))
        return _NOTHING


class AnalysisWorker:
    """Examines sources one at a time: small ones in a thread, large ones in a child process."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnevolve-analysis")
        self._child: asyncio.subprocess.Process | None = None
        self._child_lock = asyncio.Lock()  # one source in flight per child

    async def examine(self, source: str) -> Examined:
        """What :func:`examine` finds in ``source``; never raises, even if the child dies."""
        if len(source) < LARGE_SOURCE_CHARS:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, examine, source)
        async with self._child_lock:
            try:
                return await self._analyze_in_child(source)
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError):
                logger.exception(
                    "the analysis process failed on a %d-character source", len(source)
                )
                self._stop_child()  # the next large source gets a fresh child
                return _NOTHING

    async def _analyze_in_child(self, source: str) -> Examined:
        if self._child is None or self._child.returncode is not None:
            self._child = await asyncio.create_subprocess_exec(
                *isolated_module_command("nnevolve.lsp.analysis_worker"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        child = self._child
        assert child.stdin is not None and child.stdout is not None
        data = source.encode("utf-8", "surrogatepass")  # lone surrogates are text too
        child.stdin.write(_LENGTH.pack(len(data)) + data)
        await child.stdin.drain()
        (size,) = _LENGTH.unpack(await child.stdout.readexactly(_LENGTH.size))
        examined = pickle.loads(await child.stdout.readexactly(size))
        if not isinstance(examined, Examined):
            raise pickle.UnpicklingError(f"the analysis process sent {type(examined).__name__}")
        return examined

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
    """The child's loop: a length-prefixed source in, a length-prefixed pickled
    :class:`Examined` out."""
    while header := sources.read(_LENGTH.size):
        if len(header) < _LENGTH.size:
            return
        (size,) = _LENGTH.unpack(header)
        source = sources.read(size).decode("utf-8", "surrogatepass")
        data = pickle.dumps(examine(source), protocol=pickle.HIGHEST_PROTOCOL)
        analyses.write(_LENGTH.pack(len(data)) + data)
        analyses.flush()


if __name__ == "__main__":
    # The analyses travel on the original stdout; anything else printed goes to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # run as a script this file is `__main__`: pickle the importable module's classes
    from nnevolve.lsp import analysis_worker

    analysis_worker.serve(sys.stdin.buffer, channel)
