"""The token task as netadapt prunes it: a trained ``TokenEncoder`` on digit token sequences, its loop and its
accuracy. Every callable is a module-level class holding its tensors, so the task pickles into workers."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from netadapt.task import Task
from netadapt.tasks.text.data import LENGTH, VOCAB, digit_tokens
from netadapt.tasks.text.model import TokenEncoder


def train_encoder(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor, steps: int, *, lr: float,
                  batch_size: int = 64, seed: int = 0, cosine: bool = False, teacher: nn.Module | None = None,
                  distill: float = 0.0) -> float:
    """``steps`` AdamW steps of cross-entropy (plus ``distill`` x the KL to ``teacher``'s softened outputs) on
    batches drawn by ``seed``; the model's mode is restored. Returns the mean loss."""
    was_training = model.training
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1)) if cosine else None
    generator = torch.Generator().manual_seed(seed)
    model.train()
    total = 0.0
    for _ in range(steps):
        rows = torch.randint(0, len(tokens), (batch_size,), generator=generator)
        logits = model(tokens[rows])
        loss = F.cross_entropy(logits, labels[rows])
        if teacher is not None and distill > 0:
            with torch.no_grad():
                soft = teacher(tokens[rows]).softmax(dim=1)
            loss = (1 - distill) * loss + distill * F.kl_div(logits.log_softmax(dim=1), soft, reduction="batchmean")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        total += float(loss.detach())
    model.train(was_training)
    return total / max(steps, 1)


def accuracy(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor, logits=lambda out: out) -> float:
    """Top-1 accuracy of ``logits(model(tokens))`` (``logits`` reads them from an output object, such as a
    Hugging Face model's); the model's mode is restored."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = float((logits(model(tokens)).argmax(dim=1) == labels).float().mean())
    model.train(was_training)
    return correct


class FineTune:
    """``train(model, steps, teacher=None)``: AdamW at a constant rate; batches drawn from a seed taken from
    torch's global generator (netadapt seeds it before every call)."""

    def __init__(self, tokens, labels, lr: float = 5e-4, distill: float = 0.0):
        self.tokens, self.labels, self.lr, self.distill = tokens, labels, lr, distill

    def __call__(self, model: nn.Module, steps: int, teacher: nn.Module | None = None) -> float:
        seed = int(torch.randint(0, 2**30, ()))
        return train_encoder(model, self.tokens, self.labels, steps, lr=self.lr, seed=seed, teacher=teacher,
                             distill=self.distill)


class Evaluate:
    """``evaluate(model)``: top-1 accuracy on the held-out sequences."""

    def __init__(self, tokens, labels):
        self.tokens, self.labels = tokens, labels

    def __call__(self, model: nn.Module) -> float:
        return accuracy(model, self.tokens, self.labels)


class BatchLoss:
    """``loss(model, batch)``: the summed cross-entropy of one (tokens, labels) batch."""

    def __call__(self, model: nn.Module, batch) -> torch.Tensor:
        tokens, labels = batch
        return F.cross_entropy(model(tokens), labels, reduction="sum")


def make_task(checkpoint: str | Path | None = None, seed: int = 0, dim: int = 64, heads: int = 4, mlp: int = 128,
              depth: int = 2, base_steps: int = 1500, batch: int = 1, cache: str | Path | None = None,
              lr: float = 5e-4) -> Task:
    """A ``netadapt.Task`` that classifies digits read as token sequences with a ``TokenEncoder``.

    Args:
        checkpoint: a state dict (``torch.save``) of a ``TokenEncoder`` of these sizes; without it the base
            model is trained here (``base_steps`` AdamW steps, cosine) and kept in ``cache`` when given.
        seed: fixes the split, the initialisation and the base training.
        dim, heads, mlp, depth: the encoder's sizes.
        batch: the batch size of ``example_inputs`` (the one latency is measured at).
        lr: the fine-tuning loop's constant learning rate.
    """
    data = digit_tokens(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TokenEncoder(VOCAB, LENGTH, 10, dim, heads, mlp, depth)
    source = checkpoint if checkpoint is not None else (cache if cache is not None and Path(cache).exists() else None)
    if source is not None:
        model.load_state_dict(torch.load(source, map_location="cpu", weights_only=True))
    else:
        train_encoder(model, *data.train, base_steps, lr=3e-3, seed=seed, cosine=True)
        if cache is not None:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), cache)
    tokens, labels = data.train
    batches = [(tokens[i:i + 64], labels[i:i + 64]) for i in range(0, 256, 64)]
    return Task(model.eval(), data.holdout[0][:batch].clone(), FineTune(tokens, labels, lr),
                Evaluate(*data.holdout), loss=BatchLoss(), batches=batches)
