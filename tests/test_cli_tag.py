"""``nnevolve tag FILE [--json]``: a table or JSON of the line types; bad files exit with 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnevolve.cli import build_parser, main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MODEL = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 100)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(p=0.25)
        self.seq = nn.Sequential(
            nn.Linear(100, 10),
        )
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "nnevolve", *args]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(MODEL, encoding="utf-8")
    return path


def test_json_output_is_an_array_with_positions_types_names_and_details(model: Path):
    result = run_cli("tag", str(model), "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert items[0] == {
        "line": 6, "end_line": 6, "col": 19, "end_col": 38, "type": "connection",
        "name": "torch.nn.Linear", "detail": "Linear 784→100", "params": 78500,
    }  # fmt: skip
    assert [(i["line"], i["end_line"], i["type"]) for i in items] == [
        (6, 6, "connection"), (7, 7, "activation"), (8, 8, "dropout"),
        (9, 11, "container"), (10, 10, "connection"),
    ]  # fmt: skip
    assert result.stderr == ""


def test_table_output_shows_line_type_and_detail(model: Path):
    result = run_cli("tag", str(model))
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "│" in line]
    assert any("6" in r and "connection layer" in r and "Linear 784→100" in r and "78,500" in r
               for r in rows)  # fmt: skip
    assert any("dropout layer" in r and "Dropout p=0.25" in r for r in rows)
    assert any("9–11" in r and "container" in r for r in rows)
    assert "5 line-typed items" in result.stdout


def test_a_file_without_layers_says_so(tmp_path: Path, capsys):
    path = tmp_path / "plain.py"
    path.write_text("print('hello')\n", encoding="utf-8")
    assert main(["tag", str(path)]) == 0
    assert "No line-typed items" in capsys.readouterr().out
    assert main(["tag", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_missing_file_is_a_one_line_error_with_status_2(tmp_path: Path):
    result = run_cli("tag", str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"nnevolve tag: no such file: {tmp_path / 'nope.py'}"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.txt", b"just some text\n", "is not a Python file"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a Python file"),
        ("data.py", b"\x00\x01\x02binary\xff\xfe", "contains binary data"),
        ("latin.py", b"x = '\xe9t\xe9'\n", "cannot be decoded"),
    ],
)
def test_non_python_files_are_refused_with_status_2(tmp_path: Path, capsys, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["tag", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert reason in captured.err and len(captured.err.strip().splitlines()) == 1


def test_a_directory_is_refused(tmp_path: Path, capsys):
    assert main(["tag", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_declared_encodings_and_python_scripts_without_suffix_are_read(tmp_path: Path, capsys):
    latin = tmp_path / "latin.py"
    latin.write_bytes(
        b"# -*- coding: latin-1 -*-\nimport torch.nn as nn\nname = '\xe9'; fc = nn.Linear(2, 3)\n"
    )
    script = tmp_path / "train"
    script.write_text(
        "#!/usr/bin/env python3\nimport torch.nn as nn\nnn.ReLU()\n", encoding="utf-8"
    )
    assert main(["tag", str(latin), "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert (item["col"], item["end_col"]) == (17, 32)  # code points (UTF-8 bytes would be 18)
    assert main(["tag", str(script), "--json"]) == 0
    assert [i["name"] for i in json.loads(capsys.readouterr().out)] == ["torch.nn.ReLU"]


def test_a_syntax_error_still_tags_what_parses_and_warns_on_stderr(tmp_path: Path):
    path = tmp_path / "broken.py"
    path.write_text(MODEL.replace("nn.ReLU()", "nn.ReLU("), encoding="utf-8")
    result = run_cli("tag", str(path), "--json")
    assert result.returncode == 0
    assert [i["line"] for i in json.loads(result.stdout)] == [6, 8, 9, 10]
    assert f"{path}:7:" in result.stderr and "never closed" in result.stderr


def test_tag_on_every_bundled_sample(capsys):
    for sample in sorted(SAMPLES.glob("*.py")):
        assert main(["tag", str(sample), "--json"]) == 0
        assert json.loads(capsys.readouterr().out), sample


def test_usage_errors_exit_with_2_and_help_lists_the_commands(capsys):
    assert main(["tag"]) == 2
    assert "required" in capsys.readouterr().err
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "tag" in out and "serve" in out


def test_every_command_module_registers_a_subparser():
    parser = build_parser()
    args = parser.parse_args(["tag", "x.py", "--json"])
    assert args.json and args.file == Path("x.py") and callable(args._run)
    assert parser.parse_args(["serve"]).command == "serve"
