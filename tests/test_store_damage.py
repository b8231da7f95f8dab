"""Stores that cannot be written or read: a read-only store is still listed and shown, and
`evolve` on it stops at once naming `--store`; a damaged or empty store is reported with its
path and `nnevolve runs --repair-store`, which moves it aside and starts a new store."""

from __future__ import annotations

import ctypes
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnevolve.store import RunStore, StoreError
from nnevolve.store.opening import damage_reported, repair_store

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def as_a_user() -> None:
    """In the child: file permissions apply even to root (no DAC override after exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)


def nnevolve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnevolve", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          preexec_fn=as_a_user)


def stored_run(path: Path) -> str:
    with RunStore(path) as store:
        run_id = store.create_run(file=str(path.parent / "net.py"), class_name="Net",
                                  base_source="x = 1\n", base_hash="h", config={},
                                  dataset_fingerprint="fp", budget_key="b")
        store.set_run_status(run_id, "cancelled")
    return run_id


@pytest.fixture
def read_only_store(tmp_path: Path):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "runs.sqlite"
    run_id = stored_run(path)
    (folder / "pyproject.toml").write_text('[tool.nnevolve]\nstore = "runs.sqlite"\n')
    (folder / "net.py").write_text("x = 1\n")
    path.chmod(0o444)
    folder.chmod(0o555)  # no -wal or -shm file can be made next to it either
    try:
        yield path, run_id
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


def test_a_read_only_store_is_listed_and_shown(read_only_store, tmp_path: Path) -> None:
    path, run_id = read_only_store
    listed = nnevolve("runs", "--store", str(path), "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [run["id"] for run in json.loads(listed.stdout)] == [run_id]
    shown = nnevolve("show", run_id, "--store", str(path), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run_id"] == run_id
    assert sorted(p.name for p in path.parent.iterdir()) == ["net.py", "pyproject.toml",
                                                             "runs.sqlite"]


def test_evolve_on_a_read_only_store_stops_at_once_naming_a_writable_store(
        read_only_store, tmp_path: Path) -> None:
    path, _ = read_only_store
    (tmp_path / "net.py").write_text("import torch\n")
    started = time.monotonic()
    result = nnevolve("evolve", "net.py", "--store", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert time.monotonic() - started < 30  # before any worker or dataset
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(path) in lines[0] and "--store" in lines[0]


def test_a_damaged_store_names_its_path_and_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
    for read_only in (True, False):
        with pytest.raises(StoreError) as error:
            RunStore(path, read_only=read_only)
        assert str(path) in str(error.value)
        assert "nnevolve runs --repair-store" in str(error.value)


def test_repair_moves_the_damaged_store_aside_and_starts_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    damaged = b"not a database " * 100
    path.write_bytes(damaged)
    aside = repair_store(path)
    assert aside is not None and aside.read_bytes() == damaged  # kept, never deleted
    assert aside.parent == tmp_path and aside.name.startswith("runs.sqlite.damaged-")
    with RunStore(path) as store:
        assert store.list_runs() == []
    run_id = stored_run(path)
    assert repair_store(path) is None  # a sound store is left alone
    with RunStore(path, read_only=True) as store:
        assert [run.id for run in store.list_runs()] == [run_id]


def test_an_empty_file_is_said_to_hold_no_runs_and_becomes_a_new_store_when_written(
        tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=r"empty file \(0 bytes\).*--repair-store"):
        RunStore(path, read_only=True)
    assert path.stat().st_size == 0  # reading it wrote nothing
    stored_run(path)  # a run's writer starts a store in it: there was nothing to lose
    with RunStore(path, read_only=True) as store:
        assert len(store.list_runs()) == 1


def test_reading_a_store_creates_no_folder_and_no_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run store"):
        RunStore(tmp_path / "nowhere" / "runs.sqlite", read_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_the_editor_reads_a_read_only_store(read_only_store, tmp_path: Path) -> None:
    path, run_id = read_only_store
    script = ("import sys; from pathlib import Path; "
              "from nnevolve.lsp.results import list_runs; "
              "from nnevolve.lsp.offers import read_offered_run; "
              "runs = list_runs(Path(sys.argv[1]) / 'net.py'); "
              "offered = read_offered_run(Path(sys.argv[1]) / 'runs.sqlite', sys.argv[2]); "
              "print(len(runs), offered is not None)")
    read = subprocess.run([sys.executable, "-c", script, str(path.parent), run_id],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False, preexec_fn=as_a_user)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["1", "True"]  # listed, and its run read


def test_damage_found_while_reading_says_how_to_repair_the_store(tmp_path: Path) -> None:
    """`nnevolve runs` and `show` read inside damage_reported: SQLite's error gets the way out."""
    path = tmp_path / "runs.sqlite"
    with pytest.raises(StoreError, match=r"is damaged \(database disk image is malformed\).*"
                                         r"runs --repair-store --store"):
        with damage_reported(path):
            raise sqlite3.DatabaseError("database disk image is malformed")
