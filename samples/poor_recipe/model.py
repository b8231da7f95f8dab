# Input: (N, 1, 8, 8) images (scikit-learn digits); output: (N, 10) class logits.
"""A small network with its training set-up in the same file, and a poor recipe: plain SGD at a
learning rate that underfits in a short budget, with no momentum.

nnevolve trains every variant with the recipe written here (the optimizer, the loss and the
batch size of the loader) and, since the recipe is part of the genome, evolves it too:
``nnevolve evolve samples/poor_recipe/model.py`` (settings from the pyproject.toml beside
it) finds variants whose only change is the learning rate, the momentum or the optimizer.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def train(model, dataset, epochs=2):
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    criterion = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
