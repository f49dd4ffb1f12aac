"""A block class used twice with a child whose settings differ (padding 1 vs 4, dilation
1 vs 4): the unit the importer makes promotes those settings."""

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, channels, padding=1, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=padding, dilation=dilation)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + x


class Dilated(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block1 = Block(8)
        self.block2 = Block(8, padding=4, dilation=4)
        self.block3 = Block(8, padding=2, dilation=2)
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.stem(x))))
        return self.head(x.mean((2, 3)))


class Gate(nn.Module):
    """Branches on the data: stays a Code node, with its own constructor arguments."""

    def __init__(self, features, factor=0.5):
        super().__init__()
        self.factor = factor
        self.features = features

    def forward(self, x):
        return x * self.factor if x.sum() > 0 else x


class Stage(nn.Module):
    def __init__(self, features, factor):
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.gate = Gate(features, factor=factor)

    def forward(self, x):
        return self.gate(self.fc(x))


class GatedStages(nn.Module):
    """The same Stage class twice, its Code node's `factor` differing (0.25 vs 4.0)."""

    def __init__(self):
        super().__init__()
        self.stage1 = Stage(16, 0.25)
        self.stage2 = Stage(16, 4.0)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.stage2(self.stage1(x)))
