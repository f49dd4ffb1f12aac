"""Models whose forward returns several tensors, written as their projects write them."""

import torch.nn.functional as F
from torch import nn


class TwoHeads(nn.Module):
    """A classifier that also gives its embedding (for retrieval), which its head reads."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(12, 16), nn.ReLU())
        self.embed = nn.Linear(16, 6)
        self.classifier = nn.Linear(6, 3)
        self.aux = nn.Linear(16, 1)

    def forward(self, x):
        h = self.body(x)
        e = self.embed(h)
        return self.classifier(F.relu(e)), e, self.aux(h)


class DictOutputs(nn.Module):
    """A model returning a dict, as Hugging Face style heads do."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(10, 16), nn.Tanh())
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        features = self.features(x)
        return {"logits": self.head(features), "features": features}


class GPTWithLoss(nn.Module):
    """nanoGPT's top level: ``logits, loss``, where the loss is None without targets."""

    def __init__(self, vocab_size: int = 16, n_embd: int = 12):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx, targets=None):
        x = self.ln_f(self.wte(idx))
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


class Branch(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.fc(x))


class TwoBranches(nn.Module):
    """Two uses of one class, each giving one of the outputs, the first also read on."""

    def __init__(self):
        super().__init__()
        self.left = Branch(8)
        self.right = Branch(8)

    def forward(self, x):
        a = self.left(x)
        return a, self.right(a)
