"""Run settings: defaults, `[tool.nnevolve]` in the nearest pyproject.toml, overrides on top,
and a clear message for every bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnevolve.config import ConfigError, EvolveConfig, load_config


def write_pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(body)
    return path


def test_without_a_pyproject_the_defaults_apply(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == EvolveConfig(root=tmp_path.resolve())
    assert config.dataset == "digits" and config.algorithm == "nsga2"
    assert config.objectives == ("error", "params", "latency")
    assert config.workers >= 1
    assert config.store_path == tmp_path.resolve() / ".nnevolve" / "runs.sqlite"
    assert config.out_dir("r1") == tmp_path.resolve() / ".nnevolve" / "runs" / "r1"


def test_the_nearest_pyproject_above_the_model_file_is_read(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.nnevolve]\ndataset = "mnist"\n')
    project = tmp_path / "project"
    write_pyproject(project, """
[project]
name = "demo"

[tool.nnevolve]
dataset = "idx:data/mnist"
generations = 3
population = 6
max-evals = 20
objectives = ["params", "error"]
algorithm = "random"
data_dir = "data"
store = "state/runs.sqlite"
""")
    model = project / "src" / "models" / "net.py"
    model.parent.mkdir(parents=True)
    model.write_text("")
    config = load_config(model)
    assert config.dataset == "idx:data/mnist"
    assert (config.generations, config.population, config.max_evals) == (3, 6, 20)
    assert config.objectives == ("error", "params")  # kept in canonical order
    assert config.algorithm == "random"
    assert config.root == project.resolve()
    assert config.data_path == project.resolve() / "data"
    assert config.store_path == project.resolve() / "state" / "runs.sqlite"
    assert config.evaluation_budget == 20


def test_a_pyproject_without_the_table_gives_defaults_rooted_there(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[project]\nname = 'x'\n")
    config = load_config(tmp_path / "sub")
    assert config.root == tmp_path.resolve() and config.epochs == EvolveConfig().epochs


def test_overrides_layer_above_the_file_and_ignore_unset_values(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.nnevolve]\ngenerations = 3\nepochs = 2\n")
    config = load_config(tmp_path).with_overrides(
        {"generations": 5, "epochs": None, "objectives": "error,params", "max-evals": 7})
    assert (config.generations, config.epochs, config.max_evals) == (5, 2, 7)
    assert config.objectives == ("error", "params")


def test_default_budget_is_one_population_per_generation_plus_the_first() -> None:
    assert EvolveConfig(population=6, generations=2).evaluation_budget == 18


def test_config_survives_a_json_round_trip(tmp_path: Path) -> None:
    config = EvolveConfig(root=tmp_path, dataset="npz:x.npz", objectives=("error",),
                          data_dir=Path("d"), max_train_seconds=3.5)
    assert EvolveConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("generatons = 3", "unknown setting 'generatons' (did you mean 'generations'?)"),
        ("population = 'ten'", "'population' must be a positive integer, not 'ten'"),
        ("epochs = 0", "'epochs' must be a positive integer, not 0"),
        ("workers = true", "'workers' must be a positive integer, not True"),
        ("seed = 1.5", "'seed' must be an integer, not 1.5"),
        ("confirm_seeds = -1", "'confirm_seeds' must be 0 or a positive integer, not -1"),
        ("algorithm = 'cmaes'", "'algorithm' must be one of nsga2, random, not 'cmaes'"),
        ("objectives = ['accuracy']", "'objectives' must be a non-empty list drawn from"),
        ("objectives = []", "'objectives' must be a non-empty list drawn from"),
        ("max_train_seconds = -1", "'max_train_seconds' must be a positive number, not -1"),
        ("dataset = 3", "'dataset' must be a dataset spec"),
    ],
)
def test_bad_settings_name_the_file_and_the_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write_pyproject(tmp_path, f"[tool.nnevolve]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{path} [tool.nnevolve]: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_broken_pyproject_is_reported_not_raised_as_a_toml_error(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.nnevolve\ndataset = 'digits'\n")
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path)


def test_bad_overrides_are_reported_as_overrides() -> None:
    with pytest.raises(ConfigError, match="^override: 'generations' must be a positive integer"):
        EvolveConfig().with_overrides({"generations": -2})
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        EvolveConfig().with_overrides({"colour": "red"})


def test_a_relative_dataset_path_is_relative_to_the_pyproject(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.nnevolve]\ndataset = "idx:data/mnist"\n')
    config = load_config(tmp_path / "deeper" / "model.py")
    assert config.dataset == "idx:data/mnist"  # as written, for display and the run store
    assert config.dataset_spec == f"idx:{(tmp_path / 'data' / 'mnist').resolve()}"
    assert EvolveConfig(dataset="npz:/abs/x.npz").dataset_spec == "npz:/abs/x.npz"
    assert EvolveConfig(dataset="digits").dataset_spec == "digits"


def test_confirm_seeds_defaults_to_two_and_may_be_turned_off(tmp_path: Path) -> None:
    assert EvolveConfig().confirm_seeds == 2
    write_pyproject(tmp_path, "[tool.nnevolve]\nconfirm-seeds = 0\n")
    assert load_config(tmp_path).confirm_seeds == 0
    assert load_config(tmp_path).with_overrides({"confirm_seeds": 3}).confirm_seeds == 3
