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


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("runs", help="list the evolution runs of this workspace",
                                   description="List the runs in the run store, newest first.")
    parser.add_argument("file", nargs="?", type=Path, help="only the runs of this model file")
    parser.add_argument("--store", type=Path, metavar="PATH", help="the run store (SQLite)")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        store_path = args.store or load_config(args.file or Path.cwd()).store_path
        if not Path(store_path).exists():
            console.print(f"no runs yet (no run store at {store_path})", markup=False)
            if args.json:
                print("[]")
            return 0
        with RunStore(store_path) as store:
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
