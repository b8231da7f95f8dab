"""Where runs of a file that no pyproject.toml covers are stored: in its folder when that exists
and may be written, else in the user's cache; never in a folder made at the document's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnevolve.config import load_config
from nnevolve.lsp.unsaved import write_unsaved_copy
from nnevolve.store import RunStore


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "nnevolve"


def test_an_unsaved_document_whose_path_does_not_exist_gets_no_folder_there(
        tmp_path: Path, cache: Path) -> None:
    document = tmp_path / "project" / "net.py"  # never saved: neither exists
    config = load_config(document)
    assert config.root.is_relative_to(cache)
    with RunStore(config.store_path):
        pass
    write_unsaved_copy(config.root, document, "x = 1\n")
    assert not (tmp_path / "project").exists()
    assert config.store_path.is_file()


def test_a_new_file_in_an_existing_folder_keeps_its_runs_in_that_folder(
        tmp_path: Path, cache: Path) -> None:
    document = tmp_path / "net.py"  # the folder exists, the file does not (yet)
    config = load_config(document)
    assert config.root == tmp_path.resolve()
    with RunStore(config.store_path):
        pass
    copy = write_unsaved_copy(config.root, document, "x = 1\n")
    assert not document.exists()  # not a folder, not a file
    assert copy.parent == tmp_path.resolve() / ".nnevolve" / "unsaved"


def test_a_folder_that_cannot_be_written_sends_the_runs_to_the_cache(
        tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "etc"
    system.mkdir()
    (system / "passwd").write_text("class Net: ...\n")
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != system.resolve())
    config = load_config(system / "passwd")
    assert config.root.is_relative_to(cache)
    assert config.store_path.is_relative_to(cache)


def test_an_editor_keeps_the_runs_of_a_file_outside_its_workspace_in_the_cache(
        tmp_path: Path, cache: Path) -> None:
    workspace, downloads = tmp_path / "workspace", tmp_path / "downloads"
    (workspace / "sub").mkdir(parents=True)
    downloads.mkdir()
    assert load_config(downloads / "net.py", [workspace]).root.is_relative_to(cache)
    assert load_config(downloads / "net.py", []).root.is_relative_to(cache)  # no folder open
    # inside a workspace folder, and from the command line, the file's folder as before
    assert load_config(workspace / "sub" / "net.py", [workspace]).root == (workspace / "sub")
    assert load_config(downloads / "net.py").root == downloads

