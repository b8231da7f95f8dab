"""SQLite run store: runs, their variants and the evaluation cache.

Every write is committed as it happens (autocommit, WAL journal), so another process — the
language server — can read a run while it is being written, and a killed run loses nothing
that was already evaluated.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import secrets
import statistics
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nnevolve.store.records import (MAX_CONFIRM_SEEDS, Evaluation, RunCounts, RunRecord,
                                    Variant, seed_dataset_key)
from nnevolve.store import claims
from nnevolve.store.opening import open_store
from nnevolve.store.schema import StoreError

DEFAULT_STORE = Path(".nnevolve") / "runs.sqlite"

_VARIANT_COLUMNS = """
    v.id, v.run_id, v.source_hash, v.source, v.parents, v.edits, v.generation, v.status,
    v.reason, v.cached, v.is_base, v.is_pareto,
    e.status, e.accuracy, e.test_accuracy, e.params, e.latency_ms, e.train_seconds,
    e.total_seconds, e.reason, e.latency_spread_ms, r.train_seed, r.confirm_seeds,
    r.dataset_fingerprint, r.budget_key, v.train_source, v.fidelity, v.promoted, r.redraw_splits
"""
_VARIANT_JOIN = """
    FROM variants v JOIN runs r ON r.id = v.run_id
    LEFT JOIN evaluations e ON e.source_hash = v.source_hash
        AND e.dataset_fingerprint = r.dataset_fingerprint AND e.budget_key = r.budget_key
        AND e.train_seed = r.train_seed
"""
_EVALUATION_COLUMNS = """status, accuracy, test_accuracy, params, latency_ms, train_seconds,
    total_seconds, reason, latency_spread_ms"""
_COUNTS = """
    SELECT
        SUM(status = 'evaluated' AND cached = 0), SUM(cached = 1), SUM(status = 'rejected'),
        SUM(status = 'failed' AND cached = 0), SUM(status = 'pending'),
        SUM(status = 'screened' AND cached = 0), SUM(promoted = 1)
    FROM variants WHERE run_id = ? AND is_base = 0
"""


def default_store_path(workspace: Path) -> Path:
    """Where a workspace keeps its runs: `<workspace>/.nnevolve/runs.sqlite`."""
    return workspace / DEFAULT_STORE


def new_run_id() -> str:
    """A sortable, readable run id: `20250131-142501-3fa2`."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class RunStore:
    """The run store of one workspace (thread-safe; one connection per instance).

    Parameters
    ----------
    path
        The SQLite file; its folder is created. `":memory:"` for a throwaway store.
    read_only
        Open it for reading only (no folder, file or WAL index is created).
    """

    def __init__(self, path: Path | str = DEFAULT_STORE, *, read_only: bool = False) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self.read_only = read_only  # `runs`, `show`: never writes, works on a read-only file
        self._conn = open_store(self.path, read_only=read_only)
        self._claims_ready = False  # the claims table is made on first use
        self._lock = threading.RLock()

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _write(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, args)

    # -- runs -------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        file: str,
        class_name: str,
        base_source: str,
        base_hash: str,
        config: dict[str, Any],
        dataset_fingerprint: str,
        budget_key: str,
        out_dir: str | None = None,
        train_seed: int = 0,
        confirm_seeds: int = 0,
        train_file: str | None = None,
        train_source: str | None = None,
        redraw_splits: bool = True,
    ) -> str:
        """Record a new run (status `running`) and return its id.

        Its variants are trained with `train_seed`; its front is confirmed with the
        `confirm_seeds` seeds after it (a variant's `confirmed` figures are their mean), each
        on the split redrawn with it when `redraw_splits` (see RunRecord.split_seed).
        `train_file` / `train_source`: the project's training script and its text, the base
        of the variants that change it.
        """
        run_id = new_run_id()
        now = time.time()
        self._write(
            "INSERT INTO runs (id, file, class_name, base_source, base_hash, config,"
            " dataset_fingerprint, budget_key, status, out_dir, created_at, started_at,"
            " train_seed, confirm_seeds, train_file, train_source, redraw_splits)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, file, class_name, base_source, base_hash, json.dumps(config),
             dataset_fingerprint, budget_key, out_dir, now, now, train_seed, confirm_seeds,
             train_file, train_source, int(redraw_splits)),
        )
        return run_id

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return self._run_record(rows[0]) if rows else None

    def resolve_run_id(self, text: str) -> str:
        """The run whose id is `text` or starts with it; StoreError when none or several."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._query("SELECT id FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\'"
                           " ORDER BY id", (text, escaped + "%"))
        ids = [row[0] for row in rows]
        if text in ids:
            return text
        if len(ids) == 1:
            return str(ids[0])
        if not ids:
            raise StoreError(f"no run '{text}' in {self.path or 'the run store'}")
        raise StoreError(f"'{text}' matches several runs: {', '.join(ids[:5])}")

    def list_runs(self, *, file: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first; only those of `file` when given."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        args: list[Any] = []
        if file is not None:
            sql += " WHERE file = ?"
            args.append(file)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [self._run_record(row) for row in self._query(sql, args)]

    def set_run_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Set a run's status; a final status also stamps its finish time."""
        finished = time.time() if status != "running" else None
        self._write(
            "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, error, finished, run_id),
        )

    def restart_run(self, run_id: str) -> None:
        """Mark a resumed run as running again."""
        self._write(
            "UPDATE runs SET status = 'running', error = NULL, finished_at = NULL,"
            " started_at = ? WHERE id = ?",
            (time.time(), run_id),
        )

    def set_generation(self, run_id: str, completed: int) -> None:
        """Checkpoint: how many generations (the initial population is the first) are complete."""
        self._write("UPDATE runs SET generation = ? WHERE id = ?", (completed, run_id))

    def set_calibration(self, run_id: str, calibration: dict[str, Any]) -> None:
        """The noise measured on the run's base network before its search (JSON-ready)."""
        self._write("UPDATE runs SET calibration = ? WHERE id = ?",
                    (json.dumps(calibration), run_id))

    def set_out_dir(self, run_id: str, out_dir: str) -> None:
        self._write("UPDATE runs SET out_dir = ? WHERE id = ?", (out_dir, run_id))

    def set_run_file(self, run_id: str, file: str) -> None:
        """Record the run as a run of `file` (e.g. the real path of an unsaved document's copy)."""
        self._write("UPDATE runs SET file = ? WHERE id = ?", (file, run_id))

    def counts(self, run_id: str) -> RunCounts:
        """Variant counts of a run, the seed network excluded."""
        row = self._query(_COUNTS, (run_id,))[0]
        return RunCounts(*(int(n or 0) for n in row))

    def _run_record(self, row: tuple[Any, ...]) -> RunRecord:
        values = dict(zip(_RUN_COLUMNS.replace(" ", "").split(","), row))
        values["config"] = json.loads(values["config"])
        values["calibration"] = json.loads(values["calibration"] or "null")
        values["redraw_splits"] = bool(values["redraw_splits"])
        return RunRecord(**values, counts=self.counts(values["id"]))

    # -- variants ---------------------------------------------------------------------------

    def add_variant(
        self,
        run_id: str,
        *,
        source: str,
        source_hash: str,
        parents: Iterable[int] = (),
        edits: Iterable[dict[str, str]] = (),
        generation: int = 0,
        status: str = "pending",
        reason: str | None = None,
        is_base: bool = False,
        train_source: str | None = None,
    ) -> int:
        """Record a variant of a run and return its id; an already-recorded source keeps its row.

        `train_source`: the run's training script as the variant changed it (None: unchanged).
        """
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO variants (run_id, source_hash, source, parents, edits,"
                " generation, status, reason, is_base, created_at, train_source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, source_hash, source, json.dumps(list(parents)),
                 json.dumps(list(edits)), generation, status, reason, int(is_base), time.time(),
                 train_source),
            )
            if cursor.rowcount:
                return int(cursor.lastrowid or 0)
            row = self._conn.execute(
                "SELECT id FROM variants WHERE run_id = ? AND source_hash = ?",
                (run_id, source_hash),
            ).fetchone()
            return int(row[0])

    def set_variant_status(
        self, variant_id: int, status: str, *, reason: str | None = None, cached: bool = False,
        fidelity: float = 1.0,
    ) -> None:
        """`fidelity`: the share of the budget the result behind `status` was trained with."""
        self._write(
            "UPDATE variants SET status = ?, reason = ?, cached = ?, fidelity = ? WHERE id = ?",
            (status, reason, int(cached), fidelity, variant_id),
        )

    def set_promoted(self, variant_id: int) -> None:
        """The variant's screening earned it the full budget (it is pending that training)."""
        self._write("UPDATE variants SET promoted = 1, status = 'pending', reason = NULL,"
                    " cached = 0 WHERE id = ?", (variant_id,))

    def set_screening(self, run_id: str, screening: float) -> None:
        """The share of the budget the run screens children with (0: it does not)."""
        self._write("UPDATE runs SET screening = ? WHERE id = ?", (screening, run_id))

    def find_variant(self, run_id: str, source_hash: str) -> Variant | None:
        rows = self._query(
            f"SELECT {_VARIANT_COLUMNS} {_VARIANT_JOIN} WHERE v.run_id = ? AND v.source_hash = ?",
            (run_id, source_hash),
        )
        return self._confirm([_variant(row) for row in rows])[0] if rows else None

    def get_variant(self, variant_id: int) -> Variant | None:
        rows = self._query(f"SELECT {_VARIANT_COLUMNS} {_VARIANT_JOIN} WHERE v.id = ?",
                           (variant_id,))
        return self._confirm([_variant(row) for row in rows])[0] if rows else None

    def variants(self, run_id: str, *, status: str | None = None) -> list[Variant]:
        """A run's variants in the order they were recorded."""
        sql = f"SELECT {_VARIANT_COLUMNS} {_VARIANT_JOIN} WHERE v.run_id = ?"
        args: list[Any] = [run_id]
        if status is not None:
            sql += " AND v.status = ?"
            args.append(status)
        return self._confirm([_variant(row) for row in self._query(sql + " ORDER BY v.id", args)])

    def base_variant(self, run_id: str) -> Variant | None:
        """The run's seed network (the user's own model, repaired to the dataset if needed)."""
        rows = self._query(
            f"SELECT {_VARIANT_COLUMNS} {_VARIANT_JOIN} WHERE v.run_id = ? AND v.is_base = 1",
            (run_id,),
        )
        return self._confirm([_variant(row) for row in rows])[0] if rows else None

    def set_pareto(self, run_id: str, variant_ids: Iterable[int]) -> None:
        """Mark exactly `variant_ids` as the run's Pareto front."""
        ids = list(variant_ids)
        with self._transaction() as conn:
            conn.execute("UPDATE variants SET is_pareto = 0 WHERE run_id = ?", (run_id,))
            conn.executemany("UPDATE variants SET is_pareto = 1 WHERE id = ? AND run_id = ?",
                             [(i, run_id) for i in ids])

    def pareto(self, run_id: str) -> list[Variant]:
        """The run's Pareto variants, most accurate first (by their confirmed means, if any)."""
        rows = self._query(
            f"SELECT {_VARIANT_COLUMNS} {_VARIANT_JOIN} WHERE v.run_id = ? AND v.is_pareto = 1"
            " ORDER BY v.id",
            (run_id,),
        )
        return sorted(self._confirm([_variant(row) for row in rows]), key=_most_accurate_first)

    def _confirm(self, variants: list[tuple[Variant, range, dict[int, str], str]]
                 ) -> list[Variant]:
        """The variants with their `confirmed` figures, where every seed of their run trained:
        the mean over the run's confirmation seeds and the further ones (up to
        MAX_CONFIRM_SEEDS) that trained after them without a gap."""
        out = []
        for variant, seeds, datasets, budget_key in variants:
            if not seeds or variant.evaluation is None:
                out.append(variant)
                continue
            keys = sorted(set(datasets.values()))
            rows = self._query(
                f"SELECT train_seed, dataset_fingerprint, {_EVALUATION_COLUMNS} FROM evaluations"
                " WHERE source_hash = ? AND budget_key = ? AND train_seed BETWEEN ? AND ?"
                f" AND dataset_fingerprint IN ({', '.join('?' * len(keys))})",
                (variant.source_hash, budget_key, min(datasets), max(datasets), *keys),
            )
            by_seed = {row[0]: Evaluation(*row[2:]) for row in rows
                       if datasets.get(row[0]) == row[1]}
            trained = list(itertools.takewhile(lambda s: s in by_seed, itertools.count(seeds.start)))
            confirmed = mean_evaluation([by_seed[s] for s in trained], len(seeds))
            out.append(dataclasses.replace(variant, confirmed=confirmed))
        return out

    def set_withheld(self, run_id: str, reasons: dict[int, str]) -> None:
        """Record why each of `reasons`' evaluated variants is not offered (and that the
        run's other evaluated variants are not withheld)."""
        with self._transaction() as conn:
            conn.execute("UPDATE variants SET reason = NULL WHERE run_id = ?"
                         " AND status = 'evaluated'", (run_id,))
            conn.executemany("UPDATE variants SET reason = ? WHERE id = ? AND run_id = ?"
                             " AND status = 'evaluated'",
                             [(reason, i, run_id) for i, reason in reasons.items()])

    def withheld(self, run_id: str) -> list[Variant]:
        """The evaluated variants the run does not offer for a reason it recorded."""
        rows = self._query(
            f"SELECT {_VARIANT_COLUMNS} {_VARIANT_JOIN} WHERE v.run_id = ?"
            " AND v.status = 'evaluated' AND v.reason IS NOT NULL AND v.is_pareto = 0"
            " ORDER BY v.id", (run_id,))
        return sorted(self._confirm([_variant(row) for row in rows]), key=_most_accurate_first)

    # -- evaluation cache -------------------------------------------------------------------

    def cached_evaluation(
        self, source_hash: str, dataset_fingerprint: str, budget_key: str, train_seed: int = 0
    ) -> Evaluation | None:
        """The stored result of this source on this dataset and budget with this training
        seed, if any."""
        rows = self._query(
            f"SELECT {_EVALUATION_COLUMNS} FROM evaluations WHERE source_hash = ?"
            " AND dataset_fingerprint = ? AND budget_key = ? AND train_seed = ?",
            (source_hash, dataset_fingerprint, budget_key, train_seed),
        )
        return Evaluation(*rows[0]) if rows else None

    def put_evaluation(
        self, source_hash: str, dataset_fingerprint: str, budget_key: str, result: Evaluation,
        train_seed: int = 0,
    ) -> None:
        """Cache one evaluation (a later result for the same key replaces it)."""
        self._write(
            "INSERT OR REPLACE INTO evaluations (source_hash, dataset_fingerprint, budget_key,"
            " train_seed, status, accuracy, test_accuracy, params, latency_ms, train_seconds,"
            " total_seconds, reason, latency_spread_ms, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (source_hash, dataset_fingerprint, budget_key, train_seed, result.status,
             result.accuracy, result.test_accuracy, result.params, result.latency_ms,
             result.train_seconds, result.total_seconds, result.reason,
             result.latency_spread_ms, time.time()),
        )

    def set_test_accuracy(
        self, source_hash: str, dataset_fingerprint: str, budget_key: str, test_accuracy: float,
        train_seed: int = 0,
    ) -> None:
        self._write(
            "UPDATE evaluations SET test_accuracy = ? WHERE source_hash = ?"
            " AND dataset_fingerprint = ? AND budget_key = ? AND train_seed = ?",
            (test_accuracy, source_hash, dataset_fingerprint, budget_key, train_seed),
        )

    # -- claims: concurrent runs train a source once --------------------------------------

    def claim(self, key: str, run_id: str) -> bool:
        """Claim the right to train the evaluation `key` for `run_id`; False while another
        live run holds it (it will put the result in the cache)."""
        with self._transaction() as conn:
            if not self._claims_ready:
                claims.ensure_table(conn)
                self._claims_ready = True
            return claims.try_claim(conn, key, run_id)

    def release_claims(self, run_id: str, key: str | None = None) -> None:
        """Give up `run_id`'s claim on `key` (all of its claims when None)."""
        if not self._claims_ready:
            return  # this store object never claimed anything
        if key is None:
            self._write("DELETE FROM evaluation_claims WHERE run_id = ?", (run_id,))
        else:
            self._write("DELETE FROM evaluation_claims WHERE run_id = ? AND key = ?",
                        (run_id, key))


_RUN_COLUMNS = (
    "id, file, class_name, base_source, base_hash, config, dataset_fingerprint, budget_key,"
    " status, error, out_dir, generation, created_at, started_at, finished_at, train_seed,"
    " confirm_seeds, calibration, train_file, train_source, screening, redraw_splits"
)


def _variant(row: tuple[Any, ...]) -> tuple[Variant, range, dict[int, str], str]:
    """A variant row, the training seeds its run reports the mean of at least (the confirmation
    seeds: the search's own seed chose the variant, so its luck is left out), and the cache
    key of their results: the dataset part of each seed it may have (up to
    MAX_CONFIRM_SEEDS), and the budget's."""
    evaluation = Evaluation(*row[12:21]) if row[12] is not None else None
    variant = Variant(
        id=row[0], run_id=row[1], source_hash=row[2], source=row[3],
        parents=json.loads(row[4]), edits=json.loads(row[5]), generation=row[6],
        status=row[7], reason=row[8], cached=bool(row[9]), is_base=bool(row[10]),
        is_pareto=bool(row[11]), evaluation=evaluation, train_source=row[25],
        fidelity=float(row[26]), promoted=bool(row[27]),
    )
    train_seed, confirm_seeds, redraw = int(row[21]), int(row[22]), bool(row[28])
    seeds = range(train_seed + 1, train_seed + confirm_seeds + 1)
    datasets = {s: seed_dataset_key(row[23], s if redraw else None)
                for s in range(seeds.start, seeds.start + max(len(seeds), MAX_CONFIRM_SEEDS))}
    return variant, seeds, datasets, row[24]


def mean_evaluation(evaluations: Sequence[Evaluation], seeds: int) -> Evaluation | None:
    """The mean of `seeds` successful evaluations of one source (None when one is missing or
    failed): accuracy mean ± standard deviation, the median of the latencies and their
    standard deviation (None for a single seed), the exact parameter count."""
    if len(evaluations) < seeds or seeds < 1 or any(e.status != "ok" for e in evaluations):
        return None

    def spread(values: list[float]) -> float | None:
        return statistics.stdev(values) if len(values) > 1 else None

    accuracies = [float(e.accuracy or 0.0) for e in evaluations]
    latencies = [float(e.latency_ms or 0.0) for e in evaluations]
    tests = [e.test_accuracy for e in evaluations]
    return Evaluation(
        status="ok", accuracy=statistics.fmean(accuracies),
        test_accuracy=None if None in tests else statistics.fmean(float(t or 0) for t in tests),
        params=evaluations[0].params, latency_ms=statistics.median(latencies),
        train_seconds=sum(e.train_seconds for e in evaluations),
        total_seconds=sum(e.total_seconds for e in evaluations),
        latency_spread_ms=spread(latencies), accuracy_spread=spread(accuracies),
        seeds=len(evaluations),
    )


def _most_accurate_first(variant: Variant) -> tuple[float, int, int]:
    figures = variant.figures
    accuracy = figures.accuracy if figures is not None else None
    params = figures.params if figures is not None else None
    return (-(accuracy or 0.0), params or 0, variant.id)
