"""The static catalog of taggable torch names, checked against the installed torch."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from nnevolve.analysis import LINE_TYPES
from nnevolve.analysis.catalog import API_CATALOG, DEFAULTS, NN_MODULES, lookup

torch = pytest.importorskip("torch")


def _resolve(name: str) -> object:
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _positional(function: object) -> tuple[str, ...] | None:
    """The positional parameter names of a Python callable (None for a builtin or *args)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    names = []
    for p in parameters:
        if p.name == "self":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and not names:
            return None  # torch parses *args itself (RNN, LSTM, GRU)
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    return tuple(names)


@pytest.mark.parametrize("name", sorted(API_CATALOG))
def test_every_catalog_name_exists_in_torch_with_these_positional_parameters(name: str):
    entry = API_CATALOG[name]
    assert entry.type in LINE_TYPES
    obj = _resolve(name)
    real = _positional(obj.__init__ if isinstance(obj, type) else obj)
    if real is not None:  # builtins have no signature to compare against
        assert real[: len(entry.args)] == entry.args


def test_rnn_positional_order_matches_what_torch_parses():
    lstm = torch.nn.LSTM(3, 4, 2, False, True, 0.0, True, 2)
    assert (lstm.num_layers, lstm.bias, lstm.batch_first, lstm.bidirectional, lstm.proj_size) == (
        2, False, True, True, 2)  # fmt: skip
    rnn = torch.nn.RNN(3, 4, 1, "relu", False)
    assert (rnn.nonlinearity, rnn.bias) == ("relu", False)


def test_every_public_torch_layer_class_of_a_typed_family_is_catalogued():
    nn = torch.nn
    families = {
        "activation": "torch.nn.modules.activation",
        "pooling": "torch.nn.modules.pooling",
        "dropout": "torch.nn.modules.dropout",
        "loss": "torch.nn.modules.loss",
        "normalization": "torch.nn.modules.normalization",
    }
    for kind, module in families.items():
        public = {n for n in dir(nn) if getattr(getattr(nn, n), "__module__", "") == module}
        public.discard("MultiheadAttention")  # a connection layer that lives with activations
        assert public <= set(NN_MODULES[kind]), (kind, public - set(NN_MODULES[kind]))


def test_optimizers_and_schedulers_of_torch_are_catalogued():
    optim = torch.optim
    optimizers = {n for n in dir(optim) if isinstance(getattr(optim, n), type)
                  and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"}  # fmt: skip
    assert optimizers <= {e.short for e in API_CATALOG.values() if e.type == "optimizer"}
    schedulers = {n for n, c in vars(optim.lr_scheduler).items() if isinstance(c, type)
                  and issubclass(c, optim.lr_scheduler.LRScheduler) and not n.startswith("_")
                  and n != "LRScheduler"}  # fmt: skip
    assert schedulers <= {e.short for e in API_CATALOG.values() if e.type == "scheduler"}


def test_submodule_spellings_find_the_same_entry():
    assert lookup("torch.nn.modules.conv.Conv2d") is API_CATALOG["torch.nn.Conv2d"]
    assert lookup("torch.nn.modules.Conv2d") is API_CATALOG["torch.nn.Conv2d"]
    assert lookup("torch.optim.adam.Adam") is API_CATALOG["torch.optim.Adam"]
    assert lookup("torch.nn.modules.module.Module") is None
    assert lookup("mylib.nn.Linear") is None


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_the_defaults_are_torchs(name: str) -> None:
    parameters = inspect.signature(_resolve(name)).parameters  # type: ignore[arg-type]
    for argument, default in DEFAULTS[name].items():
        assert ast.unparse(ast.parse(repr(parameters[argument].default), mode="eval").body) \
            == default, (name, argument)
