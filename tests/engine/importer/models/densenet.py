"""A DenseNet-121-like model (torchvision's layout: dense layers that concatenate, and
transitions), small in width so it builds fast but with the full 6-12-24-16 depth: about
420 blocks, the import-time yardstick. Not part of the fast suite."""

import torch
import torch.nn.functional as F
from torch import nn


class _DenseLayer(nn.Module):
    def __init__(self, num_input_features, growth_rate, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(out)))


class _DenseBlock(nn.Module):
    def __init__(self, num_layers, num_input_features, bn_size, growth_rate):
        super().__init__()
        self.layers = nn.ModuleList(
            _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
            for i in range(num_layers))

    def forward(self, x):
        for layer in self.layers:
            x = torch.cat([x, layer(x)], 1)
        return x


class _Transition(nn.Sequential):
    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, 1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    def __init__(self, growth_rate=4, block_config=(6, 12, 24, 16), num_init_features=8,
                 bn_size=2, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, num_init_features, 3, padding=1, bias=False),
            nn.BatchNorm2d(num_init_features), nn.ReLU(inplace=True))
        blocks = []
        features = num_init_features
        for i, num_layers in enumerate(block_config):
            blocks.append(_DenseBlock(num_layers, features, bn_size, growth_rate))
            features += num_layers * growth_rate
            if i != len(block_config) - 1:
                blocks.append(_Transition(features, features // 2))
                features //= 2
        self.features = nn.Sequential(*blocks)
        self.norm5 = nn.BatchNorm2d(features)
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, x):
        out = F.relu(self.norm5(self.features(self.stem(x))))
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(torch.flatten(out, 1))
