"""A model with a submodule whose forward branches on the data (not symbolically traceable),
and a Swish written as plain code."""

import torch
from torch import nn


class Gate(nn.Module):
    """Scales its input down when the batch sum is positive: data-dependent control flow."""

    def __init__(self, features, factor=0.5):
        super().__init__()
        self.factor = factor
        self.proj = nn.Linear(features, features)

    def forward(self, x):
        if x.sum() > 0:
            return self.proj(x) * self.factor
        return self.proj(x)


class GatedNet(nn.Module):
    def __init__(self, hidden=32, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.gate = Gate(hidden, factor=0.25)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = x * torch.sigmoid(x)
        x = self.gate(x)
        return self.fc2(x)


class WholeBranch(nn.Module):
    """Branches on the data in its own forward: nothing of it can be traced."""

    def __init__(self, features=64):
        super().__init__()
        self.fc = nn.Linear(features, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        if x.mean() > 0:
            x = -x
        return self.fc(x)
