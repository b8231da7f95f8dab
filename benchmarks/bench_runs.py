"""What the benchmarks that compare whole runs side by side share: the seed ConvNet, a run's
folder and settings, the hypervolume, and the tables they print (a row per run, then the
mean over seeds)."""

from __future__ import annotations

import math
import statistics
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.indicators.hv import HV

from nnevolve.config import EvolveConfig, resolve_dataset

REFERENCE_POINT = (1.0, 7.0)  # (error, log10 parameters)
MNIST = "idx:../shared/data/mnist-t10k"
DATA_DIR = Path(tempfile.gettempdir()) / "nnevolve-bench-data"


def convnet_source(channels: tuple[int, int], hidden: int) -> str:
    """A small ConvNet seed; repair adapts its widths to each dataset's image size and classes."""
    first, second = channels
    return f'''"""Benchmark seed: a small ConvNet."""
import torch
from torch import nn


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, {first}, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d({first}, {second}, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear({second} * 7 * 7, {hidden}),
            nn.ReLU(),
            nn.Linear({hidden}, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
'''


def run_folder(work: Path, dataset: str, *labels: object) -> Path:
    """A fresh project folder for one run (its own run store: no run reuses another's results)."""
    name = "-".join([dataset.replace(":", "_").replace("/", "_"), *map(str, labels)])
    folder = work / name
    folder.mkdir(parents=True)
    return folder


def run_config(folder: Path, dataset: str, **settings: Any) -> EvolveConfig:
    """The run's settings; every variant trains its full epochs (a seconds cap would make
    accuracy depend on the load) and the datasets are cached across runs."""
    return EvolveConfig(root=folder, dataset=resolve_dataset(dataset, Path.cwd()),
                        max_train_seconds=3600.0, time_limit_s=3600.0, data_dir=DATA_DIR,
                        **settings)


def hypervolume(points: Iterable[tuple[float, int]]) -> float:
    """The hypervolume of (error, parameter count) points, measured in (error, log10 params)
    against ``REFERENCE_POINT``; larger is better."""
    kept = [(error, math.log10(params)) for error, params in points
            if params > 0 and not math.isnan(error)]
    if not kept:
        return 0.0
    return float(HV(ref_point=np.array(REFERENCE_POINT))(np.array(kept)))


@dataclass(frozen=True)
class Column:
    """One column of a table: the outcome field it shows and how."""

    title: str
    field: str
    width: int
    form: str = ""  # format spec of the value
    unit: str = ""  # printed right after the value
    scale: float = 1.0
    text: bool = False  # left-aligned and not averaged

    def head(self) -> str:
        return f"{self.title:<{self.width}}" if self.text else f"{self.title:>{self.width}}"

    def cell(self, value: Any) -> str:
        if self.text:
            return f"{value:<{self.width}}"
        shown = value * self.scale if self.scale != 1.0 else value
        return f"{f'{shown:{self.form}}{self.unit}':>{self.width}}"


def header(columns: Sequence[Column]) -> str:
    return " ".join(column.head() for column in columns)


def row(columns: Sequence[Column], outcome: Any) -> str:
    return " ".join(column.cell(getattr(outcome, column.field)) for column in columns)


def side_by_side(datasets: Sequence[str], seeds: Sequence[int], arms: Sequence[str],
                 run_once: Callable[[str, str, int], Any], columns: Sequence[Column],
                 means: Sequence[Column]) -> list[Any]:
    """Every arm on every dataset and seed, one after the other: a row per run as it ends,
    then the means over seeds."""
    print(header(columns))
    outcomes = []
    for dataset in datasets:
        for seed in seeds:
            for arm in arms:
                outcome = run_once(dataset, arm, seed)
                print(row(columns, outcome), flush=True)
                outcomes.append(outcome)
    print_means(outcomes, means)
    return outcomes


def print_means(outcomes: Sequence[Any], columns: Sequence[Column]) -> None:
    """The mean over seeds of every numeric column, per value of the text columns."""
    keys = [column.field for column in columns if column.text]
    print("\nmean over seeds")
    print(header(columns))
    for key in dict.fromkeys(tuple(getattr(o, k) for k in keys) for o in outcomes):
        group = [o for o in outcomes if tuple(getattr(o, k) for k in keys) == key]
        means = {column.field: getattr(group[0], column.field) if column.text else
                 statistics.fmean(getattr(o, column.field) for o in group) for column in columns}
        print(" ".join(column.cell(means[column.field]) for column in columns))
