"""The ``nnevolve`` command line: one subparser per module of :mod:`nnevolve.commands`."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from nnevolve import __version__, commands

# the order `nnevolve --help` lists them in; commands not named here follow alphabetically
COMMAND_ORDER = ("tag", "evolve", "runs", "show", "serve")


def command_modules() -> list[ModuleType]:
    """Every command module of :mod:`nnevolve.commands`, in help order."""
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    names.sort(
        key=lambda n: (COMMAND_ORDER.index(n) if n in COMMAND_ORDER else len(COMMAND_ORDER), n)
    )
    return [importlib.import_module(f"{commands.__name__}.{name}") for name in names]


class UsageError(Exception):
    """A command line argparse refuses; `parser` is the (sub)parser that refused it."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse that raises its usage errors, so that `--json` can print them as JSON."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's subparser registered."""
    parser = _Parser(
        prog="nnevolve",
        description="Evolve PyTorch model source code with genetic improvement.",
    )
    parser.add_argument("--version", action="version", version=f"nnevolve {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules():
        module.add_parser(subparsers).set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``nnevolve`` command; returns its exit status (2 for a usage error)."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except SystemExit as exit_:  # argparse exits on --help and --version
        return exit_.code if isinstance(exit_.code, int) else 2
    except UsageError as error:
        if "--json" in words:
            print(json.dumps({"error": f"{error.parser.prog}: {error}"}), flush=True)
        else:
            error.parser.print_usage(sys.stderr)
            print(f"{error.parser.prog}: error: {error}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("nnevolve: interrupted", file=sys.stderr)
        return 130
