"""The server starts both ways a user starts it: `python -m nnevolve.lsp` and `nnevolve serve`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

CONSOLE_SCRIPT = Path(sys.executable).with_name("nnevolve")
COMMANDS = {
    "python -m nnevolve.lsp": [sys.executable, "-m", "nnevolve.lsp"],
    "nnevolve serve": [str(CONSOLE_SCRIPT), "serve"],
    # vscode-languageclient and other editors' clients append --stdio
    "python -m nnevolve.lsp --stdio": [sys.executable, "-m", "nnevolve.lsp", "--stdio"],
    "nnevolve serve --stdio": [str(CONSOLE_SCRIPT), "serve", "--stdio"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
async def test_the_server_starts_answers_and_exits_cleanly(launch, command: list[str]):
    assert Path(command[0]).exists(), f"{command[0]} is missing: run `pip install -e .`"
    client = await launch(command)
    assert client.initialize_result.server_info.name == "nnevolve"
    uri = "file:///workspace/model.py"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id="python",
                version=1,
                text="from torch import nn\nact = nn.GELU()\n",
            )
        )
    )

    answer = await client.protocol.send_request_async(
        "nnevolve/lineTypes", {"textDocument": {"uri": uri}}
    )

    assert [(item.type, item.name) for item in answer.items] == [("activation", "torch.nn.GELU")]
    await client.shutdown_session()
    assert client._server.returncode == 0


async def test_the_analysis_process_ends_with_a_killed_server(launch):
    client = await launch(COMMANDS["python -m nnevolve.lsp"])
    uri = "file:///workspace/large.py"
    # over 200,000 characters: analysed in a child process of the server
    text = "import torch.nn as nn\nact = nn.ReLU()\n" + ("#" * 79 + "\n") * 3_000
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    answer = await client.protocol.send_request_async(
        "nnevolve/lineTypes", {"textDocument": {"uri": uri}}
    )
    assert [item.name for item in answer.items] == ["torch.nn.ReLU"]
    server = client._server
    (child,) = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()

    server.kill()  # no shutdown, no exit: the way a crashed editor leaves it
    await server.wait()

    for _ in range(200):
        if not running(child):
            break
        await asyncio.sleep(0.05)
    assert not running(child), f"analysis process {child} outlived the server"


def running(pid: str) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_help_describes_the_server_instead_of_waiting_for_a_client():
    done = subprocess.run(
        [sys.executable, "-m", "nnevolve.lsp", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0
    assert "language server" in done.stdout
