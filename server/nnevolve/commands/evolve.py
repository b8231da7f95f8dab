"""`nnevolve evolve FILE`: evolve a model's code and write its Pareto-optimal variants."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from nnevolve.config import ALGORITHMS, SCREENING, ConfigError, load_config, resolve_dataset
from nnevolve.process_context import start_forkserver
from nnevolve.report import JsonLines, ProgressDisplay, print_error, print_result
from nnevolve.store import RunStore, StoreError

if TYPE_CHECKING:
    from nnevolve.results import RunProgress, RunResult

EXIT_STATUS = {"finished": 0, "failed": 1, "cancelled": 130}
EXIT_USAGE = 2  # bad input: no model, a dataset that cannot be loaded, a bad setting


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evolve", help="evolve a model's code; write its Pareto-optimal variants",
        description="Evolve the layers of a PyTorch model with genetic improvement (NSGA-II over "
                    "accuracy, parameters and latency). Defaults come from [tool.nnevolve] in "
                    "the nearest pyproject.toml. The model file is never modified.")
    parser.add_argument("file", nargs="?", help="the model file (not needed with --resume)")
    parser.add_argument("--model", metavar="EXPR",
                        help="what to evolve: a class, a factory function or a call with literal "
                             "arguments, e.g. Net, resnet18, \"VGG('VGG11')\" (default: the "
                             "last model class)")
    parser.add_argument("--dataset", metavar="SPEC",
                        help="digits, mnist, fashion-mnist, cifar10, idx:DIR, npz:PATH, "
                             "folder:PATH or module:pkg.mod:callable")
    parser.add_argument("--generations", type=int, metavar="G",
                        help="generations bred after the first population")
    parser.add_argument("--population", type=int, metavar="P", help="variants per generation")
    parser.add_argument("--epochs", type=int, metavar="E", help="training epochs per variant")
    parser.add_argument("--max-evals", type=int, metavar="N",
                        help="variants evaluated at most, trained or from the cache (a "
                             "warm cache makes a run faster, never different)")
    parser.add_argument("--time", metavar="DURATION",
                        help="wall-clock budget of the search, e.g. 90s, 10m, 1h30m (counted "
                             "once the original network is measured): breeding stops when it "
                             "is spent, the variants in training finish (or are cut after a "
                             "grace of 10%%, at least 30 s) and the outputs are written; the "
                             "generations no longer limit the run (--max-evals still does)")
    parser.add_argument("--workers", type=int, metavar="W", help="worker processes on the CPU")
    parser.add_argument("--device", metavar="DEVICE",
                        help="auto (CUDA when torch sees a GPU), cpu, cuda (every GPU) or cuda:N")
    parser.add_argument("--workers-per-device", type=int, metavar="N",
                        help="worker processes per GPU (default 1)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="mixed-precision training (CUDA only)")
    parser.add_argument("--evolve-training", action=argparse.BooleanOptionalAction, default=None,
                        help="evolve the training recipe's lines too (optimizer, lr, loss, "
                             "scheduler, batch size; default: when the model file or "
                             "train_file writes a recipe)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="evaluate on a Dask cluster, e.g. tcp://host:8786 "
                             "(nnevolve installed on its workers)")
    parser.add_argument("--seed", type=int, metavar="S",
                        help="random seed of the search, the data split and the training")
    parser.add_argument("--confirm-seeds", type=int, metavar="N",
                        help="re-train the Pareto front and the original network with N more "
                             "seeds and decide the front on the means (default 2; 0: off)")
    parser.add_argument("--screening", choices=SCREENING,
                        help="train each child on a quarter of the budget first and give the "
                             "full budget only to the promising third (successive halving); "
                             "auto (default): when the original network trains for 1 s or more")
    parser.add_argument("--algorithm", choices=ALGORITHMS)
    parser.add_argument("--objectives", metavar="LIST",
                        help="comma-separated subset of error,params,latency")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="where datasets are kept")
    parser.add_argument("--store", type=Path, metavar="PATH", help="the run store (SQLite)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: .nnevolve/runs/RUN_ID)")
    # for the language server: the project root it chose (store, outputs), from its workspace
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--resume", metavar="RUN_ID", help="continue a killed or cancelled run")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    # for the language server: one JSON object per line on stdout, live
    parser.add_argument("--progress-jsonl", action="store_true", help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    jsonl = JsonLines(sys.stdout) if args.progress_jsonl else None

    def fail(message: str) -> int:
        if jsonl is not None:
            jsonl.emit("error", message=message)
        print_error("evolve", message, as_json=args.json and jsonl is None)
        return EXIT_USAGE

    if args.file is None and args.resume is None:
        return fail("give a model file, or --resume RUN_ID")
    try:
        config = load_config(Path(args.file) if args.file else Path.cwd())
        if args.root is not None:
            config = replace(config, root=args.root.resolve())
        config = config.with_overrides(_overrides(args))
        store = RunStore(config.store_path)
    except (ConfigError, StoreError) as exc:
        return fail(str(exc))
    start_forkserver()  # the workers' process imports torch while this one loads the engine
    # the engine (sklearn, pymoo, libcst) loads here, not when the CLI starts
    from nnevolve.run import RunError, run_evolution

    stop = _StopOnSignal()
    show_progress = jsonl is None and not args.json and console.is_terminal
    with stop, store, ProgressDisplay(console, enabled=show_progress) as display:
        report = _progress_hook(display, jsonl, stop)
        try:
            result = run_evolution(config, args.file, model=args.model or config.model, store=store,
                                   progress=report, should_stop=stop.requested,
                                   resume_run=args.resume)
        except RunError as exc:
            return fail(str(exc))
        except KeyboardInterrupt:  # a second Ctrl-C before the run had started
            return EXIT_STATUS["cancelled"]
        if result.status == "cancelled" and stop.interrupted and result.pareto:
            # Ctrl-C in a terminal: the user gets the files of what was found (SIGTERM, the
            # editor's cancel, keeps it in the store only: it must stop at once)
            result = _write_what_was_found(console, store, result)
    if jsonl is None:
        _say_if_outputs_moved(console, config.out_dir(result.run_id), result.out_dir)
    if jsonl is not None:
        jsonl.emit("result", **result.to_json())
    elif args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_result(Console(), result)
        _where_to_look_again(console, config.store_path, result.run_id)
    return EXIT_STATUS[result.status]


def _write_what_was_found(console: Console, store: RunStore, result: RunResult) -> RunResult:
    """A cancelled run's output folder, written from the store (marked cancelled)."""
    from nnevolve.results import build_result
    from nnevolve.run import write_outputs

    try:
        write_outputs(store, result.run_id)
    except OSError as exc:
        console.print(f"nnevolve evolve: cannot write the results: {exc}", markup=False,
                      highlight=False, soft_wrap=True)
        return result
    return build_result(store, result.run_id, stats=result.stats)


def _say_if_outputs_moved(console: Console, asked: Path, written: Path | None) -> None:
    """The run wrote into a sub-folder: the folder asked for holds other outputs."""
    if written is not None and written.parent == asked and written.is_dir():
        console.print(f"{asked} already holds variant files or a pareto.json: this run's "
                      f"outputs are in {written}", markup=False, highlight=False, soft_wrap=True)


def _where_to_look_again(console: Console, store_path: Path, run_id: str) -> None:
    """`runs` and `show` read the store of the current folder's project: name another one."""
    try:
        here = load_config(Path.cwd()).store_path
    except ConfigError:
        here = None
    if here != store_path:
        console.print(f"this run is stored in {store_path}: "
                      f"nnevolve show {run_id} --store {store_path}", markup=False,
                      highlight=False, soft_wrap=True)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    cwd = Path.cwd()
    paths = {key: (cwd / value).resolve() if value is not None else None
             for key, value in (("data_dir", args.data_dir), ("store", args.store),
                                ("out", args.out))}
    dataset = resolve_dataset(args.dataset, cwd) if args.dataset else None
    return {"dataset": dataset, "generations": args.generations,
            "population": args.population, "epochs": args.epochs, "max_evals": args.max_evals,
            "time": args.time,
            "workers": args.workers, "device": args.device,
            "workers_per_device": args.workers_per_device, "amp": args.amp,
            "evolve_training": args.evolve_training,
            "cluster": args.cluster, "seed": args.seed,
            "confirm_seeds": args.confirm_seeds, "screening": args.screening,
            "algorithm": args.algorithm,
            "objectives": args.objectives, **paths}


def _progress_hook(display: ProgressDisplay, jsonl: JsonLines | None,
                   stop: _StopOnSignal) -> Any:
    announced = False

    def report(progress: RunProgress) -> None:
        nonlocal announced
        stop.starting = progress.phase == "starting"
        if jsonl is not None:
            if not announced:
                jsonl.emit("started", run_id=progress.run_id)
                announced = True
            jsonl.progress(progress)
            if jsonl.gone:  # the server died: stop as it would have asked, keeping what is done
                stop.listener_gone()
        display.update(progress)

    return report


class _StopOnSignal:
    """SIGTERM or Ctrl-C asks the run to stop (a second Ctrl-C interrupts at once)."""

    def __init__(self) -> None:
        self._requested = False
        self.interrupted = False  # by Ctrl-C (SIGINT), rather than SIGTERM
        # while the run starts (dataset, workers, the static checker's start-up) it waits in
        # calls that never look at `requested`; nothing is evaluated yet, so a stop may
        # interrupt them: the run still ends cancelled within a second
        self.starting = True
        self._previous: dict[int, Any] = {}

    def requested(self) -> bool:
        return self._requested

    def listener_gone(self) -> None:
        """The progress reader went away: a stop like SIGTERM's (the guard's comes next)."""
        self._requested = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self._requested
        self._requested = True
        self.interrupted = self.interrupted or signum == signal.SIGINT
        if self.starting or (not first and signum == signal.SIGINT):
            raise KeyboardInterrupt

    def __enter__(self) -> _StopOnSignal:  # noqa: PYI034 - Self needs Python 3.11
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
