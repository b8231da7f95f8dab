"""The built-in catalog: common layer lines every gene pool starts with, in canonical spelling."""

from __future__ import annotations

# (code, line type); functional forms take their tensor as `x`
BUILTIN_GENES: tuple[tuple[str, str], ...] = (
    # connection layers (input widths are rewritten by the repair step to fit)
    ("nn.Linear(32, 32)", "connection"),
    ("nn.Linear(64, 64)", "connection"),
    ("nn.Linear(128, 128)", "connection"),
    ("nn.Linear(256, 256)", "connection"),
    ("nn.Conv2d(16, 16, 3, padding=1)", "connection"),
    ("nn.Conv2d(16, 32, 3, padding=1)", "connection"),
    ("nn.Conv2d(32, 32, 3, padding=1)", "connection"),
    ("nn.Conv2d(64, 64, 3, padding=1)", "connection"),
    ("nn.Conv2d(16, 16, 5, padding=2)", "connection"),
    ("nn.Conv2d(32, 32, 1)", "connection"),
    ("nn.Conv1d(16, 16, 3, padding=1)", "connection"),
    # activation functions
    ("nn.ReLU()", "activation"),
    ("nn.GELU()", "activation"),
    ("nn.Tanh()", "activation"),
    ("nn.Sigmoid()", "activation"),
    ("nn.LeakyReLU(0.1)", "activation"),
    ("nn.ELU()", "activation"),
    ("nn.SELU()", "activation"),
    ("nn.SiLU()", "activation"),
    ("nn.Mish()", "activation"),
    ("nn.Hardswish()", "activation"),
    ("nn.ReLU6()", "activation"),
    ("F.relu(x)", "activation"),
    ("F.gelu(x)", "activation"),
    ("F.elu(x)", "activation"),
    ("F.silu(x)", "activation"),
    ("F.leaky_relu(x, 0.1)", "activation"),
    ("torch.tanh(x)", "activation"),
    ("torch.sigmoid(x)", "activation"),
    # normalization layers (num_features is rewritten by the repair step)
    ("nn.BatchNorm1d(64)", "normalization"),
    ("nn.BatchNorm2d(16)", "normalization"),
    ("nn.BatchNorm2d(32)", "normalization"),
    # pooling layers
    ("nn.MaxPool2d(2)", "pooling"),
    ("nn.AvgPool2d(2)", "pooling"),
    ("nn.MaxPool2d(3, stride=1, padding=1)", "pooling"),
    ("nn.AvgPool2d(3, stride=1, padding=1)", "pooling"),
    ("F.max_pool2d(x, 2)", "pooling"),
    ("F.avg_pool2d(x, 2)", "pooling"),
    # dropout layers
    ("nn.Dropout(0.1)", "dropout"),
    ("nn.Dropout(0.25)", "dropout"),
    ("nn.Dropout(0.5)", "dropout"),
    ("nn.Dropout2d(0.1)", "dropout"),
    ("nn.Dropout2d(0.25)", "dropout"),
    ("F.dropout(x, p=0.25, training=self.training)", "dropout"),
    # reshape
    ("nn.Flatten()", "reshape"),
)
