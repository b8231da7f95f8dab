"""The output folder's files: variant files, pareto.json entries and the pareto.png plot."""

from __future__ import annotations

from pathlib import Path

from nnevolve.outputs import (
    pareto_entry,
    variant_file_name,
    write_pareto_plot,
    write_variant_files,
)
from nnevolve.store import Evaluation
from nnevolve.variant_files import MODEL, TRAIN, VariantFile

WITH_TEST = Evaluation(status="ok", accuracy=0.9, test_accuracy=0.88, params=1200, latency_ms=0.2)
NO_TEST = Evaluation(status="ok", accuracy=0.8, params=300, latency_ms=0.1)


def test_variant_files_are_numbered_from_one(tmp_path: Path) -> None:
    model = [VariantFile(MODEL, "/p/model.py", "a = 0\n", "a = 1\n")]
    with_script = [VariantFile(MODEL, "/p/model.py", "a = 0\n", "b = 2\n"),
                   VariantFile(TRAIN, "/p/train.py", "lr = 1\n", "lr = 3\n")]
    paths = write_variant_files(tmp_path / "out", [model, with_script])
    assert [p.name for p in paths] == ["variant-01.py", "variant-02.py", "variant-02.train.py"]
    assert paths[1].read_text() == "b = 2\n"
    assert paths[2].read_text() == "lr = 3\n"  # the variant's training script beside it
    assert variant_file_name(12) == "variant-12.py"
    entry = pareto_entry("variant-02.py", "Net", NO_TEST, [], [], train_file=paths[2].name)
    assert entry["train_file"] == "variant-02.train.py"


def test_test_accuracy_appears_only_where_the_dataset_has_a_test_split() -> None:
    lineage = [{"op": "delete", "summary": "delete nn.ReLU() at line 9"}]
    changes = ["line 9: delete nn.ReLU()"]
    entry = pareto_entry("variant-01.py", "Net", WITH_TEST, changes, lineage)
    assert entry == {"file": "variant-01.py", "class": "Net", "kwargs": {}, "model": "Net",
                     "accuracy": 0.9,
                     "params": 1200, "latency_ms": 0.2, "changes": changes, "lineage": lineage,
                     "test_accuracy": 0.88}
    assert "test_accuracy" not in pareto_entry("variant-02.py", "Net", NO_TEST, [], [])


def test_a_cancelled_runs_entries_say_so() -> None:
    assert pareto_entry("variant-01.py", "Net", NO_TEST, [], [], cancelled=True)["cancelled"]
    assert "cancelled" not in pareto_entry("variant-01.py", "Net", NO_TEST, [], [])


def test_the_plot_is_a_png_even_with_only_the_original(tmp_path: Path) -> None:
    full = write_pareto_plot(tmp_path, front=[WITH_TEST, NO_TEST], others=[NO_TEST],
                             base=WITH_TEST, title="Net on digits")
    assert full.read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "alone").mkdir()
    alone = write_pareto_plot(tmp_path / "alone", front=[], others=[], base=NO_TEST, title="t")
    assert alone.read_bytes()[:4] == b"\x89PNG"
