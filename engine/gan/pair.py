"""The GAN's two networks as one module, so one run folder checkpoint holds both."""

from __future__ import annotations

import torch
from torch import nn


class GanPair(nn.Module):
    """The generator and the discriminator as one module, so one safetensors file holds
    both: keys are ``generator.<node>.<tensor>`` and ``discriminator.<node>.<tensor>``."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The discriminator's logit for generated samples (what the generator trains on)."""
        return self.discriminator(self.generator(z))
