# Input: (N, 1, 8, 8) images (scikit-learn digits); output: (N, 10) class logits.
"""A network built layer by layer into a list, then wrapped in nn.Sequential(*layers)."""

from torch import nn


class AppendNet(nn.Module):
    def __init__(self, in_channels=1, hidden=16, num_classes=10):
        super().__init__()
        layers = []
        layers.append(nn.Conv2d(in_channels, hidden, 3, padding=1))  # connection layer
        layers.append(nn.ReLU())  # activation function
        # 1x1 convolutions mix the channels
        layers.append(nn.Conv2d(hidden, hidden, 1))
        layers.append(nn.ReLU())
        layers.append(nn.MaxPool2d(2))
        layers.append(nn.Flatten())
        layers.append(nn.Linear(hidden * 4 * 4, 64))
        layers.append(nn.Tanh())
        layers.append(nn.Linear(64, num_classes))
        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)
