"""A small token encoder: embeddings, pre-norm blocks of multi-head self-attention (separate query, key and value
projections, so heads can leave whole) and an MLP, mean pooling, a classifier.

``forward(tokens)`` takes int64 token ids (batch, length) and returns class logits. Each attention layer records
``num_heads`` and ``head_dim`` (``netadapt.pruning.heads`` finds them and updates the head count after pruning);
its view to (batch, length, heads, head size) reads the head count from the layer, so a pruned layer runs with
the heads it has left.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate query, key, value and output projections."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of {heads} heads")
        self.num_heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape

        def heads(t):
            return t.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        weights = (q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)).softmax(dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)
        return self.out(context)


class Block(nn.Module):
    """x + attention(norm(x)), then x + MLP(norm(x)) with a GELU."""

    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm2, self.fc1, self.fc2 = nn.LayerNorm(dim), nn.Linear(dim, mlp), nn.Linear(mlp, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class TokenEncoder(nn.Module):
    """Token and position embeddings, ``depth`` blocks, a final norm, mean pooling and a linear classifier.

    Args:
        vocab: token ids run from 0 to ``vocab - 1``.
        length: the longest sequence (positions learnt).
        num_classes: classes.
        dim, heads, mlp, depth: the model width, attention heads, MLP width and number of blocks.
    """

    def __init__(self, vocab: int = 17, length: int = 64, num_classes: int = 10, dim: int = 64, heads: int = 4,
                 mlp: int = 128, depth: int = 2):
        super().__init__()
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Parameter(torch.zeros(1, length, dim))
        nn.init.normal_(self.positions, std=0.02)
        self.blocks = nn.Sequential(*(Block(dim, heads, mlp) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tokens(tokens) + self.positions[:, : tokens.shape[1]]
        return self.classifier(self.norm(self.blocks(x)).mean(dim=1))
