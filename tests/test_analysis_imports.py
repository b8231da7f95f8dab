"""The import resolver shared by the line types and the genome: which names of a file are torch."""

from __future__ import annotations

import ast

import pytest

from nnevolve.analysis import resolve_name, torch_bindings


def bindings(source: str) -> dict[str, str]:
    return torch_bindings(ast.parse(source).body)


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        ("import torch.nn as nn", {"nn": "torch.nn"}),
        ("import torch.nn", {"torch": "torch"}),
        ("import torch as th", {"th": "torch"}),
        ("from torch import nn", {"nn": "torch.nn"}),
        ("from torch.nn import Conv2d as C", {"C": "torch.nn.Conv2d"}),
        ("from torch.nn import functional as F, Linear", {"F": "torch.nn.functional",
                                                          "Linear": "torch.nn.Linear"}),
        ("import numpy as np\nimport torchvision\nfrom os import path", {}),  # torch only
        ("from torch.nn import *", {}),  # a star import binds no name
    ],
)
def test_each_import_spelling_binds_its_qualified_torch_name(imports, expected):
    assert bindings(imports) == expected


def test_a_later_import_of_the_same_name_wins():
    assert bindings("import torch.nn as nn\nimport mylib as nn\n") == {}
    assert bindings("from torch import nn\nfrom . import nn\n") == {}  # relative: not torch
    assert bindings("import mylib as nn\nfrom torch import nn\n") == {"nn": "torch.nn"}


def test_only_the_statements_passed_in_are_read():
    tree = ast.parse("try:\n    import torch.nn as nn\nexcept ImportError:\n    nn = None\n")
    assert torch_bindings(tree.body) == {}  # the import is nested in `try`
    nested = [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    assert torch_bindings(nested) == {"nn": "torch.nn"}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("nn.Linear", "torch.nn.Linear"),
        ("nn", "torch.nn"),
        ("torch.nn.functional.relu", "torch.nn.functional.relu"),
        ("C", "torch.nn.Conv2d"),
        ("np.zeros", None),  # not bound to torch
        ("self.fc", None),
        ("make().Linear", None),  # not a chain of names
    ],
)
def test_resolve_name_follows_the_bindings(expr, expected):
    names = bindings("import torch\nimport torch.nn as nn\nfrom torch.nn import Conv2d as C\n")
    assert resolve_name(ast.parse(expr, mode="eval").body, names) == expected
