"""Recipe lines of a separate training script are evolved: a variant carries the script it
changed (bred, trained with, stored, written, phrased); the scheduler is inserted, deleted and
replaced; Adam's betas mutate."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from nnevolve.datasets import load_dataset
from nnevolve.evaluation.budget import Budget
from nnevolve.evaluation.train import evaluate_variant
from nnevolve.gene_pool import GenePool
from nnevolve.genome import Genome, normalize_source, source_hash, variant_hash
from nnevolve.operators import mutate
from nnevolve.operators.recipe import (
    RecipeText,
    delete_scheduler,
    insert_scheduler,
    mutate_recipe,
    mutate_recipe_text,
    replace_scheduler,
)
from nnevolve.recipe import read_recipe
from nnevolve.search import Breeder, Candidate, SearchCounts
from nnevolve.store import RunStore
from nnevolve.store.schema import SCHEMA_VERSION
from nnevolve.variant_files import changes_of, variant_files

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MODEL = (SAMPLES / "recipe_split" / "model.py").read_text()
SCRIPT = (SAMPLES / "recipe_split" / "train.py").read_text()
POOR = (SAMPLES / "poor_recipe" / "model.py").read_text()


def _script() -> RecipeText:
    text = RecipeText.parse(SCRIPT, "train.py")
    assert text is not None
    return text


def test_recipe_lines_of_the_training_script_are_evolved_there():
    genome = Genome.parse(MODEL, "Net")  # the model file writes no recipe
    rng = random.Random(0)
    summaries = set()
    for _ in range(40):
        child = mutate_recipe(genome, rng, _script())
        assert child is not None and child.source == MODEL  # the model file is untouched
        assert child.train_source is not None and child.train_source != SCRIPT
        assert not read_recipe(child.train_source).empty
        summaries.add(child.edits[0].summary)
    assert any(s.startswith("SGD lr 0.05 →") and s.endswith("at train.py line 16")
               for s in summaries)
    assert any("StepLR gamma 0.7 →" in s for s in summaries)
    assert any(s.startswith("delete scheduler StepLR") for s in summaries)
    assert any(s.startswith("scheduler StepLR →") for s in summaries)
    # the recipe is part of the genome only with training; without the script, no recipe
    assert mutate_recipe(genome, rng) is None
    pool = GenePool()
    with_script = [mutate(genome, random.Random(seed), pool, training=True, train=_script())
                   for seed in range(30)]
    assert any(c is not None and c.train_source is not None for c in with_script)
    assert all(c is None or c.train_source is None
               for c in (mutate(genome, random.Random(s), pool) for s in range(10)))


def test_a_scheduler_is_inserted_with_its_step_per_epoch_and_deleted_with_it():
    text = RecipeText.of(Genome.parse(POOR, "Net"))
    for seed in range(6):
        inserted = insert_scheduler(text, random.Random(seed))
        assert inserted is not None
        source, summary = inserted
        lines = source.splitlines()
        assert lines[34].startswith("    scheduler = optim.lr_scheduler.")  # after the optimizer
        assert "(optimizer, " in lines[34] and summary.startswith("insert scheduler")
        # once per epoch: after the batch loop, in the epoch loop's body
        assert lines[-1] == "        scheduler.step()" or "        scheduler.step()" in lines
        recipe = read_recipe(source)
        assert recipe.scheduler is not None and recipe.scheduler.line == 35
        again = RecipeText.parse(source, "")
        assert again is not None and insert_scheduler(again, random.Random(0)) is None
        deleted = delete_scheduler(again)
        assert deleted is not None
        assert normalize_source(deleted[0]) == normalize_source(POOR)  # both lines are gone
    cosine = next(insert_scheduler(text, random.Random(s))[0] for s in range(20)  # type: ignore[index]
                  if "Cosine" in insert_scheduler(text, random.Random(s))[0])  # type: ignore[index]
    assert "CosineAnnealingLR(optimizer, T_max=epochs)" in cosine  # the loop's own count
    # no epoch loop around the batch loop: nowhere to step it, nothing inserted
    flat = POOR.replace("    for _ in range(epochs):\n", "    if True:\n")
    assert insert_scheduler(RecipeText.parse(flat, ""), random.Random(0)) is None  # type: ignore[arg-type]


def test_a_scheduler_used_otherwise_is_not_deleted_and_one_is_replaced():
    used = SCRIPT.replace("    return model", "    print(scheduler.get_last_lr())\n    return model")
    assert delete_scheduler(RecipeText.parse(used, "train.py")) is None  # type: ignore[arg-type]
    names = set()
    for seed in range(10):
        replaced = replace_scheduler(_script(), random.Random(seed))
        assert replaced is not None
        recipe = read_recipe(replaced[0])
        assert recipe.scheduler is not None and recipe.scheduler.short != "StepLR"
        names.add(recipe.scheduler.short)
        # StepLR was imported by name: the new class is spelled through `from torch import optim`
        assert "optim.lr_scheduler." in replaced[0].splitlines()[16]
    assert names == {"CosineAnnealingLR", "ExponentialLR"}


def test_a_cosine_schedule_over_the_loops_epochs_trains():
    source = replace_scheduler(_script(), random.Random(1))
    while source is not None and "Cosine" not in source[0]:
        source = replace_scheduler(_script(), random.Random(len(source[0])))
    digits = load_dataset("digits", seed=0, max_train=256, max_val=128)
    assert source is not None
    result = evaluate_variant(MODEL, "Net", digits, Budget(epochs=2), seed=0,
                              train_source=source[0])
    assert result.ok, result.reason  # T_max=epochs: the epochs the engine trains


def test_adam_betas_are_mutated_and_added():
    written = POOR.replace("optim.SGD(model.parameters(), lr=0.05)",
                           "optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999))")
    text = RecipeText.parse(written, "")
    assert text is not None
    seen = set()
    rng = random.Random(0)
    for _ in range(40):
        changed = mutate_recipe_text(text, rng)
        assert changed is not None
        if "betas" in changed[1].summary:
            betas = dict(read_recipe(changed[0]).optimizer.kwargs)["betas"]  # type: ignore[union-attr]
            assert betas != (0.9, 0.999)
            seen.add(betas)
    assert len(seen) >= 2
    bare = RecipeText.parse(written.replace(", betas=(0.9, 0.999)", ""), "")
    assert bare is not None
    added = [c for c in (mutate_recipe_text(bare, random.Random(s)) for s in range(40))
             if c is not None and "betas" in c[1].summary]
    assert added and "betas" in dict(read_recipe(added[0][0]).optimizer.kwargs)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0, max_train=512, max_val=256)


def test_a_variant_trains_with_its_own_training_script(digits):
    budget = Budget(epochs=2, train_source=SCRIPT)
    wild = SCRIPT.replace("lr=0.05", "lr=1000.0")
    steady = evaluate_variant(MODEL, "Net", digits, budget, seed=0)
    own = evaluate_variant(MODEL, "Net", digits, budget, seed=0, train_source=wild)
    assert steady.ok and steady.accuracy > 0.6
    assert not own.ok or own.accuracy < 0.3  # its own script's learning rate, not the budget's
    assert variant_hash(MODEL, wild) != variant_hash(MODEL) == source_hash(MODEL)


def _breeder(store: RunStore, run_id: str) -> Breeder:
    return Breeder(store=store, run_id=run_id, class_name="Net", pool=GenePool(), checker=None,  # type: ignore[arg-type]
                   rng=random.Random(0), counts=SearchCounts(), evolve_training=True,
                   train_file="train.py", train_source=SCRIPT)


def test_the_breeder_gives_children_their_script_and_the_user_s_script_is_none():
    with RunStore(":memory:") as store:
        breeder = _breeder(store, "r")
        seed = Candidate(MODEL, source_hash(MODEL), "Net", checked=True)
        children = [breeder.mutant(seed) for _ in range(20)]
        scripted = [c for c in children if c is not None and c.train_source is not None]
        assert scripted
        for child in scripted:
            assert child.source_hash == variant_hash(child.source, child.train_source)
        # a child whose script is the user's again carries none: the same variant as the seed's
        back = breeder._child(scripted[0], type("O", (), {"source": MODEL, "edits": (),
                                                          "train_source": SCRIPT})())
        assert back is not None and back.train_source is None
        assert back.source_hash == source_hash(MODEL)
        # a child of a scripted parent keeps its parent's script when it changes the model only
        model_only = breeder._child(scripted[0], type("O", (), {
            "source": MODEL.replace("64, 64", "64, 32"), "edits": (), "train_source": None})())
        assert model_only is not None and model_only.train_source == scripted[0].train_source


def _run_with_a_script_variant(store: RunStore) -> tuple[str, str]:
    run_id = store.create_run(file="/p/model.py", class_name="Net", base_source=MODEL,
                              base_hash=source_hash(MODEL), config={}, dataset_fingerprint="d",
                              budget_key="k", train_file="/p/train.py", train_source=SCRIPT)
    changed = SCRIPT.replace("lr=0.05", "lr=0.15")
    store.add_variant(run_id, source=MODEL, source_hash=variant_hash(MODEL, changed),
                      train_source=changed)
    return run_id, changed


def test_the_store_keeps_a_variants_script_and_its_changes_name_the_file():
    with RunStore(":memory:") as store:
        run_id, changed = _run_with_a_script_variant(store)
        record = store.get_run(run_id)
        assert record is not None and record.train_source == SCRIPT
        assert record.train_file == "/p/train.py" and "train_source" not in record.to_json()
        (variant,) = store.variants(run_id)
        assert variant.train_source == changed
        assert [f.role for f in variant_files(record, variant)] == ["model", "train"]
        assert changes_of(record, variant) == ["train.py line 16: SGD lr 0.05→0.15"]


def test_a_store_of_the_previous_schema_is_migrated_and_its_runs_read(tmp_path: Path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run_id = store.create_run(file="/p/model.py", class_name="Net", base_source=MODEL,
                                  base_hash=source_hash(MODEL), config={},
                                  dataset_fingerprint="d", budget_key="k")
        store.add_variant(run_id, source=MODEL, source_hash=source_hash(MODEL), is_base=True)
    conn = sqlite3.connect(path)  # the columns of schema 2, as an older nnevolve left them
    for table, column in (("runs", "train_file"), ("runs", "train_source"),
                          ("variants", "train_source"), ("runs", "screening"),
                          ("runs", "redraw_splits")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()
    with RunStore(path, read_only=True) as store:  # `nnevolve show` on it: upgraded, read
        record = store.get_run(run_id)
        assert record is not None and record.train_source is None
        assert store.base_variant(run_id).train_source is None  # type: ignore[union-attr]
    with RunStore(path) as store:  # resumable: new variants are recorded with their scripts
        store.add_variant(run_id, source=MODEL, source_hash="x", train_source="lr = 1\n")
        assert [v.train_source for v in store.variants(run_id)] == [None, "lr = 1\n"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    assert json.dumps(record.to_json())  # still JSON for `nnevolve runs --json`


@pytest.mark.slow
def test_a_run_evolves_the_training_script_and_writes_the_variants_scripts(tmp_path: Path):
    from nnevolve.config import load_config
    from nnevolve.run import run_evolution
    from run_support import make_workspace

    # seed 4: generation 0 is a third scaled variants and a third transplants; this seed's
    # mutants edit train.py (seed 3's no longer did)
    settings = ('dataset = "digits"\ntrain_file = "train.py"\npopulation = 6\ngenerations = 1\n'
                'epochs = 2\nworkers = 2\nseed = 4\nobjectives = ["error", "params"]\n')
    workspace = make_workspace(tmp_path / "w", settings, {"model.py": MODEL, "train.py": SCRIPT})
    config = load_config(workspace / "model.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "model.py", store=store)
        assert result.status == "finished", result.error
        record = store.get_run(result.run_id)
        variants = store.variants(result.run_id)
    assert record is not None and record.train_source == SCRIPT
    assert record.train_file == str((workspace / "train.py").resolve())
    assert (workspace / "train.py").read_text() == SCRIPT  # the user's files are untouched
    scripted = [v for v in variants if v.train_source is not None and v.status == "evaluated"]
    assert scripted, "no variant that changes train.py was trained"
    for variant in scripted:
        assert variant.source_hash == variant_hash(variant.source, variant.train_source)
        assert any("at train.py line" in e["summary"] for e in variant.edits)
    # each Pareto variant's files: variant-NN.py, and variant-NN.train.py where it changes it
    out_dir = Path(record.out_dir or "")
    entries = json.loads((out_dir / "pareto.json").read_text())
    front = [v for v in store_front(config.store_path, result.run_id)]
    assert len(entries) == len(front)
    for entry, variant in zip(entries, front):
        assert (out_dir / entry["file"]).read_text() == variant.source
        if variant.train_source is None:
            assert "train_file" not in entry
        else:
            assert entry["train_file"] == entry["file"].replace(".py", ".train.py")
            assert (out_dir / entry["train_file"]).read_text() == variant.train_source
            assert any(c.startswith("train.py line ") for c in entry["changes"])


def store_front(path: Path, run_id: str):  # type: ignore[no-untyped-def]
    with RunStore(path, read_only=True) as store:
        return [v for v in store.pareto(run_id) if not v.is_base]


def test_a_resumed_run_trains_with_the_script_as_it_started(tmp_path: Path):
    from nnevolve.config import EvolveConfig
    from nnevolve.run import _resume

    edited = SCRIPT.replace("lr=0.05", "lr=0.9")
    (tmp_path / "train.py").write_text(edited)  # the user edited it after the run started
    config = EvolveConfig(root=tmp_path, train_file=Path("train.py"))
    with RunStore(":memory:") as store:
        started = store.create_run(
            file=str(tmp_path / "model.py"), class_name="Net", base_source=MODEL,
            base_hash=source_hash(MODEL), config=config.to_json(), dataset_fingerprint="d",
            budget_key="k", train_file=str(tmp_path / "train.py"), train_source=SCRIPT)
        older = store.create_run(  # a run stored before runs kept their script
            file=str(tmp_path / "model.py"), class_name="Net", base_source=MODEL,
            base_hash=source_hash(MODEL), config=config.to_json(), dataset_fingerprint="d",
            budget_key="k")
        assert _resume(config, store, started).train_source == SCRIPT
        assert _resume(config, store, older).train_source == edited  # read again (key-checked)
