"""``nnevolve sites FILE``: what the engine may edit for one model (lines, config entries, blocks)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sites",
        help="list what evolution may edit for a model: live layer lines, config entries, blocks",
        description="Build the model once (on the meta device, nothing is trained) and list "
        "every layer line, configuration entry and block class its construction and forward "
        "pass use: the sites a run of `nnevolve evolve` edits. Lines in branches never taken "
        "and config entries never read are not listed.",
    )
    parser.add_argument("file", type=Path, help="the model file")
    parser.add_argument("--model", metavar="EXPR",
                        help="a class, a factory or a call, e.g. \"VGG('VGG11')\" "
                             "(default: [tool.nnevolve] model, else the last model class)")
    parser.add_argument("--dataset", metavar="SPEC",
                        help="the data set whose input shape the model is built for "
                             "(default: [tool.nnevolve] dataset, else digits)")
    parser.add_argument("--input-shape", metavar="CxHxW",
                        help="build for this input shape instead of loading the data set, e.g. 3x32x32")
    parser.add_argument("--classes", type=int, metavar="N", default=10,
                        help="number of classes with --input-shape (default 10)")
    parser.add_argument("--json", action="store_true",
                        help="print {model, class, traced, problem, sites: [{line, end_line, col, "
                             "end_col, kind, type, text, owner, instances, live, file}]}; file is "
                             "the training script's name for its recipe lines, else \"\"")
    return parser


def _fail(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"error": f"nnevolve sites: {message}"}))
    print(f"nnevolve sites: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _shape(text: str) -> tuple[int, ...]:
    parts = text.lower().replace("×", "x").split("x")
    shape = tuple(int(p) for p in parts)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(text)
    return shape


def run(args: argparse.Namespace) -> int:
    from nnevolve.commands.tag import NotPythonSource, read_python_source
    from nnevolve.config import ConfigError, load_config
    from nnevolve.genome import GenomeError

    try:
        source = read_python_source(args.file)
    except NotPythonSource as refused:
        return _fail(args, str(refused))
    try:
        config = load_config(args.file.resolve().parent)
    except ConfigError as exc:
        return _fail(args, str(exc))
    if args.input_shape:
        try:
            input_shape, classes = _shape(args.input_shape), args.classes
        except ValueError:
            return _fail(args, f"--input-shape must look like 3x32x32, not {args.input_shape!r}")
    else:
        from nnevolve.datasets import DatasetError, load_dataset

        spec = args.dataset or config.dataset_spec
        try:
            data = load_dataset(spec, data_dir=config.data_path, max_train=64, max_val=16)
        except DatasetError as exc:
            return _fail(args, str(exc))
        input_shape, classes = data.input_shape, data.num_classes
    from nnevolve.genome.model_spec import package_of
    from nnevolve.operators.recipe import RecipeText
    from nnevolve.site_listing import list_sites

    script = None
    if config.train_path is not None and config.train_path.is_file():
        try:
            text = config.train_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return _fail(args, f"cannot read the training script {config.train_path}: {exc}")
        script = RecipeText.parse(text, config.train_path.name)
    try:
        listing = list_sites(source, args.model or config.model, input_shape, classes,
                             package=package_of(args.file), training=config.evolve_training,
                             script=script)
    except GenomeError as exc:
        return _fail(args, f"{args.file}: {exc}")
    if args.json:
        print(json.dumps(listing.to_json(), indent=2))
    else:
        _print(args.file, listing)
    if listing.problem:
        print(f"nnevolve sites: {listing.model} cannot be built for input "
              f"{'x'.join(map(str, input_shape))}: {listing.problem}; sites found from the code "
              "alone", file=sys.stderr)
    return 0


def _print(path: Path, listing: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    how = "traced" if listing.traced else "from the code (not traced)"
    table = Table(title=Text(f"{path} · {listing.model} · {how}"), title_justify="left",
                  caption=f"{len(listing.items)} sites")
    table.add_column("Line", justify="right", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Code / value")
    table.add_column("In")
    table.add_column("Built", justify="right", no_wrap=True)
    for item in listing.items:
        table.add_row(f"{item.file}:{item.line}" if item.file else str(item.line), item.kind, item.type, Text(" ".join(item.text.split())),
                      Text(item.owner),
                      f"{item.instances}×" if item.instances else "")
    console.print(table)
