"""Line types of the ways people write PyTorch models: idioms, import styles, non-torch names."""

from __future__ import annotations

import textwrap

import pytest

from nnevolve.analysis import LINE_TYPES, TYPE_LABELS, LineItem, analyze, item_at


def tags(source: str) -> list[tuple[int, str, str]]:
    """(line, type, qualified name) of every item of a dedented source."""
    analysis = analyze(textwrap.dedent(source))
    assert analysis.error is None
    return [(item.line, item.type, item.name) for item in analysis.items]


def names(source: str) -> list[str]:
    return [name for _, _, name in tags(source)]


def test_types_and_labels_are_the_agreed_identifiers():
    assert LINE_TYPES == ("connection", "activation", "normalization", "pooling", "dropout",
                          "reshape", "container", "optimizer", "loss", "scheduler")  # fmt: skip
    assert set(TYPE_LABELS) == set(LINE_TYPES)
    assert TYPE_LABELS["connection"] == "connection layer"


def test_attribute_assignments_in_init_and_functional_calls_in_forward():
    found = tags(
        """\
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 6, 5)
                self.pool = nn.MaxPool2d(2, 2)
                self.fc1 = nn.Linear(16 * 5 * 5, 120)
                self.drop = nn.Dropout(0.25)
                self.bn = nn.BatchNorm1d(120)

            def forward(self, x):
                x = self.pool(F.relu(self.conv1(x)))
                x = torch.flatten(x, 1)
                x = self.drop(torch.relu(self.bn(self.fc1(x))))
                return F.log_softmax(x, dim=1)
        """
    )
    assert found == [
        (8, "connection", "torch.nn.Conv2d"),
        (9, "pooling", "torch.nn.MaxPool2d"),
        (10, "connection", "torch.nn.Linear"),
        (11, "dropout", "torch.nn.Dropout"),
        (12, "normalization", "torch.nn.BatchNorm1d"),
        (
            15,
            "activation",
            "torch.nn.functional.relu",
        ),  # self.pool(...) and self.conv1(...) are uses
        (16, "reshape", "torch.flatten"),
        (17, "activation", "torch.relu"),
        (18, "activation", "torch.nn.functional.log_softmax"),
    ]


def test_layers_append_then_sequential_of_the_list():
    found = tags(
        """\
        from torch import nn

        def build(p, out_feature, bin_num):
            layers = []
            # add final layers (1x1 convolutions)
            layers.append(nn.Conv2d(2*p, out_feature, 1))      # connection layer
            layers.append(nn.ReLU())                            # activation function
            layers.append(nn.Conv2d(out_feature, out_feature, 1))
            layers.append(nn.ReLU())
            layers.append(nn.Conv2d(out_feature, 3*bin_num, 1)) # three colors
            network = nn.Sequential(*layers)
            return network
        """
    )
    assert [(line, kind) for line, kind, _ in found] == [
        (6, "connection"), (7, "activation"), (8, "connection"), (9, "activation"),
        (10, "connection"), (11, "container"),
    ]  # fmt: skip


def test_each_element_of_a_sequential_literal_is_its_own_item_also_on_one_line():
    source = (
        "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))\n"
    )
    items = analyze(source).items
    line = source.splitlines()[1]
    assert [(i.type, line[i.col : i.end_col]) for i in items] == [
        ("container", "nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))"),
        ("connection", "nn.Linear(4, 8)"),
        ("activation", "nn.ReLU()"),
        ("connection", "nn.Linear(8, 2)"),
    ]
    assert all(i.line == i.end_line == 2 for i in items)


def test_a_call_spanning_lines_is_one_item_with_its_exact_range():
    source = textwrap.dedent(
        """\
        import torch.nn as nn
        block = nn.Sequential(
            nn.Conv2d(
                3, 16,
                kernel_size=3,
            ),
            nn.ReLU(inplace=True),
        )
        """
    )
    sequential, conv, relu = analyze(source).items
    assert (sequential.line, sequential.col, sequential.end_line, sequential.end_col) == (
        2,
        8,
        8,
        1,
    )
    assert (conv.line, conv.col, conv.end_line, conv.end_col) == (3, 4, 6, 5)
    assert (relu.line, relu.end_line) == (7, 7)


def test_module_list_ordered_dict_and_module_dict_elements():
    found = tags(
        """\
        from collections import OrderedDict
        import torch.nn as nn
        a = nn.ModuleList([nn.Linear(2, 2), nn.Tanh()])
        b = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.GELU())]))
        c = nn.ModuleDict({"pool": nn.AvgPool2d(2), "norm": nn.LayerNorm(8)})
        """
    )
    assert found == [
        (3, "container", "torch.nn.ModuleList"), (3, "connection", "torch.nn.Linear"),
        (3, "activation", "torch.nn.Tanh"),
        (4, "container", "torch.nn.Sequential"), (4, "connection", "torch.nn.Linear"),
        (4, "activation", "torch.nn.GELU"),
        (5, "container", "torch.nn.ModuleDict"), (5, "pooling", "torch.nn.AvgPool2d"),
        (5, "normalization", "torch.nn.LayerNorm"),
    ]  # fmt: skip


def test_layers_built_in_comprehensions_and_loops():
    found = tags(
        """\
        import torch.nn as nn
        widths = [8, 16, 32]
        convs = nn.ModuleList([nn.Conv2d(a, b, 3) for a, b in zip(widths, widths[1:])])
        layers = []
        for w in widths:
            layers += [nn.Linear(w, w), nn.SiLU()]
        """
    )
    assert found == [
        (3, "container", "torch.nn.ModuleList"), (3, "connection", "torch.nn.Conv2d"),
        (6, "connection", "torch.nn.Linear"), (6, "activation", "torch.nn.SiLU"),
    ]  # fmt: skip


def test_training_set_up_optimizer_loss_and_scheduler():
    found = tags(
        """\
        import torch
        from torch import optim
        import torch.optim as opt
        from torch.optim.lr_scheduler import StepLR
        import torch.nn.functional as F
        model = torch.nn.Linear(3, 1)
        a = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        b = opt.AdamW(model.parameters())
        c = torch.optim.Adam(model.parameters(), lr=1e-3)
        d = StepLR(a, step_size=10)
        e = torch.optim.lr_scheduler.CosineAnnealingLR(b, T_max=5)
        f = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        g = F.cross_entropy(model(x), y)
        """
    )
    assert [(line, kind) for line, kind, _ in found] == [
        (6, "connection"), (7, "optimizer"), (8, "optimizer"), (9, "optimizer"),
        (10, "scheduler"), (11, "scheduler"), (12, "loss"), (13, "loss"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("import torch.nn as nn", "nn.Linear(2, 3)"),
        ("from torch import nn", "nn.Linear(2, 3)"),
        ("import torch", "torch.nn.Linear(2, 3)"),
        ("import torch.nn", "torch.nn.Linear(2, 3)"),
        ("import torch as th", "th.nn.Linear(2, 3)"),
        ("from torch.nn import Linear", "Linear(2, 3)"),
        ("from torch.nn import Linear as L", "L(2, 3)"),
        ("from torch.nn import *", "Linear(2, 3)"),
        ("from torch.nn.modules.linear import Linear", "Linear(2, 3)"),
        ("import torch.nn.modules as mods", "mods.Linear(2, 3)"),
        ("try:\n    import torch.nn as nn\nexcept ImportError:\n    pass", "nn.Linear(2, 3)"),
    ],
)
def test_import_styles_resolve_to_the_qualified_name(imports: str, call: str):
    items = analyze(f"{imports}\nlayer = {call}\n").items
    assert [(i.type, i.name) for i in items] == [("connection", "torch.nn.Linear")]


@pytest.mark.parametrize(
    ("imports", "call", "name"),
    [
        ("import torch.nn.functional as F", "F.relu(x)", "torch.nn.functional.relu"),
        ("from torch.nn import functional as F", "F.gelu(x)", "torch.nn.functional.gelu"),
        ("from torch.nn.functional import relu", "relu(x)", "torch.nn.functional.relu"),
        (
            "from torch.nn.functional import max_pool2d as mp",
            "mp(x, 2)",
            "torch.nn.functional.max_pool2d",
        ),
        ("import torch", "torch.sigmoid(x)", "torch.sigmoid"),
        ("import torch", "torch.nn.functional.dropout(x, 0.5)", "torch.nn.functional.dropout"),
        ("from torch import optim", "optim.Adam(ps)", "torch.optim.Adam"),
        ("import torch.optim as optim", "optim.RMSprop(ps)", "torch.optim.RMSprop"),
        ("from torch.optim.adam import Adam", "Adam(ps)", "torch.optim.Adam"),
        (
            "from torch.optim import lr_scheduler",
            "lr_scheduler.ExponentialLR(o, 0.9)",
            "torch.optim.lr_scheduler.ExponentialLR",
        ),
    ],
)
def test_functional_and_optimizer_import_styles(imports: str, call: str, name: str):
    items = analyze(f"{imports}\ny = {call}\n").items
    assert [i.name for i in items] == [name]


@pytest.mark.parametrize(
    "source",
    [
        "def relu(x):\n    return x\ny = relu(3)\n",
        "import tensorflow as tf\ny = tf.nn.relu(x)\n",
        "from tensorflow import keras\nlayer = keras.layers.Dense(10)\n",
        "import keras\nlayer = keras.layers.Conv2D(3, 3)\n",
        "from mylib import Linear\nlayer = Linear(2, 3)\n",
        "from .layers import Conv2d\nlayer = Conv2d(1, 2, 3)\n",
        "import jax.nn as nn\ny = nn.relu(x)\n",
        "y = nn.Linear(2, 3)\n",  # `nn` never imported
        "import torch.nn as nn\nnn = MyNamespace()\ny = nn.Linear(2, 3)\n",
        "from torch.nn.functional import relu\ndef relu(x):\n    return x\ny = relu(x)\n",
        "from torch.nn import Linear\nclass Linear:\n    pass\ny = Linear(2, 3)\n",
        "from torch.nn import Linear\nfrom mylib import Linear\ny = Linear(2, 3)\n",
        "import torch\ny = torch.nn.init.kaiming_normal_(w)\nz = torch.cat([a, b])\n",
        "import torch.nn as nn\ny = nn.Identity()\nz = nn.Module()\n",
    ],
)
def test_names_that_do_not_come_from_torch_layers_are_never_tagged(source: str):
    assert analyze(source).items == ()


def test_uses_of_layers_and_tensor_methods_are_not_items():
    found = names(
        """\
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, x):
                return self.fc(x).relu().view(-1)
        """
    )
    assert found == ["torch.nn.Linear"]


def test_a_same_file_subclass_of_a_torch_layer_takes_its_bases_type():
    source = textwrap.dedent(
        """\
        import torch.nn as nn
        class Conv(nn.Conv2d):
            pass
        class DeeperConv(Conv):
            pass
        class Block(nn.Sequential):
            def __init__(self, c):
                super().__init__(nn.Conv2d(c, c, 3), nn.ReLU())
        a = Conv(3, 8, 3)
        b = DeeperConv(8, 8, 1)
        c = Block(8)
        """
    )
    items = [i for i in analyze(source).items if i.line >= 9]
    assert [(i.type, i.name, i.detail, i.params) for i in items] == [
        ("connection", "Conv", "Conv 3→8, 3×3 (Conv2d)", 224),
        ("connection", "DeeperConv", "DeeperConv 8→8, 1×1 (Conv2d)", 72),
        ("container", "Block", "Block 8 (Sequential)", None),  # its own __init__: no formula
    ]


def test_module_level_alias_of_a_torch_class():
    assert names("import torch.nn as nn\nConv = nn.Conv2d\nlayer = Conv(1, 2, 3)\n") == [
        "torch.nn.Conv2d"
    ]


def test_columns_count_code_points_not_utf8_bytes():
    source = 'import torch.nn as nn\nnames = ["α", "β"]; fc = nn.Linear(2, 3)\n'
    (item,) = analyze(source).items
    line = source.splitlines()[1]
    assert line[item.col : item.end_col] == "nn.Linear(2, 3)"


def test_a_byte_order_mark_does_not_shift_or_break_anything():
    source = "\ufeffimport torch.nn as nn; fc = nn.Linear(2, 3)\n"
    analysis = analyze(source)
    assert analysis.error is None
    (item,) = analysis.items
    assert source[item.col : item.end_col] == "nn.Linear(2, 3)"


def test_item_at_finds_the_innermost_item_under_a_position():
    source = "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(4, 8), nn.ReLU())\n"
    analysis = analyze(source)
    assert item_at(analysis, 2, 22).name == "torch.nn.Linear"
    assert item_at(analysis, 2, 6).name == "torch.nn.Sequential"
    assert item_at(analysis, 2, 36).name == "torch.nn.Sequential"  # the comma between two layers
    assert item_at(analysis, 2, 0) is None
    assert item_at(analysis, 1, 5) is None


def test_to_json_has_the_agreed_keys():
    item = LineItem(3, 4, 3, 20, "connection", "torch.nn.Linear", "Linear 2→3", 9)
    assert item.to_json() == {
        "line": 3, "end_line": 3, "col": 4, "end_col": 20, "type": "connection",
        "name": "torch.nn.Linear", "detail": "Linear 2→3", "params": 9,
    }  # fmt: skip


def test_the_analysis_never_imports_torch(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nnevolve.analysis import analyze\n"
        "analyze('import torch.nn as nn\\nx = nn.Linear(2, 3)\\n')\n"
        "assert 'torch' not in sys.modules and 'libcst' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
