"""The process context of every engine subprocess that runs user code with torch."""

from __future__ import annotations

import multiprocessing

from nnevolve.forkserver_guard import become_owner


def torch_process_context() -> multiprocessing.context.BaseContext:
    """Forkserver with torch preloaded where available, else spawn; never plain fork.

    Plain fork would copy this process's threads' locks; the forkserver is a fresh
    single-threaded process, so forking from it is safe and takes ~0.1 s instead of the
    ~3-5 s a spawned process spends importing torch. Evaluation workers and the static
    checker share it, so a replaced checker is ready at once too.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    become_owner()  # a forkserver started from here dies with this process
    # a no-op if this process's forkserver already runs (started elsewhere without preload);
    # the guard first: it watches this process while torch is still importing
    context.set_forkserver_preload(["nnevolve.forkserver_guard", "nnevolve.evaluation.preload"])
    return context


def start_forkserver() -> None:
    """Start the forkserver now, so that it imports torch while this process goes on loading
    the engine and the dataset (its first fork would otherwise wait for that, seconds)."""
    context = torch_process_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
