"""Small user tasks for the tests of ``netadapt.prune``: models that are not one tensor in, one tensor out, each
with a deterministic training loop and metric of the kind a user writes.

- ``TwoHeads``: an image and a vector in, a tuple (class logits, a box map) out.
- ``Tagger``: int64 token ids in (an embedding, then 1-D convolutions), a dict of logits out.
"""

import torch
import torch.nn.functional as F
from torch import nn

import netadapt

torch.manual_seed(0)
IMAGES = torch.randn(48, 3, 16, 16)
VECTORS = torch.randn(48, 4)
LABELS = (IMAGES.mean((1, 2, 3)) > 0).long() + (VECTORS[:, 0] > 0).long()
TOKENS = torch.randint(0, 50, (48, 64))
TAGS = (TOKENS % 3).long()


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 48, 3, padding=1), nn.BatchNorm2d(48), nn.ReLU())
        self.body = nn.Sequential(nn.Conv2d(48, 96, 3, padding=1, stride=2), nn.BatchNorm2d(96), nn.ReLU())
        self.boxes = nn.Conv2d(96, 4, 1)
        self.extra = nn.Linear(4, 96)
        self.classes = nn.Linear(96, 3)

    def forward(self, image, vector):
        y = self.body(self.stem(image))
        pooled = y.mean((2, 3)) + self.extra(vector)
        return self.classes(pooled), self.boxes(y)


class Tagger(nn.Module):
    def __init__(self, vocab=50, width=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.conv1 = nn.Conv1d(width, 128, 3, padding=1)
        self.norm = nn.BatchNorm1d(128)
        self.conv2 = nn.Conv1d(128, 64, 3, padding=1)
        self.tags = nn.Conv1d(64, 3, 1)

    def forward(self, tokens):
        x = self.embed(tokens).transpose(1, 2)
        x = F.relu(self.conv2(F.relu(self.norm(self.conv1(x)))))
        return {"tags": self.tags(x), "pooled": x.mean(2)}


def train_two_heads(model, steps, teacher=None):
    """Plain SGD on fixed batches (deterministic): what a user's loop looks like."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for step in range(steps):
        rows = slice((step * 16) % 48, (step * 16) % 48 + 16)
        logits, boxes = model(IMAGES[rows], VECTORS[rows])
        loss = F.cross_entropy(logits, LABELS[rows]) + 0.01 * boxes.pow(2).mean()
        if teacher is not None:
            with torch.no_grad():
                soft = teacher(IMAGES[rows], VECTORS[rows])[0]
            loss = loss + 0.1 * F.mse_loss(logits, soft)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def evaluate_two_heads(model):
    model.eval()
    with torch.no_grad():
        logits, _ = model(IMAGES, VECTORS)
    return float((logits.argmax(1) == LABELS).float().mean())


def train_tagger(model, steps):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for step in range(steps):
        rows = slice((step * 16) % 48, (step * 16) % 48 + 16)
        loss = F.cross_entropy(model(TOKENS[rows])["tags"], TAGS[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def evaluate_tagger(model):
    model.eval()
    with torch.no_grad():
        out = model(TOKENS)["tags"]
    accuracy = float((out.argmax(1) == TAGS).float().mean())
    return {"score": accuracy, "loss": float(F.cross_entropy(out, TAGS))}


def trained(model, train, steps=30):
    torch.manual_seed(0)
    train(model, steps)
    return model.eval()


def two_heads_task(batch=1):
    torch.manual_seed(0)
    model = trained(TwoHeads(), train_two_heads)
    return netadapt.Task(model, (torch.randn(batch, 3, 16, 16), torch.randn(batch, 4)), train_two_heads,
                         evaluate_two_heads)


def tagger_task(batch=1):
    torch.manual_seed(0)
    model = trained(Tagger(), train_tagger)
    return netadapt.Task(model, TOKENS[:batch].clone(), train_tagger, evaluate_tagger)


def make_task(kind: str = "tagger"):
    """The factory ``netadapt run --task usertasks:make_task`` calls."""
    return {"tagger": tagger_task, "two_heads": two_heads_task}[kind]()
