"""Run settings: `[tool.nnevolve]` of the nearest pyproject.toml, overridden by CLI or LSP."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from nnevolve.duration import DURATION_HELP, parse_duration
from nnevolve.user_cache import user_cache_dir

ALGORITHMS = ("nsga2", "random")
SCREENING = ("auto", "on", "off")
_PATH_SPECS = ("idx:", "npz:", "folder:")  # dataset specs that name a file or folder
OBJECTIVES = ("error", "params", "latency")
_PATH_KEYS = ("data_dir", "store", "out", "train_file")
DEFAULT_ZOOS = ("torchvision",)  # model zoos harvested for the gene pool by default
DEVICE_SETTINGS = "auto, cpu, cuda or cuda:N"
_DEVICE_SETTING = re.compile(r"auto|cpu|cuda(:\d+)?")


class ConfigError(ValueError):
    """A setting is unknown or has the wrong type or value (one-line message)."""


@dataclass(frozen=True)
class EvolveConfig:
    """Everything that shapes one evolution run.

    The defaults give a useful run on `digits` in about two minutes on two cores.
    Relative paths are relative to `root` (the folder of the pyproject.toml they came from).
    """

    dataset: str = "digits"
    generations: int = 16
    population: int = 16
    epochs: int = 5
    # variants evaluated, trained or from the cache; None = population × (generations + 1)
    max_evals: int | None = None
    # wall-clock budget in seconds ("10m" in pyproject): breeding stops when it is spent, and
    # the generations no longer limit the run (max_evals still does)
    time: float | None = None
    workers: int = field(default_factory=lambda: _cores())  # on the CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N; auto = CUDA when torch sees a GPU
    workers_per_device: int = 1  # worker processes per GPU
    amp: bool = False  # mixed precision (CUDA only)
    cluster: str | None = None  # a Dask scheduler's address: evaluate there instead of here
    # the model expression: a class, a factory, or a call such as "VGG('VGG11')"
    model: str | None = None
    seed: int = 0
    # after the search, the front and the base are trained with this many more seeds and the
    # front is decided on the means
    confirm_seeds: int = 2
    # children first train on a share of the budget, and only the promising ones get all of
    # it (successive halving): "auto" (when the user's network trains long enough for it to
    # pay), "on" or "off"
    screening: str = "off"  # measured: no better front yet (BENCHMARKS.md, screening)
    algorithm: str = "nsga2"
    objectives: tuple[str, ...] = OBJECTIVES
    max_train_seconds: float = 20.0
    time_limit_s: float = 60.0
    memory_mb: int = 2048
    batch_size: int = 64
    lr: float = 1e-3
    max_train: int | None = None
    max_val: int | None = None
    data_dir: Path | None = None
    store: Path | None = None  # None = <root>/.nnevolve/runs.sqlite
    out: Path | None = None  # None = <root>/.nnevolve/runs/<run id>/
    # a training script whose recipe (optimizer, loss, scheduler, batch size) trains variants
    # whose model file writes none
    train_file: Path | None = None
    # the recipe lines are sites too (learning rate, momentum, optimizer, ...); None = whenever
    # a recipe is written in the model file or the training script
    evolve_training: bool | None = None
    # installed packages whose network definitions feed the gene pool (read as text, never
    # imported); one that is not installed is skipped with a warning
    zoo_packages: tuple[str, ...] = DEFAULT_ZOOS
    root: Path = field(default_factory=Path.cwd)

    @property
    def store_path(self) -> Path:
        return self._absolute(self.store) or self.root / ".nnevolve" / "runs.sqlite"

    def out_dir(self, run_id: str) -> Path:
        return self._absolute(self.out) or self.root / ".nnevolve" / "runs" / run_id

    @property
    def dataset_spec(self) -> str:
        """The dataset spec with a relative file or folder made absolute (from `root`)."""
        return resolve_dataset(self.dataset, self.root)

    @property
    def data_path(self) -> Path | None:
        return self._absolute(self.data_dir)

    @property
    def train_path(self) -> Path | None:
        return self._absolute(self.train_file)

    @property
    def evaluation_budget(self) -> int | None:
        """Variant evaluations allowed, trained or taken from the cache alike (a warm cache
        makes a run faster, never different), the seed network not counted (None: only the
        time budget limits them)."""
        if self.max_evals is not None:
            return self.max_evals
        if self.time is not None:
            return None
        return self.population * (self.generations + 1)

    def _absolute(self, path: Path | None) -> Path | None:
        return None if path is None else (self.root / path).resolve()

    def with_overrides(self, overrides: Mapping[str, Any]) -> EvolveConfig:
        """A copy with `overrides` applied (None values are ignored); raises ConfigError."""
        values = {k.replace("-", "_"): v for k, v in overrides.items() if v is not None}
        return replace(self, **_validate(values, "override"))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["objectives"] = list(self.objectives)
        data["zoo_packages"] = list(self.zoo_packages)
        for key in (*_PATH_KEYS, "root"):
            data[key] = None if data[key] is None else str(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvolveConfig:
        """Rebuild a stored configuration (as written by `to_json`)."""
        values = {key: value for key, value in data.items() if value is not None}
        root = Path(values.pop("root", None) or Path.cwd())
        return replace(cls(root=root), **_validate(values, "stored configuration"))


def is_device_setting(text: object) -> bool:
    """True for ``auto``, ``cpu``, ``cuda`` and ``cuda:N``."""
    return isinstance(text, str) and _DEVICE_SETTING.fullmatch(text) is not None


def _cores() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_dataset(spec: str, base: Path) -> str:
    """`idx:data/mnist` relative to `base` becomes `idx:/abs/data/mnist`; other specs stay."""
    for prefix in _PATH_SPECS:
        if spec.startswith(prefix):
            path = Path(spec[len(prefix):]).expanduser()
            return prefix + str(path if path.is_absolute() else (base / path).resolve())
    return spec


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in `start` or a folder above it."""
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def root_outside_projects(start: Path, workspace_folders: Sequence[Path] | None = None) -> Path:
    """Where a file (or folder) that no pyproject.toml covers keeps its runs: its own folder
    when that exists and may be written, else a folder of the user's cache. Never a folder
    made at a document's path (an unsaved document's path need not exist). An editor names
    its `workspace_folders`: a file outside all of them keeps its runs in the user's cache
    (opening a file writes nothing next to it)."""
    path = start.resolve()
    folder = path if path.is_dir() else path.parent
    inside = workspace_folders is None or any(
        folder.is_relative_to(workspace.resolve()) for workspace in workspace_folders
    )
    if inside and folder.is_dir() and os.access(folder, os.W_OK):
        return folder
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    return user_cache_dir() / "outside-projects" / f"{folder.name or 'root'}-{digest}"


def load_config(start: Path, workspace_folders: Sequence[Path] | None = None) -> EvolveConfig:
    """Defaults overlaid with `[tool.nnevolve]` of the nearest pyproject.toml above `start`
    (`workspace_folders`: the editor's, see :func:`root_outside_projects`)."""
    pyproject = find_pyproject(start)
    if pyproject is None:
        return EvolveConfig(root=root_outside_projects(start, workspace_folders))
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read it: {exc}") from exc
    table = document.get("tool", {}).get("nnevolve", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.nnevolve] must be a table")
    values = {key.replace("-", "_"): value for key, value in table.items()}
    return replace(EvolveConfig(root=pyproject.parent),
                   **_validate(values, f"{pyproject} [tool.nnevolve]"))


_SETTINGS = {f.name: f for f in fields(EvolveConfig) if f.name != "root"}
_POSITIVE_INTS = {"generations", "population", "epochs", "max_evals", "workers", "memory_mb",
                  "batch_size", "max_train", "max_val", "workers_per_device"}
_POSITIVE_FLOATS = {"max_train_seconds", "time_limit_s", "lr"}


def _validate(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check names, types and ranges; return the values converted to the dataclass's types."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _SETTINGS:
            close = difflib.get_close_matches(key, _SETTINGS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: unknown setting '{key}'{hint}")
        checked[key] = _convert(key, value, where)
    return checked


def _convert(key: str, value: Any, where: str) -> Any:
    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{where}: '{key}' must be {expected}, not {value!r}")

    if key in _POSITIVE_INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise wrong("a positive integer")
        return value
    if key in _POSITIVE_FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise wrong("a positive number")
        return float(value)
    if key == "confirm_seeds":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise wrong("0 or a positive integer")
        return value
    if key == "time":
        try:
            return parse_duration(value)
        except ValueError:
            raise wrong(DURATION_HELP) from None
    if key == "seed":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if key == "device":
        if not is_device_setting(value):
            raise wrong(DEVICE_SETTINGS)
        return value
    if key in ("amp", "evolve_training"):
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if key == "cluster":
        if not isinstance(value, str) or not value.strip():
            raise wrong("a Dask scheduler address such as 'tcp://host:8786'")
        return value.strip()
    if key == "screening":
        if isinstance(value, bool):  # `screening = true` in pyproject
            return "on" if value else "off"
        if value not in SCREENING:
            raise wrong("one of " + ", ".join(SCREENING))
        return value
    if key == "algorithm":
        if value not in ALGORITHMS:
            raise wrong("one of " + ", ".join(ALGORITHMS))
        return value
    if key == "objectives":
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if (not isinstance(value, (list, tuple)) or not value
                or any(item not in OBJECTIVES for item in value)):
            raise wrong("a non-empty list drawn from " + ", ".join(OBJECTIVES))
        return tuple(name for name in OBJECTIVES if name in value)
    if key == "zoo_packages":
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)) or any(
                not isinstance(item, str) or not item.isidentifier() for item in value):
            raise wrong("a list of installed package names such as [\"torchvision\", \"timm\"]")
        return tuple(dict.fromkeys(value))
    if key in _PATH_KEYS:
        if not isinstance(value, (str, Path)) or not str(value):
            raise wrong("a path")
        return Path(value)
    if key == "model":
        if not isinstance(value, str) or not value.strip():
            raise wrong("a model expression such as 'Net', 'resnet18' or \"VGG('VGG11')\"")
        return value.strip()
    if key == "dataset":
        if not isinstance(value, str) or not value.strip():
            raise wrong("a dataset spec such as 'digits' or 'idx:data/mnist'")
        return value.strip()
    raise AssertionError(key)  # every setting is handled above
