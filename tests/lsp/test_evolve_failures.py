"""Runs that cannot start or finish: a clear message, one diagnostic, a healthy server."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from evolve_support import (
    MODEL,
    EditorClient,
    children_of,
    end_message,
    group_members,
    hover_text,
    recorded_runs,
    start_editor,
    stop_editor,
    wait_for,
    write_workspace,
)
from lsprotocol import types

from nnevolve.store import RunStore

pytestmark = pytest.mark.slow

CLASS_LINE = MODEL.splitlines().index("class Net(nn.Module):")
FC1_LINE = MODEL.splitlines().index("        self.fc1 = nn.Linear(64, 32)")


async def evolve_and_fail(client: EditorClient, uri: str, **overrides: object) -> dict:
    result = await asyncio.wait_for(
        client.execute("nnevolve.evolve", {"uri": uri, "overrides": overrides}), 300
    )
    assert result["status"] == "failed"
    return result


async def failure_diagnostic(
    client: EditorClient, uri: str, line: int = CLASS_LINE
) -> types.Diagnostic:
    """The one diagnostic a failed run leaves, on the model class line unless its reason
    names another (0-based `line`)."""
    version = client.versions[uri]
    await wait_for(
        lambda: any(
            p.uri == uri and p.version == version and p.diagnostics for p in client.published
        ),
        30,
        "the failure diagnostic",
    )
    (diagnostic,) = await client.diagnostics_for(uri, version)
    assert diagnostic.code == "evolve-failed" and diagnostic.source == "nnevolve"
    assert diagnostic.range.start.line == diagnostic.range.end.line == line
    return diagnostic


async def assert_healthy(client: EditorClient, uri: str) -> None:
    assert "connection layer" in hover_text(await client.hover(uri, FC1_LINE, 20))
    # nothing left running (the hover may list the file's sites: a child that ends by itself)
    await wait_for(lambda: children_of(client.server_pid) == [], 150, "no child processes")


@pytest.fixture
async def editor(tmp_path: Path):
    client = await start_editor(tmp_path)
    yield client
    await stop_editor(client)


async def test_a_dataset_that_cannot_be_loaded_ends_with_its_reason(
    tmp_path: Path, editor: EditorClient
) -> None:
    uri = editor.open(write_workspace(tmp_path))
    result = await evolve_and_fail(editor, uri, dataset="npz:no-such-file.npz")
    assert "no-such-file.npz" in result["message"]
    assert "no-such-file.npz" in end_message(editor.progress_of("Evolving Net"))
    assert any(
        m.type == types.MessageType.Error and "no-such-file.npz" in m.message
        for m in editor.messages
    )
    diagnostic = await failure_diagnostic(editor, uri)
    assert diagnostic.message.startswith("Evolving Net failed: ")
    assert "no-such-file.npz" in diagnostic.message
    await assert_healthy(editor, uri)

    # merged with the syntax error's diagnostic, never replacing it
    broken = editor.set_text(uri, MODEL.replace("return self.fc2(", "return self.fc2(("))
    await wait_for(
        lambda: any(
            p.uri == uri and p.version == broken and len(p.diagnostics) == 2
            for p in editor.published
        ),
        30,
        "both diagnostics",
    )
    editor.close(uri)


async def test_a_model_that_cannot_be_built_fails_with_the_reason(
    tmp_path: Path, editor: EditorClient
) -> None:
    unbuildable = MODEL.replace("def __init__(self):", "def __init__(self, width=None):").replace(
        "nn.Linear(64, 32)", "nn.Linear(64, width)")
    uri = editor.open(write_workspace(tmp_path, model=unbuildable))
    result = await evolve_and_fail(editor, uri)
    assert "cannot be built" in result["message"] and "line 10" in result["message"]
    diagnostic = await failure_diagnostic(editor, uri, line=9)  # on the offending line
    assert "cannot be built" in diagnostic.message
    with RunStore(tmp_path / ".nnevolve" / "runs.sqlite") as store:
        (run,) = store.list_runs()
        assert run.status == "failed" and "cannot be built" in (run.error or "")
    await assert_healthy(editor, uri)


async def test_a_model_that_cannot_be_built_is_reported_within_seconds_by_a_warm_engine(
    tmp_path: Path,
) -> None:
    unbuildable = MODEL.replace("def __init__(self):", "def __init__(self, width=None):").replace(
        "nn.Linear(64, 32)", "nn.Linear(64, width)")
    client = await start_editor(tmp_path, options={"prestartEngine": True})
    try:
        uri = client.open(write_workspace(tmp_path, model=unbuildable))
        # opening a model file starts an engine for its folder ahead of any run
        (spare,) = await wait_for(lambda: children_of(client.server_pid), 60, "an engine ahead")
        await wait_for(lambda: any("an engine is warm for runs in" in m.message
                                   for m in client.log_messages), 600, "the engine to warm up")
        started = time.monotonic()
        run = client.evolve(uri)
        engines: set[int] = set()
        while not (client.progress_of("Evolving Net")
                   and isinstance(client.progress_of("Evolving Net")[-1], types.WorkDoneProgressEnd)):
            engines.update(children_of(client.server_pid))
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        result = await asyncio.wait_for(run, 60)
        assert result["status"] == "failed" and "cannot be built" in result["message"]
        # the engine started ahead ran the check (no torch start-up in between): seconds,
        # where a cold engine spends 5-20 s importing torch alone
        assert spare in engines
        assert elapsed < 10, f"the failure came {elapsed:.1f} s after the request"
        # one notification: the error, no info toast beside it
        shown = [m for m in client.messages if m.type != types.MessageType.Log]
        assert [m.type for m in shown] == [types.MessageType.Error], shown
        await failure_diagnostic(client, uri, line=9)
        # the spare was used up by the run; the next run gets a fresh one
        (fresh,) = await wait_for(lambda: children_of(client.server_pid), 60, "a fresh engine")
        assert fresh != spare
    finally:
        await stop_editor(client)


async def test_a_run_asked_for_while_the_engine_ahead_warms_up_takes_it(tmp_path: Path) -> None:
    unbuildable = MODEL.replace("nn.Linear(64, 32)", "nn.Linear(64, None)")
    client = await start_editor(tmp_path, options={"prestartEngine": True})
    try:
        uri = client.open(write_workspace(tmp_path, model=unbuildable))
        (spare,) = await wait_for(lambda: children_of(client.server_pid), 60, "an engine ahead")
        run = client.evolve(uri)
        assert not any("engine is warm" in m.message for m in client.log_messages)
        # the server stops watching for "ready" before the run reads the engine's output
        result = await asyncio.wait_for(run, 300)
        assert result["status"] == "failed" and "cannot be built" in result["message"]
        assert not any("engine is warm" in m.message for m in client.log_messages)
    finally:
        await stop_editor(client)


async def test_a_model_that_needs_arguments_is_refused_at_once_with_the_fix(
    tmp_path: Path, editor: EditorClient
) -> None:
    needs = MODEL.replace("def __init__(self):", "def __init__(self, width):")
    uri = editor.open(write_workspace(tmp_path, model=needs))
    result = await asyncio.wait_for(editor.execute("nnevolve.evolve", {"uri": uri}), 60)
    assert result["started"] is False
    assert 'Net needs an argument (width): pass it: --model "Net(width=...)"' in result["reason"]
    given = await asyncio.wait_for(
        editor.execute("nnevolve.evolve", {"uri": uri, "model": "Net(width=16)",
                                           "overrides": {"generations": 0}}), 60)
    assert "generations" in given["message"]  # the expression was accepted; the setting was not
    await assert_healthy(editor, uri)


async def test_a_rejected_network_is_one_error_on_the_line_the_check_names(
    tmp_path: Path, editor: EditorClient
) -> None:
    bad = "        return self.fc2(self.act(self.fc1(self.flatten(x))).view(7, -1, 3))"
    unbuildable = MODEL.replace(
        "        return self.fc2(self.act(self.fc1(self.flatten(x))))", bad
    )
    uri = editor.open(write_workspace(tmp_path, model=unbuildable))
    result = await evolve_and_fail(editor, uri)
    line = unbuildable.splitlines().index(bad)
    assert f"line {line + 1}" in result["message"]
    diagnostic = await failure_diagnostic(editor, uri, line)
    assert diagnostic.range.start.character == len(bad) - len(bad.lstrip())
    # one notification: the error (the client shows the progress's end only for results)
    errors = [m for m in editor.messages if m.type == types.MessageType.Error]
    assert [m.message for m in errors] == [result["message"]]
    assert end_message(editor.progress_of("Evolving Net")) == result["message"]
    await assert_healthy(editor, uri)


async def test_a_bad_setting_fails_before_any_process_starts(
    tmp_path: Path, editor: EditorClient
) -> None:
    uri = editor.open(write_workspace(tmp_path))
    result = await evolve_and_fail(editor, uri, generations=0)
    assert "'generations' must be a positive integer" in result["message"]
    await failure_diagnostic(editor, uri)
    await assert_healthy(editor, uri)


async def test_an_engine_that_dies_mid_run_is_reported_and_recorded(
    tmp_path: Path, editor: EditorClient
) -> None:
    uri = editor.open(write_workspace(tmp_path, generations=50, population=8))
    run = editor.evolve(uri)
    store_path = tmp_path / ".nnevolve" / "runs.sqlite"
    await wait_for(lambda: recorded_runs(store_path), 300, "the run to be recorded", every=0.5)
    (engine,) = children_of(editor.server_pid)
    os.kill(engine, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    result = await asyncio.wait_for(run, 60)
    assert result["status"] == "failed"
    assert "exit status -9" in result["message"]
    await failure_diagnostic(editor, uri)
    await wait_for(lambda: not group_members(engine), 30, "the workers to die with the engine")
    with RunStore(store_path) as store:
        (record,) = store.list_runs()
        assert record.status == "failed" and "exit status -9" in (record.error or "")
    await assert_healthy(editor, uri)


async def test_a_file_with_a_syntax_error_offers_no_lens_and_runs_nothing(
    tmp_path: Path, editor: EditorClient
) -> None:
    broken = MODEL.replace("def forward(self, x):", "def forward(self, x)")
    uri = editor.open(write_workspace(tmp_path, model=broken))
    assert await editor.code_lenses(uri) == []
    result = await editor.execute("nnevolve.evolve", {"uri": uri})
    assert result["started"] is False and "syntax error on line 14" in result["reason"]
    assert editor.progress_reports == {}
    # fixed, the lens is back
    editor.set_text(uri, MODEL)
    lenses = await editor.code_lenses(uri)
    assert [lens.range.start.line for lens in lenses] == [CLASS_LINE]


async def test_unusable_requests_get_a_message_and_start_nothing(
    tmp_path: Path, editor: EditorClient
) -> None:
    uri = editor.open(write_workspace(tmp_path))
    unknown = await editor.execute("nnevolve.evolve", {"uri": uri, "model": "Missing"})
    assert unknown["started"] is False
    assert "no model class 'Missing'" in unknown["reason"] and "Net" in unknown["reason"]
    no_uri: Any = await editor.workspace_execute_command_async(
        types.ExecuteCommandParams(command="nnevolve.evolve", arguments=[])
    )
    assert no_uri["started"] is False
    not_a_file = await editor.execute("nnevolve.evolve", {"uri": "untitled:Untitled-1"})
    assert not_a_file["started"] is False and "not a file on disk" in not_a_file["reason"]
    assert editor.progress_reports == {}
    assert len([m for m in editor.messages if m.type == types.MessageType.Error]) == 3
    await assert_healthy(editor, uri)
