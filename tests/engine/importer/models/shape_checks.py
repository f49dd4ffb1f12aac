"""Forwards that ask Python questions about their input's shape and device, as people
write them: none of these questions depends on the data."""

import torch
from torch import nn


class Checked(nn.Module):
    """Asserts its layout, unpacks the size into ints, loops over the dims."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        assert x.dim() == 4, "expects N, C, H, W"
        n, c, h, w = x.size()
        if h != w:
            raise ValueError("square images only")
        for size in x.shape[1:]:
            assert size > 0
        x = torch.relu(self.conv(x))
        if len(x.shape) == 4 and x.is_floating_point():
            x = x.view(n, -1)
        return self.fc(x)


class BatchSized(nn.Module):
    """`len(x)` is the batch size: freezing it to one size would be wrong for the next."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        batch = len(x)
        return self.fc(x.reshape(batch, 12))
