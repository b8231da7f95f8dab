# Input: (N, 1, 8, 8) images (scikit-learn digits); output: (N, 10) class logits.
"""A fully connected network: the 8×8 image flattened, two hidden layers."""

from torch import nn


class FCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 128),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.layers(x)
