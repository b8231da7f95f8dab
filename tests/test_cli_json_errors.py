"""Under `--json` every error is one JSON document on stdout, with the usual exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnevolve.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["show", "--json"], "the following arguments are required: RUN_ID"),
        (["runs", "--json", "--limit", "many"], "invalid int value: 'many'"),
        (["evolve", "--json", "--population", "x"], "invalid int value: 'x'"),
    ],
)
def test_usage_errors_are_json_under_json(argv: list[str], words: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert words in json.loads(out)["error"] and err == ""


def test_usage_errors_stay_words_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "usage: nnevolve show" in err
    assert "error: the following arguments are required: RUN_ID" in err


def test_command_errors_are_json_under_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["evolve", "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {"error": "give a model file, or --resume RUN_ID"}
    assert main(["show", "nope", "--json", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "no run store at" in json.loads(capsys.readouterr().out)["error"]
    assert main(["tag", str(tmp_path / "missing.py"), "--json"]) != 0
    assert "no such file" in json.loads(capsys.readouterr().out)["error"]
