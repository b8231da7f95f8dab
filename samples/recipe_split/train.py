"""Training script of the recipe_split sample (as in the common PyTorch examples): the model
ends in log_softmax, so the loss is F.nll_loss; Adadelta-style per-epoch decay via StepLR."""

import torch
import torch.nn.functional as F
from torch import optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader

from model import Net


def main(train_set, epochs=3):
    model = Net()
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for _ in range(epochs):
        for data, target in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return model
