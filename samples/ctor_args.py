# Input: (N, 1, 8, 8) images (scikit-learn digits); output: (N, 10) class logits.
"""A network whose constructor needs arguments: the hidden width and the number of classes.

There are no defaults, so the model is chosen by a call expression:
``nnevolve evolve samples/ctor_args.py --model "Net(32, 10)"``
(or ``--model "Net(hidden=32, num_classes=10, dropout=0.2)"``).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, hidden, num_classes, dropout=0.1):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(8 * 4 * 4, hidden)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc1(x)))
        return self.fc2(x)
