"""What the terminal shows: the progress of a run, its Pareto table, the list of runs.

Human output goes to stderr/console through rich; machine output (`--json`, the language
server's `--progress-jsonl`) is one JSON document per line on stdout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from nnevolve.duration import time_left

if TYPE_CHECKING:  # the engine is imported only when a run needs it (spawned workers re-import us)
    from nnevolve.results import ParetoVariant, RunProgress, RunResult
    from nnevolve.store import RunCounts, RunRecord

_MAX_CHANGES_SHOWN = 6  # a cell of more lines buries the table; pareto.json has every one
_MIN_CHANGES_WIDTH = 30  # narrower, the changes go below the table (a column would wrap each word)


# -- numbers in words ------------------------------------------------------------------------

def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def mean_accuracy(variant: ParetoVariant) -> str:
    """`94.1% ± 0.6` for a mean over seeds (the spread in points), `94.1%` for one evaluation."""
    spread = variant.accuracy_spread
    return percent(variant.accuracy) + ("" if spread is None else f" ± {100 * spread:.1f}")


def signed_points(value: float, base: float) -> str:
    """An accuracy difference in percentage points: `+0.4`, `−1.2`."""
    return f"{100 * (value - base):+.1f}".replace("-", "−")


def relative(value: float, base: float) -> str:
    """A relative change: `−38%` (a true minus sign, as the editor shows it)."""
    if base == 0:
        return "–"
    change = round(100 * (value - base) / base)
    return f"{change:+d}%".replace("-", "−")


def changes_text(changes: Sequence[str]) -> str:
    """A variant's changes, one per line; past `_MAX_CHANGES_SHOWN`, how many more there are."""
    if not changes:
        return "(unchanged)"
    shown = list(changes[:_MAX_CHANGES_SHOWN])
    more = len(changes) - len(shown)
    return "\n".join(shown + ([f"+{more} more changed lines (pareto.json has them all)"]
                              if more else []))


def lineage_text(lineage: Sequence[dict[str, str]]) -> str:
    """The edits that bred a variant, in order: `insert nn.ReLU() after line 14; ...`."""
    return "; ".join(edit.get("summary", edit.get("op", "?")) for edit in lineage) or "(none)"


def print_error(command: str, message: str, *, as_json: bool) -> None:
    """A command's error: `{"error": ...}` on stdout under `--json` (a script reads one JSON
    document whatever happened), else `nnevolve CMD: error: ...` on stderr."""
    if as_json:
        print(json.dumps({"error": message}), flush=True)
    else:
        Console(stderr=True).print(f"nnevolve {command}: error: {message}", markup=False,
                                   highlight=False, soft_wrap=True)


def _when(timestamp: float | None) -> str:
    return "–" if timestamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _duration(start: float | None, end: float | None) -> str:
    if start is None:
        return "–"
    seconds = int((end or time.time()) - start)
    return f"{seconds // 60}m{seconds % 60:02d}s"


# -- tables ----------------------------------------------------------------------------------

def pareto_table(result: RunResult, width: int = 100) -> Table:
    """The Pareto variants against the original network (first row), `width` columns wide."""
    base = result.base
    has_test = any(v.test_accuracy is not None for v in result.pareto) or (
        base is not None and base.test_accuracy is not None)
    rows = []
    if base is not None:
        rows.append(["orig", mean_accuracy(base),
                     *([percent(base.test_accuracy)] if has_test else []),
                     f"{base.params:,}", f"{base.latency_ms:.3f} ms", _base_words(result)])
    rows += [_variant_row(i, v, base, has_test) for i, v in enumerate(result.pareto, start=1)]
    table = Table(title=f"Pareto front · {result.class_name} on {result.config.dataset}",
                  title_justify="left")
    names = ["#", "accuracy", *(["test acc."] if has_test else []), "params", "latency"]
    used = 1  # the left border
    for column, name in enumerate(names):
        # figures never shrink or wrap; the changes get what is left, wrapped, never cut
        cells = max([len(name), *(len(row[column]) for row in rows)])
        table.add_column(name, justify="right", no_wrap=True, min_width=cells)
        used += cells + 3  # padding on both sides and a border
    inline = width - used - 3 >= _MIN_CHANGES_WIDTH
    if inline:
        table.add_column("changes", overflow="fold", max_width=width - used - 3)
    else:  # the base's note goes below the table with the variants' changes
        rows = [row[:-1] for row in rows]
        table.caption, table.caption_justify = "changes below", "left"
    for index, row in enumerate(rows):
        table.add_row(*row, style="bold" if index == 0 and base is not None else None)
    return table


def _base_words(result: RunResult) -> str:
    """`your network, net.py (repaired to fit the dataset, on the front)`."""
    repaired = result.base is not None and bool(result.base.changes)
    notes = [note for note, applies in [("repaired to fit the dataset", repaired),
                                        ("on the front", result.base_on_front)] if applies]
    return f"your network, {Path(result.file).name}" + (f" ({', '.join(notes)})" if notes else "")


def changes_list(result: RunResult) -> Table:
    """Each variant's changes under its number, wrapped (a narrow terminal's changes column)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(overflow="fold")
    if result.base is not None:
        grid.add_row("orig", _base_words(result))
    for index, variant in enumerate(result.pareto, start=1):
        grid.add_row(f"{index:02d}", changes_text(variant.changes))
    return grid


def _variant_row(index: int, v: ParetoVariant, base: ParetoVariant | None,
                 has_test: bool) -> list[str]:
    accuracy, params, latency = mean_accuracy(v), f"{v.params:,}", f"{v.latency_ms:.3f} ms"
    if base is not None:
        accuracy += f" ({signed_points(v.accuracy, base.accuracy)})"
        params += f" ({relative(v.params, base.params)})"
        latency += f" ({relative(v.latency_ms, base.latency_ms)})"
    row = [f"{index:02d}", accuracy]
    if has_test:
        row.append(percent(v.test_accuracy))
    row += [params, latency, changes_text(v.changes)]
    return row


def runs_table(runs: Sequence[RunRecord]) -> Table:
    """`nnevolve runs`: newest first, with status and counts."""
    table = Table(title="Runs", title_justify="left")
    for name, justify in [("run", "left"), ("status", "left"), ("model", "left"),
                          ("dataset", "left"), ("gen", "right"), ("evaluated", "right"),
                          ("cached", "right"), ("rejected", "right"), ("failed", "right"),
                          ("started", "left"), ("took", "right")]:
        # an id that wraps cannot be copied: keep it (and the status) on one line
        table.add_column(name, justify=justify,  # type: ignore[arg-type]
                         no_wrap=name in ("run", "status"))
    colours = {"finished": "green", "running": "cyan", "cancelled": "yellow", "failed": "red"}
    for run in runs:
        c = run.counts
        table.add_row(
            run.id, f"[{colours.get(run.status, 'white')}]{run.status}[/]",
            f"{Path(run.file).name}:{run.class_name}", str(run.config.get("dataset", "?")),
            # under a time budget the generations have no set number
            f"{run.generation}" if run.config.get("time") is not None
            else f"{run.generation}/{int(run.config.get('generations', 0)) + 1}",
            str(c.evaluated), str(c.cached), str(c.rejected), str(c.failed),
            _when(run.created_at), _duration(run.started_at, run.finished_at),
        )
    return table


def screening_summary(c: RunCounts, screening: float) -> str:
    """`screening: 40 children trained on 25% of the budget first; 14 promoted to the full
    budget, 26 screened out` (the figures offered are all full-budget ones)."""
    return (f"screening: {c.screened + c.promoted} children trained on {100 * screening:g}% "
            f"of the budget first; {c.promoted} promoted to the full budget, {c.screened} "
            "screened out (the figures shown are all full-budget ones)")


def print_result(console: Console, result: RunResult, *, lineage: bool = False) -> None:
    """The end of a run: status line, Pareto table (with each variant's lineage when asked),
    statistics and where the files are."""
    c, s = result.counts, result.stats
    colour = {"finished": "green", "cancelled": "yellow", "failed": "red"}.get(result.status, "")
    console.print(f"[bold {colour}]run {result.run_id} {result.status}[/]"
                  + (f": {result.error}" if result.error else ""))
    table = pareto_table(result, console.width)
    console.print(table)
    if not any(column.header == "changes" for column in table.columns):
        console.print(changes_list(result))
    if lineage:
        for index, variant in enumerate(result.pareto, start=1):
            console.print(f"{index:02d} lineage: {lineage_text(variant.lineage)}", markup=False,
                          highlight=False)
    console.print(
        f"variants: {c.evaluated} trained, {c.cached} cached, {c.rejected} rejected by the "
        f"static check, {c.failed} failed")
    if result.screening > 0:
        console.print(screening_summary(c, result.screening), markup=False, highlight=False)
    if result.recipe:
        console.print(f"training recipe: {result.recipe}", markup=False, highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)} (variants train without it)")
    for withheld in result.withheld:
        console.print(f"[yellow]withheld:[/] {escape(withheld)}")
    if s.trained:
        console.print(
            f"{s.evals_per_minute:.1f} evaluations/min · overhead {percent(s.overhead_share)} "
            f"of evaluation time · static rejection rate {percent(s.static_rejection_rate)} · "
            f"valid {percent(s.valid_rate)} · {s.wall_seconds:.0f} s")
    written = result.status == "finished" or any(v.file for v in result.pareto)
    if written and result.out_dir is not None:
        found = "what the run found so far: " if result.status == "cancelled" else ""
        scripts = sorted({Path(v.train_file).name.split(".", 1)[1] for v in result.pareto
                          if v.train_file})
        beside = "".join(f", variant-NN.{s} (where # changes {s})" for s in scripts)
        console.print(f"{found}variant-NN.py (NN = #){beside}, pareto.json and pareto.png in "
                      f"{result.out_dir}", soft_wrap=True)
    if result.status == "cancelled":
        console.print(f"continue it with: nnevolve evolve --resume {result.run_id}",
                      soft_wrap=True)


# -- progress --------------------------------------------------------------------------------

class ProgressDisplay:
    """A rich progress bar fed with RunProgress reports (on stderr; a no-op when disabled)."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
            console=console, transient=True, disable=not enabled,
        )
        self._task = self._progress.add_task("starting", total=100, detail="")

    def __enter__(self) -> ProgressDisplay:  # noqa: PYI034 - Self needs Python 3.11
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, p: RunProgress) -> None:
        of = "" if p.generations is None else f"/{p.generations}"  # a time budget: no end
        self._progress.update(self._task, completed=p.percent,
                              description=f"generation {p.generation}{of}",
                              detail=progress_line(p))


def progress_line(p: RunProgress) -> str:
    """`12 evaluated · 3 cached · 5 rejected · 0 failed · best 97.2% · smallest 1,234 params`,
    then `· 4 min left` when the run has a time budget."""
    parts = [f"{p.evaluated} evaluated", f"{p.cached} cached", f"{p.rejected} rejected",
             f"{p.failed} failed"]
    if p.screened or p.promoted:
        parts.insert(1, f"{p.promoted} promoted · {p.screened} screened out")
    if p.best_accuracy is not None:
        parts.append(f"best {percent(p.best_accuracy)}")
    if p.smallest_params is not None:
        parts.append(f"smallest {p.smallest_params:,} params")
    if p.seconds_left is not None:
        parts.append(time_left(p.seconds_left))
    return " · ".join(parts)


class JsonLines:
    """One JSON object per line, flushed at once (the language server reads them live)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.gone = False  # the reader closed its end (its server died): nobody listens

    def emit(self, event: str, **fields: Any) -> None:
        self._write({"event": event, **fields})

    def progress(self, p: RunProgress) -> None:
        self._write(p.to_json())

    def _write(self, data: dict[str, Any]) -> None:
        if self.gone:
            return
        try:
            self.stream.write(json.dumps(data) + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed after one
            self.gone = True
