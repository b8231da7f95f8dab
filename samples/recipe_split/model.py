# Input: (N, 1, 8, 8) images (scikit-learn digits); output: (N, 10) class logits.
"""The model of a project whose training set-up lives in a separate script (train.py), in the
style of the common PyTorch examples. The pyproject.toml beside it names the script
(``train_file = "train.py"``), so every variant is trained with its optimizer, loss, scheduler
and batch size: ``nnevolve evolve samples/recipe_split/model.py``.
"""

import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)
