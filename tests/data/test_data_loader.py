"""Batch loader: every image once per epoch, replayable epochs, correct augmentations."""

import torch
import torch.nn.functional as F
import pytest

from netadapt.data import load_data, make_loader
from netadapt.data.augment import random_crop, random_flip
from netadapt.errors import UserError


@pytest.fixture(scope="module")
def train():
    return load_data("synthetic:n=100,size=8", holdout=0).train


def test_each_epoch_visits_every_image_once(train):
    loader = make_loader(train, 32, shuffle=True, seed=0)
    assert len(loader) == 4
    labels = torch.cat([y for _, y in loader])
    assert torch.equal(labels.sort().values, train.targets().sort().values)
    assert [len(y) for _, y in make_loader(train, 32, shuffle=False, drop_last=True)] == [32, 32, 32]


def test_epochs_replay_for_a_seed_and_differ_between_epochs(train):
    a = make_loader(train, 25, shuffle=True, seed=7, augment="cifar")
    b = make_loader(train, 25, shuffle=True, seed=7, augment="cifar")
    first = [x for x, _ in a]
    second = [x for x, _ in a]  # epoch 1
    b.set_epoch(1)
    assert all(torch.equal(x, y) for x, y in zip(second, [x for x, _ in b]))
    assert not torch.equal(first[0], second[0])


def test_unshuffled_batches_equal_the_items(train):
    images, labels = next(iter(make_loader(train, 10, shuffle=False)))
    assert torch.equal(images[3], train[3][0]) and labels[3] == train[3][1]


def test_random_crop_is_a_shift_with_zero_fill():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6) + 1
    out = random_crop(x, 2, torch.Generator().manual_seed(0))
    padded = F.pad(x, (2,) * 4)
    for i in range(2):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(out[i], padded[i, :, dy:dy + 6, dx:dx + 6])]
        assert matches


def test_flip_mirrors_about_half_the_images():
    x = torch.randn(400, 1, 4, 4)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = sum(torch.equal(o, i.flip(2)) for o, i in zip(out, x))
    kept = sum(torch.equal(o, i) for o, i in zip(out, x))
    assert flipped + kept == 400 and 160 < flipped < 240


def test_unknown_augmentation_is_a_user_error(train):
    with pytest.raises(UserError, match="none, crop, cifar"):
        make_loader(train, 8, shuffle=False, augment="mixup")


def test_torch_subsets_are_batched_through_their_parent(train):
    subset = torch.utils.data.Subset(train, range(10, 30))
    images, labels = next(iter(make_loader(subset, 8, shuffle=False)))
    assert torch.equal(images[2], train[12][0]) and int(labels[2]) == train[12][1]
    assert sum(len(y) for _, y in make_loader(subset, 8, shuffle=True)) == 20
