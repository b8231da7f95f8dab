"""Normalized source (the identity of a variant) and the discovery of model classes."""

from __future__ import annotations

import pytest

from genome_support import ATTRIBUTE_NET, src
from nnevolve.genome import (
    GenomeError,
    default_model_class,
    model_classes,
    normalize_source,
    source_hash,
)


def test_formatting_comments_and_docstrings_do_not_change_the_hash():
    plain = src(
        """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
        """
    )
    decorated = src(
        '''
        """A module docstring."""
        import torch.nn as nn


        class Net(nn.Module):
            """A class docstring."""

            def __init__(self):   # a comment
                super().__init__()
                self.fc = nn.Linear( 4,
                                     2 )  # output layer
        '''
    )
    assert normalize_source(plain) == normalize_source(decorated)
    assert source_hash(plain) == source_hash(decorated)


def test_a_different_layer_gives_a_different_hash():
    one = "import torch.nn as nn\nlayer = nn.Linear(4, 2)\n"
    other = "import torch.nn as nn\nlayer = nn.Linear(4, 3)\n"
    assert source_hash(one) != source_hash(other)
    assert len(source_hash(one)) == 64


def test_a_class_that_only_had_a_docstring_keeps_a_body():
    normalized = normalize_source('class Empty:\n    """Only a docstring."""\n')
    assert normalized == "class Empty:\n    pass"


def test_broken_source_raises_a_clear_genome_error():
    with pytest.raises(GenomeError, match=r"not valid Python \(line 2\)"):
        normalize_source("x = 1\ndef broken(:\n")


@pytest.mark.parametrize(
    "imports, base",
    [
        ("import torch.nn as nn", "nn.Module"),
        ("from torch import nn", "nn.Module"),
        ("import torch", "torch.nn.Module"),
        ("import torch.nn", "torch.nn.Module"),
        ("from torch.nn import Module", "Module"),
        ("from torch.nn import Module as Base", "Base"),
    ],
)
def test_module_subclasses_are_found_through_every_import_spelling(imports, base):
    source = src(
        f"""
        import torch
        {imports}


        class Net({base}):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(4, 2)
        """
    )
    assert model_classes(source) == ["Net"]


def test_subclasses_of_a_model_class_of_the_same_file_count_too():
    source = src(
        """
        import torch.nn as nn


        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)


        class Wider(Base):
            def __init__(self):
                super().__init__()
                self.extra = nn.Linear(4, 2)
        """
    )
    assert model_classes(source) == ["Base", "Wider"]
    assert default_model_class(source) == "Wider"


def test_classes_that_build_no_layers_are_not_model_classes():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)


        class Loss(nn.Module):
            def forward(self, a, b):
                return (a - b).abs().mean()


        class NotAModule:
            layer = nn.Linear(4, 2)
        """
    )
    assert model_classes(source) == ["Net"]
    assert default_model_class(source) == "Net"


def test_the_default_model_class_is_the_last_one_that_builds_layers():
    assert default_model_class(ATTRIBUTE_NET) == "AttributeNet"
    assert default_model_class("import torch\n") is None
    assert model_classes("def broken(:\n") == []
