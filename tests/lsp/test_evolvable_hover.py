"""Hover says which lines evolution may edit, as `nnevolve sites` lists them (traced)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from evolve_support import start_editor, stop_editor, write_workspace

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


async def hover_value(client, uri: str, line: int, character: int) -> str | None:
    hover = await client.hover(uri, line, character)
    return None if hover is None else hover.contents.value  # type: ignore[union-attr]


async def test_hover_marks_the_lines_and_entries_the_model_uses(tmp_path: Path) -> None:
    model_file = write_workspace(tmp_path, model=(SAMPLES / "vgg_cfg.py").read_text())
    client = await start_editor(tmp_path)
    try:
        uri = client.open(model_file)
        lines = model_file.read_text().splitlines()
        used_table = next(i for i, t in enumerate(lines) if t.strip().startswith("'VGG-A'"))
        other_table = next(i for i, t in enumerate(lines) if t.strip().startswith("'VGG-B'"))
        conv = next(i for i, t in enumerate(lines) if "nn.Conv2d(in_channels, x" in t)
        column = lines[used_table].index("[") + 1
        deadline = time.monotonic() + 150
        value = None
        while time.monotonic() < deadline:  # the first hover starts the listing in the background
            value = await hover_value(client, uri, used_table, column)
            if value:
                break
            await asyncio.sleep(0.5)
        assert value is not None and "evolvable for VGG11" in value
        assert "config entry of cfg['VGG-A']" in value
        conv_text = await hover_value(client, uri, conv, lines[conv].index("nn.Conv2d") + 3)
        assert conv_text is not None
        assert "connection layer" in conv_text and "evolvable for VGG11" in conv_text
        assert "built 4×" in conv_text  # one line of the loop builds every conv
        # the tables the model never reads are not evolvable (and have no line type)
        other_column = lines[other_table].index("[") + 1
        assert await hover_value(client, uri, other_table, other_column) is None
    finally:
        await stop_editor(client)


def test_the_training_scripts_recipe_lines_are_not_marked_in_the_model_file() -> None:
    import json

    from nnevolve.lsp.evolvable import _parse

    site = {"line": 3, "end_line": 3, "col": 0, "end_col": 9, "kind": "layer",
            "type": "connection", "text": "nn.Linear(4, 2)", "owner": "Net", "instances": 1,
            "live": True, "file": ""}
    script_line = {**site, "line": 7, "kind": "recipe", "type": "lr", "text": "0.1",
                   "owner": "SGD", "file": "train.py"}
    listing = {"model": "Net", "class": "Net", "traced": True, "problem": None,
               "sites": [site, script_line]}
    parsed = _parse(json.dumps(listing).encode())
    assert parsed is not None and set(parsed.lines) == {3}
