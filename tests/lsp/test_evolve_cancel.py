"""Cancelling a run: the client's Cancel button and the `nnevolve.cancel` command.

The run stops within seconds, no process of its group is left, and what it evaluated stays
in the run store with the run marked cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from evolve_support import (
    EditorClient,
    children_of,
    end_message,
    group_members,
    recorded_runs,
    start_editor,
    stop_editor,
    wait_for,
    write_workspace,
)
from lsprotocol import types

from nnevolve.store import RunStore

pytestmark = pytest.mark.slow

# far more than can finish before the test cancels it
LONG_BUDGET: dict[str, Any] = {"generations": 50, "population": 8}


def engine_group(client: EditorClient) -> tuple[int, list[int]]:
    """The evolve process the server started, and every process of its group."""
    (engine,) = children_of(client.server_pid)
    return engine, group_members(engine)


def evaluated_so_far(store_path: Path) -> int:
    runs = recorded_runs(store_path)
    return runs[0].counts.evaluated if runs else 0


async def test_the_cancel_button_stops_the_run_and_keeps_what_it_evaluated(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path, **LONG_BUDGET)
    store_path = tmp_path / ".nnevolve" / "runs.sqlite"
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        run = client.evolve(uri)
        await wait_for(
            lambda: evaluated_so_far(store_path) >= 1, 300, "a first evaluation", every=0.25
        )
        engine, members = engine_group(client)
        assert engine in members and len(members) >= 2  # the engine and its worker

        started = time.monotonic()
        client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=client.progress_token("Evolving Net"))
        )
        await wait_for(
            lambda: isinstance(client.progress_of("Evolving Net")[-1], types.WorkDoneProgressEnd),
            60,
            "the progress to end",
            every=0.02,
        )
        # the engine exits within a second of SIGTERM and its leftovers are killed at once
        ended = time.monotonic() - started
        assert ended < 1.5, f"the progress ended {ended:.2f} s after Cancel"
        result = await asyncio.wait_for(run, 60)

        assert result["status"] == "cancelled"
        assert group_members(engine) == [] and children_of(client.server_pid) == []
        assert end_message(client.progress_of("Evolving Net")).startswith("Cancelled")
        with RunStore(store_path) as store:
            (record,) = store.list_runs()
            assert record.id == result["run"] and record.status == "cancelled"
            kept = [v for v in store.variants(record.id) if v.evaluation is not None]
            assert len(kept) >= 2  # the seed network and at least one variant
        # the server is healthy and the document can be evolved again
        assert await client.hover(uri, 9, 20) is not None
    finally:
        await stop_editor(client)


async def test_the_cancel_command_stops_a_run_that_is_still_starting(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path, **LONG_BUDGET)
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        assert await client.execute("nnevolve.cancel", {"uri": uri}) == {"cancelled": False}
        assert any("No run is evolving model.py" in m.message for m in client.messages)

        run = client.evolve(uri)
        await wait_for(lambda: children_of(client.server_pid), 60, "the engine to start")
        engine, _ = engine_group(client)
        assert await client.execute("nnevolve.cancel", {"uri": uri}) == {"cancelled": True}
        result = await asyncio.wait_for(run, 60)
        assert result["status"] == "cancelled"
        assert group_members(engine) == []
    finally:
        await stop_editor(client)


async def test_shutting_the_server_down_stops_its_run(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path, **LONG_BUDGET)
    client = await start_editor(tmp_path)
    uri = client.open(model_file)
    run = client.evolve(uri)
    await wait_for(lambda: children_of(client.server_pid), 60, "the engine to start")
    engine, _ = engine_group(client)
    await stop_editor(client)
    run.cancel()
    await wait_for(lambda: not group_members(engine), 30, "the engine's group to end")


async def test_a_killed_server_takes_its_run_with_it(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path, **LONG_BUDGET)
    store_path = tmp_path / ".nnevolve" / "runs.sqlite"
    client = await start_editor(tmp_path)
    uri = client.open(model_file)
    run = client.evolve(uri)
    await wait_for(lambda: recorded_runs(store_path), 300, "the run to be recorded", every=0.5)
    engine, _ = engine_group(client)
    os.kill(client.server_pid, signal.SIGKILL)  # a crashed editor: no shutdown, no exit
    await wait_for(lambda: not group_members(engine), 30, "the orphaned run to stop")
    (record,) = recorded_runs(store_path)
    assert record.status == "cancelled"
    run.cancel()
    with contextlib.suppress(Exception):
        await client.stop()


async def test_a_cancel_while_the_variants_are_written_ends_as_finished_and_says_so(
    tmp_path: Path,
) -> None:
    model_file = write_workspace(tmp_path)  # the tiny budget: it reaches its end quickly
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        run = client.evolve(uri)

        def writing() -> bool:
            reports = client.progress_of("Evolving Net")
            return any(getattr(r, "message", None) == "writing the variants" for r in reports)

        await wait_for(writing, 300, "the variants to be written", every=0.01)
        client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=client.progress_token("Evolving Net"))
        )
        result = await asyncio.wait_for(run, 60)
        # the search had ended: the run is finished, its variants offered, and it says why the
        # cancel changed nothing (never "Finished" alone, as if the cancel had been lost)
        assert result["status"] == "finished"
        summary = end_message(client.progress_of("Evolving Net"))
        assert summary == result["message"]
        assert summary.startswith("Finished before the cancel took effect (the search had ended)")
        with RunStore(tmp_path / ".nnevolve" / "runs.sqlite") as store:
            (record,) = store.list_runs()
            assert record.status == "finished"
    finally:
        await stop_editor(client)


async def test_evolve_right_after_cancel_starts_once_the_cancelled_run_has_stopped(
    tmp_path: Path,
) -> None:
    model_file = write_workspace(tmp_path, **LONG_BUDGET)
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        first = client.evolve(uri)
        await wait_for(lambda: children_of(client.server_pid), 60, "the engine to start")
        await wait_for(lambda: client.progress_of("Evolving Net"), 60, "the progress")
        # the user cancels, then asks again at once: not "already evolving", but a new run
        client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=client.progress_token("Evolving Net"))
        )
        await wait_for(lambda: any(getattr(r, "message", None) == "cancelling…"
                                   for r in client.progress_of("Evolving Net")), 30, "cancelling")
        second = client.evolve(uri)
        assert (await asyncio.wait_for(first, 60))["status"] == "cancelled"
        await wait_for(lambda: len(children_of(client.server_pid)) == 1, 60, "the second run")
        assert await client.execute("nnevolve.cancel", {"uri": uri}) == {"cancelled": True}
        assert (await asyncio.wait_for(second, 60))["status"] == "cancelled"
        assert not any("already evolving" in m.message for m in client.messages)
    finally:
        await stop_editor(client)
