"""The analysis against an independent oracle on the model files that ship with torchvision.

The oracle does not read imports: it imports each model module and evaluates every callee
in that module's real namespace, then types the torch class it finds by torch's own class
hierarchy and by the torch module that defines it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
nn = torch.nn

from nnevolve.analysis.line_types import _analyze

MODELS = Path(torchvision.__file__).parent / "models"
_RESHAPE_MODULES = {"flatten", "pixelshuffle", "channelshuffle", "fold"}


def oracle_type(cls: type) -> str | None:
    """The line type of a public torch.nn class, from its bases and its defining module."""
    modules = nn.modules
    defined_in = cls.__module__.rsplit(".", 1)[-1]
    connection = (modules.conv._ConvNd, nn.Linear, nn.Bilinear, nn.Embedding, nn.EmbeddingBag,
                  modules.rnn.RNNBase, modules.rnn.RNNCellBase, nn.MultiheadAttention)  # fmt: skip
    if issubclass(cls, connection) or defined_in == "transformer":
        return "connection"
    if issubclass(cls, modules.batchnorm._NormBase) or defined_in == "normalization":
        return "normalization"
    if defined_in == "activation":
        return "activation"
    if defined_in == "pooling":
        return "pooling"
    if issubclass(cls, modules.dropout._DropoutNd):
        return "dropout"
    if issubclass(cls, modules.loss._Loss) or cls is nn.AdaptiveLogSoftmaxWithLoss:
        return "loss"
    if cls in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        return "container"
    if defined_in in _RESHAPE_MODULES:
        return "reshape"
    return None  # Identity, padding, upsampling, distances: not line-typed


def _public_nn_class(obj: object) -> bool:
    return isinstance(obj, type) and getattr(nn, obj.__name__, None) is obj


def expected_type(obj: object, module_name: str) -> tuple[bool, str | None]:
    """(is a layer constructor the oracle judges, its type) for a runtime callee."""
    if not isinstance(obj, type) or not issubclass(obj, nn.Module):
        return False, None
    if _public_nn_class(obj):
        return True, oracle_type(obj)
    if obj.__module__ != module_name:
        return False, None  # a subclass imported from another file: out of the analysis' sight
    for base in obj.__mro__[1:]:  # a class of this file deriving from a torch.nn layer
        if _public_nn_class(base):
            return base is not nn.Module, oracle_type(base)
        if base.__module__ != module_name:
            return False, None
    return False, None


def evaluate(expr: ast.expr, namespace: dict) -> object:
    """The object a dotted callee names in the module's namespace (None when it is local)."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id not in namespace:
        return None
    obj = namespace[expr.id]
    for part in reversed(parts):
        obj = getattr(obj, part, None)
    return obj


def resolve_qualified(name: str) -> object:
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _model_files() -> list[Path]:
    return sorted(p for p in MODELS.rglob("*.py") if "__pycache__" not in p.parts)


def _code_point_col(line: str, byte_col: int) -> int:
    return len(line.encode()[:byte_col].decode())


def test_every_torch_layer_constructor_in_torchvision_models_gets_the_oracles_type():
    checked = 0
    problems: list[str] = []
    for path in _model_files():
        relative = path.relative_to(MODELS.parent.parent).with_suffix("")
        module_name = ".".join(p for p in relative.parts if p != "__init__")
        module = importlib.import_module(module_name)
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        analysis = _analyze(source)
        assert analysis.error is None, path
        # whole ranges: `torch.sigmoid(x).flatten()` starts where `torch.sigmoid(x)` starts
        items = {(i.line, i.col, i.end_line, i.end_col): i for i in analysis.items}
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            where = (
                node.lineno,
                _code_point_col(lines[node.lineno - 1], node.col_offset),
                node.end_lineno,
                _code_point_col(lines[node.end_lineno - 1], node.end_col_offset),
            )
            obj = evaluate(node.func, vars(module))
            judged, expected = expected_type(obj, module_name)
            item = items.pop(where, None)
            if judged:
                checked += 1
                got = item.type if item else None
                if got != expected:
                    problems.append(
                        f"{path.name}:{where[0]} {ast.unparse(node.func)}: {got} != {expected}"
                    )
            # a tag the oracle does not judge (F.relu, torch.flatten, ...): its qualified
            # name must be the very object the module calls
            elif item is not None and (
                not item.name.startswith("torch.") or obj is not resolve_qualified(item.name)
            ):
                problems.append(f"{path.name}:{where[0]} tagged {item.name} but calls {obj!r}")
        assert not items, f"{path.name}: items at no call: {list(items)}"
    assert not problems, "\n".join(problems[:40])
    assert checked > 400, checked  # the oracle really judged the zoo (492 calls in 0.29)
