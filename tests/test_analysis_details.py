"""Details in words and literal parameter counts, the counts checked against real torch modules."""

from __future__ import annotations

import pytest

from nnevolve.analysis import analyze

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom collections import OrderedDict\n"


def first(call: str, prelude: str = ""):
    """The outermost item of ``call`` written in a file that imports torch as usual."""
    items = analyze(f"{HEADER}{prelude}x = {call}\n").items
    assert items, call
    return items[0]


@pytest.mark.parametrize(
    ("call", "detail"),
    [
        ("nn.Conv2d(16, 32, 3)", "Conv2d 16→32, 3×3"),
        (
            "nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)",
            "Conv2d 3→64, 7×7, stride=2, padding=3, bias=False",
        ),
        ("nn.Conv2d(16, 32, (3, 5))", "Conv2d 16→32, 3×5"),
        ("nn.Conv1d(16, 32, 3)", "Conv1d 16→32, kernel 3"),
        ("nn.LazyConv2d(32, 3)", "LazyConv2d →32, 3×3"),
        ("nn.Linear(784, 100)", "Linear 784→100"),
        ("nn.Linear(16 * 5 * 5, 120)", "Linear 400→120"),
        ("nn.Linear(n_in, 10)", "Linear n_in→10"),
        ("nn.Linear(HIDDEN, 10)", "Linear 64→10"),
        ("nn.LazyLinear(10)", "LazyLinear →10"),
        ("nn.ReLU()", "ReLU"),
        ("nn.ReLU(inplace=True)", "ReLU"),
        ("nn.LeakyReLU(0.2)", "LeakyReLU negative_slope=0.2"),
        ("nn.Softmax(dim=1)", "Softmax dim=1"),
        ("nn.Dropout(p=0.25)", "Dropout p=0.25"),
        ("nn.Dropout(0.25)", "Dropout p=0.25"),
        ("nn.MaxPool2d(2)", "MaxPool2d 2×2"),
        ("nn.MaxPool2d(kernel_size=3, stride=2, padding=1)", "MaxPool2d 3×3, stride=2, padding=1"),
        ("nn.AdaptiveAvgPool2d((1, 1))", "AdaptiveAvgPool2d to 1×1"),
        ("nn.BatchNorm2d(32)", "BatchNorm2d 32"),
        ("nn.GroupNorm(8, 32)", "GroupNorm 32, 8 groups"),
        ("nn.LayerNorm([10, 10])", "LayerNorm 10×10"),
        ("nn.Embedding(1000, 64)", "Embedding 1000×64"),
        ("nn.LSTM(28, 128, num_layers=2)", "LSTM 28→128, num_layers=2"),
        ("nn.MultiheadAttention(512, 8)", "MultiheadAttention 512, 8 heads"),
        (
            "nn.TransformerEncoderLayer(d_model=512, nhead=8)",
            "TransformerEncoderLayer 512, 8 heads",
        ),
        ("nn.Flatten()", "Flatten"),
        ("nn.Sequential(nn.Linear(2, 3), nn.ReLU())", "Sequential of 2 modules"),
        ("nn.Sequential(*layers)", "Sequential of *layers"),
        ("nn.Sequential(OrderedDict([('fc', nn.Linear(2, 3))]))", "Sequential of 1 module"),
        ("nn.CrossEntropyLoss()", "CrossEntropyLoss"),
        ("torch.optim.Adam(model.parameters(), lr=0.001)", "Adam lr=0.001"),
        ("torch.optim.Adam(model.parameters(), lr=1e-3)", "Adam lr=0.001"),
        ("torch.optim.SGD(params, 0.1, momentum=0.9)", "SGD lr=0.1, momentum=0.9"),
        (
            "torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.1)",
            "StepLR step_size=10, gamma=0.1",
        ),
        ("F.relu(x)", "relu"),
        ("F.max_pool2d(x, 2)", "max_pool2d 2×2"),
        ("F.dropout(x, p=0.5, training=self.training)", "dropout p=0.5"),
        ("F.log_softmax(x, dim=1)", "log_softmax dim=1"),
        ("torch.flatten(x, 1)", "flatten start_dim=1"),
        ("F.cross_entropy(logits, y, label_smoothing=0.1)", "cross_entropy label_smoothing=0.1"),
    ],
)
def test_detail_in_words(call: str, detail: str):
    assert first(call, prelude="HIDDEN = 64\n").detail == detail


def test_a_long_or_multi_line_argument_is_elided():
    item = first("nn.Linear(self.some_very_long_attribute_name.size, 10)")
    assert item.detail == "Linear …→10"


# Each constructor is evaluated by real torch and by the analysis; the counts must agree.
TORCH_COUNTED = [
    "nn.Linear(784, 100)",
    "nn.Linear(16 * 5 * 5, 120)",
    "nn.Linear(10, 5, bias=False)",
    "nn.Linear(2 ** 4, 100 // 3)",
    "nn.Bilinear(20, 30, 40)",
    "nn.Conv2d(16, 32, 3)",
    "nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)",
    "nn.Conv2d(16, 32, (3, 5), groups=4)",
    "nn.Conv1d(8, 8, 5, groups=8, bias=False)",
    "nn.Conv3d(2, 4, (1, 2, 3))",
    "nn.ConvTranspose2d(16, 8, 4, stride=2, groups=2)",
    "nn.ConvTranspose1d(6, 9, 3, 1, 0, 0, 3)",
    "nn.Embedding(1000, 64, padding_idx=0)",
    "nn.EmbeddingBag(100, 16, mode='sum')",
    "nn.RNN(10, 20)",
    "nn.RNN(10, 20, 2, 'relu', False)",
    "nn.LSTM(28, 128, num_layers=2)",
    "nn.LSTM(10, 20, 3, bidirectional=True, proj_size=5)",
    "nn.GRU(10, 20, 2, bias=False, bidirectional=True)",
    "nn.RNNCell(10, 20)",
    "nn.LSTMCell(10, 20, bias=False)",
    "nn.GRUCell(10, 20)",
    "nn.MultiheadAttention(16, 4)",
    "nn.MultiheadAttention(16, 4, bias=False, add_bias_kv=True)",
    "nn.MultiheadAttention(16, 4, kdim=8, vdim=12)",
    "nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64)",
    "nn.TransformerDecoderLayer(32, 4, 64, bias=False)",
    "nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=32, batch_first=True)",
    "nn.BatchNorm2d(32)",
    "nn.BatchNorm1d(32, affine=False)",
    "nn.SyncBatchNorm(12)",
    "nn.InstanceNorm2d(8)",
    "nn.InstanceNorm2d(8, affine=True)",
    "nn.LayerNorm(512)",
    "nn.LayerNorm((4, 5), elementwise_affine=False)",
    "nn.LayerNorm([6], bias=False)",
    "nn.GroupNorm(4, 16)",
    "nn.RMSNorm([4, 3])",
    "nn.LocalResponseNorm(5)",
    "nn.PReLU()",
    "nn.PReLU(3)",
    "nn.ReLU()",
    "nn.Dropout(0.5)",
    "nn.MaxPool2d(2)",
    "nn.AdaptiveAvgPool2d(1)",
    "nn.Flatten()",
    "nn.CrossEntropyLoss()",
    "nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))",
    "nn.Sequential(OrderedDict([('a', nn.Conv2d(1, 4, 3)), ('b', nn.BatchNorm2d(4))]))",
    "nn.ModuleList([nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 1))])",
    "nn.ModuleDict({'a': nn.Linear(2, 2), 'b': nn.Tanh()})",
]


def _torch_count(call: str) -> int:
    torch = pytest.importorskip("torch")
    from collections import OrderedDict

    module = eval(call, {"nn": torch.nn, "OrderedDict": OrderedDict})
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.mark.parametrize("call", TORCH_COUNTED)
def test_parameter_count_equals_torchs(call: str):
    assert first(call).params == _torch_count(call)


@pytest.mark.parametrize(
    "call",
    [
        "nn.Linear(n_in, 10)",  # not literal
        "nn.Linear(10, 5, bias=use_bias)",
        "nn.Linear(*sizes)",
        "nn.Conv2d(3, 8, 3, **options)",  # could set bias=False where we cannot see it
        "nn.Conv2d(3, 8, 3, groups=2)",  # torch refuses 3 channels in 2 groups
        "nn.LazyLinear(10)",  # sized by the first input
        "nn.Sequential(*layers)",
        "nn.Sequential(nn.Linear(2, 2), block)",  # one element is not a literal layer
        "F.relu(x)",  # a function has no parameters of its own
        "torch.optim.Adam(ps, lr=0.1)",
    ],
)
def test_parameter_count_is_none_when_the_arguments_do_not_fix_it(call: str):
    assert first(call).params is None


def test_constant_folding_is_bounded():
    item = first("nn.Linear(10 ** 10 ** 10, 2)")  # folding this would never finish
    assert item.params is None
    item = first("nn.Linear(" + "+".join(["1"] * 300) + ", 2)")  # deeper than the fold limit
    assert item.params is None
    assert first("nn.Linear(1 / 0, 2)").params is None


def test_lower_case_module_names_are_not_trusted_as_constants():
    source = "n_hidden = 64\nclass A:\n    def __init__(self, n_hidden=8):\n        self.fc = nn.Linear(n_hidden, 2)\n"
    item = analyze(HEADER + source).items[0]
    assert (item.detail, item.params) == ("Linear n_hidden→2", None)


def test_a_constant_assigned_twice_is_not_a_constant():
    item = first("nn.Linear(WIDTH, 2)", prelude="WIDTH = 4\nWIDTH = 8\n")
    assert item.params is None
