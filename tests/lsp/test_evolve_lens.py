"""The code lens follows a run: "Evolve this network" before, "Evolving Net… — Cancel" during
(with ``workspace/codeLens/refresh`` when the client supports it), back after the run ends.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from evolve_support import (
    MODEL,
    EditorClient,
    end_message,
    start_editor,
    stop_editor,
    write_workspace,
)
from lsprotocol import types
from pytest_lsp import client_capabilities

pytestmark = pytest.mark.slow

# a second model class: it must not offer a second run while Net evolves
TWO_MODELS = (
    MODEL
    + '''

class Wide(nn.Module):
    """One linear layer."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.flatten(x))
'''
)
# the stage is the notification's: the phase's words, or the generation during the search
RUNNING = re.compile(r"\$\(sync~spin\) Evolving Net…( · [^—]+)? — Cancel")
IDLE = "Evolve this network"


def class_lines(text: str) -> dict[int, str]:
    """0-based line → name of each top-level class of `text`."""
    return {
        number: match.group(1)
        for number, line in enumerate(text.splitlines())
        if (match := re.match(r"class (\w+)\(", line))
    }


async def lens_commands(client: EditorClient, uri: str) -> dict[str, types.Command]:
    """Each class's lens command, by class name."""
    names = class_lines(client.texts[uri])
    commands = {}
    for lens in await client.code_lenses(uri):
        assert lens.command is not None
        commands[names[lens.range.start.line]] = lens.command
    return commands


def assert_idle(commands: dict[str, types.Command], uri: str) -> None:
    for name, command in commands.items():
        assert (command.title, command.command) == (IDLE, "nnevolve.evolve"), name
        assert list(command.arguments or []) == [{"uri": uri, "model": name}]


@dataclass
class LensWatch:
    """The lenses the client asks for at each refresh, and whether the run had ended by then."""

    client: EditorClient
    uri: str
    asked: list[asyncio.Future[dict[str, types.Command]]] = field(default_factory=list)
    ended: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client.on_lens_refresh = self.refreshed

    def refreshed(self) -> None:
        reports = self.client.progress_of("Evolving Net")
        self.ended.append(bool(reports) and isinstance(reports[-1], types.WorkDoneProgressEnd))
        self.asked.append(asyncio.ensure_future(lens_commands(self.client, self.uri)))

    async def seen(self) -> list[dict[str, types.Command]]:
        return [await asked for asked in self.asked]


async def evolve(client: EditorClient, uri: str, **argument: Any) -> dict[str, Any]:
    return await asyncio.wait_for(client.execute("nnevolve.evolve", {"uri": uri, **argument}), 300)


async def test_the_lens_shows_the_run_on_its_class_and_comes_back_when_it_finishes(
    tmp_path: Path,
) -> None:
    model_file = write_workspace(tmp_path, model=TWO_MODELS)
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        before = await lens_commands(client, uri)
        assert sorted(before) == ["Net", "Wide"]
        assert_idle(before, uri)

        watch = LensWatch(client, uri)
        result = await evolve(client, uri, model="Net")
        assert result["status"] == "finished"
        seen = await watch.seen()

        # a refresh when the run starts, the last one after its progress ended
        assert len(seen) >= 2 and watch.ended[0] is False and watch.ended[-1] is True
        running = [commands for commands, ended in zip(seen, watch.ended) if not ended]
        for commands in running:
            net, wide = commands["Net"], commands["Wide"]
            assert RUNNING.fullmatch(net.title), net.title
            assert net.command == "nnevolve.cancel"
            # the run's progress token: a client cancels it as the notification's Cancel does
            token = client.progress_token("Evolving Net")
            assert list(net.arguments or []) == [{"uri": uri, "token": token}]
            # the other class is a label that runs nothing
            assert wide.title == "One run per file: Net is evolving"
            assert wide.command == "nnevolve.label" and not wide.arguments
        # the generation shows once the search has begun (a refresh per new generation)
        assert any("· generation " in commands["Net"].title for commands in running)
        # the lens names the stage the notification names; the notification never goes back
        # from "writing the variants" to a generation (the engine's last report is not shown)
        reports = client.progress_of("Evolving Net")
        messages = [r.message for r in reports if not isinstance(r, types.WorkDoneProgressEnd)]
        stages = [m.split(" · ")[0] for m in messages if m]
        for commands in running:
            match = RUNNING.fullmatch(commands["Net"].title)
            assert match is not None
            if match.group(1):
                assert match.group(1).removeprefix(" · ") in stages
        if "writing the variants" in stages:
            assert set(stages[stages.index("writing the variants"):]) == {"writing the variants"}
        assert_idle(seen[-1], uri)
        assert_idle(await lens_commands(client, uri), uri)
    finally:
        await stop_editor(client)


async def test_the_lens_comes_back_after_a_failed_run(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path)
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        watch = LensWatch(client, uri)
        result = await evolve(client, uri, overrides={"dataset": "npz:no-such-file.npz"})
        assert result["status"] == "failed"
        seen = await watch.seen()
        assert len(seen) == 2 and watch.ended == [False, True]
        assert RUNNING.fullmatch(seen[0]["Net"].title)
        assert seen[0]["Net"].command == "nnevolve.cancel"
        assert_idle(seen[1], uri)
        assert_idle(await lens_commands(client, uri), uri)
    finally:
        await stop_editor(client)


async def test_a_client_other_than_vs_code_gets_plain_titles_and_no_empty_command(
    tmp_path: Path,
) -> None:
    """Neovim shows ``$(sync~spin)`` raw and cannot run a lens whose command is empty."""
    model_file = write_workspace(tmp_path, model=TWO_MODELS)
    client = await start_editor(tmp_path, client_name="Neovim")
    try:
        uri = client.open(model_file)
        watch = LensWatch(client, uri)
        result = await evolve(client, uri, model="Net",
                              overrides={"dataset": "npz:no-such-file.npz"})
        assert result["status"] == "failed"
        running = (await watch.seen())[0]
        assert running["Net"].title.startswith("Evolving Net…"), running["Net"].title
        assert running["Wide"].command == "nnevolve.label"
        assert all("$(" not in c.title and c.command for c in running.values()), running
        # the label's command is one the server runs (an unknown one is an error): it does nothing
        assert await asyncio.wait_for(client.execute("nnevolve.label", {}), 30) is None
    finally:
        await stop_editor(client)


def without_lens_refresh() -> types.ClientCapabilities:
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.workspace is not None
    capabilities.workspace.code_lens = None
    return capabilities


@pytest.mark.parametrize("supported", [True, False], ids=["refresh-support", "no-refresh-support"])
async def test_lenses_are_refreshed_only_for_a_client_that_supports_it(
    tmp_path: Path, supported: bool
) -> None:
    model_file = write_workspace(tmp_path)
    client = await start_editor(tmp_path, None if supported else without_lens_refresh())
    try:
        uri = client.open(model_file)
        # a run that fails at once on a bad setting still starts and ends its lens
        result = await evolve(client, uri, overrides={"generations": 0})
        assert result["status"] == "failed"
        await asyncio.sleep(0.5)  # any refresh would have arrived with the answer
        assert client.lens_refreshes == (2 if supported else 0)
        assert_idle(await lens_commands(client, uri), uri)
    finally:
        await stop_editor(client)


async def test_cancelling_from_the_lens_shows_cancelling_then_evolve_again(
    tmp_path: Path,
) -> None:
    model_file = write_workspace(tmp_path, generations=50, population=8)
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        run = asyncio.ensure_future(evolve(client, uri))
        deadline = asyncio.get_running_loop().time() + 120
        # once the search runs (the lens names its generation) a cancel takes the engine a
        # while; cancelled while the engine still starts, it dies at once and the lens is
        # back to "Evolve this network" before the next lens request
        while "generation" not in (lens := (await lens_commands(client, uri))["Net"]).title:
            assert asyncio.get_running_loop().time() < deadline, "no running lens"
            await asyncio.sleep(0.1)
        assert lens.command == "nnevolve.cancel"
        # the lens's own command cancels the run
        cancel = asyncio.ensure_future(client.execute(lens.command, (lens.arguments or [])[0]))
        await asyncio.sleep(0)  # the cancel request goes out first
        cancelling = (await lens_commands(client, uri))["Net"]
        assert cancelling.title == "$(sync~spin) Cancelling the run of Net…"
        assert cancelling.command == "nnevolve.label"
        assert await asyncio.wait_for(cancel, 60) == {"cancelled": True}
        result = await asyncio.wait_for(run, 60)
        assert result["status"] == "cancelled"
        assert end_message(client.progress_of("Evolving Net")).startswith("Cancelled")
        assert_idle(await lens_commands(client, uri), uri)
    finally:
        await stop_editor(client)
