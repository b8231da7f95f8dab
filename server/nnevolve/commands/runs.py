"""`nnevolve runs`: the runs of this workspace, newest first."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from nnevolve.config import ConfigError, load_config
from nnevolve.report import print_error, runs_table
from nnevolve.store import RunStore, StoreError
from nnevolve.store.opening import damage_reported, repair_store


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("runs", help="list the evolution runs of this workspace",
                                   description="List the runs in the run store, newest first.")
    parser.add_argument("file", nargs="?", type=Path, help="only the runs of this model file")
    parser.add_argument("--store", type=Path, metavar="PATH", help="the run store (SQLite)")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    parser.add_argument("--repair-store", action="store_true",
                        help="a damaged run store: move it aside (nothing is deleted) and "
                             "start a new one")
    return parser


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        store_path = args.store or load_config(args.file or Path.cwd()).store_path
        if args.repair_store:
            return _repair(console, Path(store_path))
        if not Path(store_path).exists():
            console.print(f"no runs yet (no run store at {store_path})", markup=False)
            if args.json:
                print("[]")
            return 0
        with RunStore(store_path, read_only=True) as store, damage_reported(Path(store_path)):
            file = str(args.file.resolve()) if args.file else None
            runs = store.list_runs(file=file, limit=args.limit)
    except (ConfigError, StoreError) as exc:
        print_error("runs", str(exc), as_json=args.json)
        return 2
    if args.json:
        print(json.dumps([run.to_json() for run in runs], indent=2))
    elif not runs:
        console.print("no runs yet")
    else:
        Console().print(runs_table(runs))
    return 0


def _repair(console: Console, store_path: Path) -> int:
    """Move a damaged store aside and start a new one (a sound store is left alone)."""
    try:
        aside = repair_store(store_path)
    except (OSError, StoreError) as exc:
        console.print(f"nnevolve runs: error: cannot repair {store_path}: {exc}", markup=False,
                      soft_wrap=True)
        return 2
    if aside is None:
        console.print(f"the run store {store_path} is sound: nothing to repair", markup=False,
                      soft_wrap=True)
    else:
        console.print(f"moved the damaged run store to {aside} (its runs stay there); "
                      f"a new, empty store is at {store_path}", markup=False, soft_wrap=True)
    return 0
