"""The README's Neovim configuration works: a headless Neovim with it attaches the server to a
sample model, which answers a hover and offers the lens in plain text.

Skipped where no Neovim ≥ 0.10 is on ``PATH`` (Debian 12's package is 0.7).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = "/path/to/nnevolve/.venv/bin/nnevolve"

# Runs inside Neovim once the sample is open: waits for the server, asks for a hover on the
# convolution's `nn.Conv2d` and for the lenses, writes both as JSON, quits.
DRIVER = """
local out = assert(os.getenv("NNEVOLVE_NVIM_OUT"))
local function finish(result)
  local file = assert(io.open(out, "w"))
  file:write(vim.json.encode(result))
  file:close()
  vim.cmd("qa!")
end
local attached = vim.wait(60000, function()
  return #vim.lsp.get_clients({ bufnr = 0, name = "nnevolve" }) > 0
end, 100)
if not attached then finish({ error = "the server did not attach" }) end
local line = vim.fn.search("nn.Conv2d") - 1
local column = vim.fn.getline(line + 1):find("nn.Conv2d", 1, true) + 2
local document = { uri = vim.uri_from_bufnr(0) }
local hover = vim.lsp.buf_request_sync(0, "textDocument/hover",
  { textDocument = document, position = { line = line, character = column } }, 60000)
local lenses = vim.lsp.buf_request_sync(0, "textDocument/codeLens",
  { textDocument = document }, 60000)
local function first(answers)
  for _, answer in pairs(answers or {}) do return answer.result end
end
finish({ hover = first(hover), lenses = first(lenses) })
"""


def neovim() -> str | None:
    """An ``nvim`` ≥ 0.10 on PATH (``vim.lsp.start`` and ``vim.fs.root``), else None."""
    found = shutil.which("nvim")
    if found is None:
        return None
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30)
    match = re.search(r"NVIM v(\d+)\.(\d+)", version.stdout)
    return found if match and (int(match[1]), int(match[2])) >= (0, 10) else None


def readme_configuration() -> str:
    """The first Lua block of the README's "Other editors" section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Other editors", 1)[1]
    block = re.search(r"```lua\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README: no Lua block under 'Other editors'"
    return block.group(1)


@pytest.mark.skipif(neovim() is None, reason="no Neovim >= 0.10 on PATH (Debian 12 has 0.7)")
def test_the_readme_configuration_gives_neovim_hover_and_a_plain_lens(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("nnevolve")
    assert executable.exists(), f"nnevolve is not installed beside {sys.executable}"
    configuration = readme_configuration()
    assert PLACEHOLDER in configuration
    (tmp_path / "init.lua").write_text(configuration.replace(PLACEHOLDER, str(executable)))
    (tmp_path / "driver.lua").write_text(DRIVER)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[tool.nnevolve]\ndataset = "digits"\n')
    sample = workspace / "convnet_small.py"
    shutil.copy(REPO / "samples" / "convnet_small.py", sample)
    out = tmp_path / "out.json"
    home = {name: str(tmp_path / name) for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                                   "XDG_STATE_HOME", "XDG_CACHE_HOME")}
    nvim = neovim()
    assert nvim is not None
    subprocess.run(
        [nvim, "--headless", "-n", "-i", "NONE", "-u", str(tmp_path / "init.lua"), str(sample),
         "-c", f"luafile {tmp_path / 'driver.lua'}"],
        cwd=workspace, env={**os.environ, **home, "NNEVOLVE_NVIM_OUT": str(out)},
        stdin=subprocess.DEVNULL, capture_output=True, timeout=180, check=False,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in result, result
    assert "`torch.nn.Conv2d`" in result["hover"]["contents"]["value"], result["hover"]
    titles = [lens["command"]["title"] for lens in result["lenses"]]
    assert titles == ["Evolve this network"], titles
