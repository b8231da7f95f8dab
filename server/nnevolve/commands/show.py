"""`nnevolve show RUN_ID`: a run's Pareto front as the run store holds it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from nnevolve.config import ConfigError, load_config
from nnevolve.report import print_error, print_result
from nnevolve.results import build_result
from nnevolve.store import RunStore, StoreError
from nnevolve.store.opening import damage_reported


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("show", help="print a run's Pareto front",
                                   description="Print a run's Pareto front from the run store.")
    parser.add_argument("run_id", metavar="RUN_ID", help="as listed by `nnevolve runs`")
    parser.add_argument("--store", type=Path, metavar="PATH", help="the run store (SQLite)")
    parser.add_argument("--json", action="store_true", help="print the run as JSON")
    parser.add_argument("--source", action="store_true",
                        help="with --json: include each variant's source")
    parser.add_argument("--lineage", action="store_true",
                        help="also list the edits that bred each variant (its lineage); "
                             "the table's changes are its net difference from your network")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        store_path = args.store or load_config(Path.cwd()).store_path
        if not Path(store_path).exists():
            raise StoreError(f"no run store at {store_path}")
        with RunStore(store_path, read_only=True) as store, damage_reported(Path(store_path)):
            result = build_result(store, store.resolve_run_id(args.run_id))
    except (ConfigError, StoreError) as exc:
        print_error("show", str(exc), as_json=args.json)
        return 2
    if args.json:
        data = result.to_json()
        if args.source:
            data["pareto"] = [v.to_json(with_source=True) for v in result.pareto]
        print(json.dumps(data, indent=2))
    else:
        print_result(Console(), result, lineage=args.lineage)
    return 0
