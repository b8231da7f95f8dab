"""What ``nnevolve.evolve`` reads, and the ``nnevolve evolve`` command line it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnevolve.config import EvolveConfig

# the settings a client may override, and the `nnevolve evolve` flag of each
OVERRIDE_FLAGS = {
    "dataset": "--dataset",
    "generations": "--generations",
    "population": "--population",
    "epochs": "--epochs",
    "max_evals": "--max-evals",
    "time": "--time",
    "workers": "--workers",
    "device": "--device",
    "workers_per_device": "--workers-per-device",
    "amp": "--amp",  # true: --amp, false: --no-amp
    "evolve_training": "--evolve-training",  # likewise --no-evolve-training
    "cluster": "--cluster",
    "seed": "--seed",
    "screening": "--screening",
    "objectives": "--objectives",
}

SWITCHES = ("amp", "evolve_training")  # on/off flags: --x or --no-x


class RequestError(ValueError):
    """The command's arguments are unusable (one-line message for the user)."""


@dataclass(frozen=True)
class EvolveRequest:
    """What ``nnevolve.evolve`` was asked: which document, which class, which settings."""

    uri: str
    model: str | None
    overrides: dict[str, Any]


def parse_request(arguments: tuple[Any, ...]) -> EvolveRequest:
    """Read ``[{"uri", "model"?, "overrides"?}]`` (a bare URI string is accepted too)."""
    if len(arguments) != 1:
        raise RequestError('expects one argument: {"uri": ..., "model"?: ..., "overrides"?: {...}}')
    argument = arguments[0]
    if isinstance(argument, str):
        argument = {"uri": argument}
    if not isinstance(argument, dict) or not isinstance(argument.get("uri"), str):
        raise RequestError('expects an object with a "uri" string')
    model = argument.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError('"model" must be a class name')
    overrides = argument.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise RequestError('"overrides" must be an object')
    unknown = sorted(set(overrides) - set(OVERRIDE_FLAGS))
    if unknown:
        raise RequestError(
            f"unknown override {', '.join(unknown)} (known: {', '.join(OVERRIDE_FLAGS)})"
        )
    return EvolveRequest(argument["uri"], model or None, dict(overrides))


def engine_arguments(
    file: Path, model: str, config: EvolveConfig, overrides: dict[str, Any]
) -> list[str]:
    """The ``nnevolve`` command line of a run (settings not overridden come from pyproject)."""
    args = [
        "evolve",
        str(file),
        "--model",
        model,
        "--progress-jsonl",
        "--store",
        str(config.store_path),
        "--root",  # outputs under the root the server chose (a file outside the workspace: cache)
        str(config.root),
    ]
    for key, flag in OVERRIDE_FLAGS.items():
        value = overrides.get(key)
        if value is None:
            continue
        if key == "objectives":
            value = ",".join(config.objectives)  # validated and ordered by the config
        if key == "screening":
            value = config.screening  # validated: `true` is "on"
        if key in SWITCHES:  # its value is the config's validated boolean
            args.append(flag if getattr(config, key) else flag.replace("--", "--no-", 1))
            continue
        args += [flag, str(value)]
    return args
