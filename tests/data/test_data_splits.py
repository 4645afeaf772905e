"""Holdout and size limits: disjoint, deterministic per seed, carved from training data only."""

import pytest
import torch

from netadapt.data import load_data
from netadapt.errors import UserError

SOURCE = "synthetic:n=200,test=50"


def _rows(dataset):
    return set(dataset.indices.tolist())


def test_holdout_is_disjoint_from_train_and_covers_the_training_split():
    data = load_data(SOURCE, holdout=0.25, seed=1)
    assert len(data.holdout) == 50 and len(data.train) == 150
    assert not _rows(data.train) & _rows(data.holdout)
    assert _rows(data.train) | _rows(data.holdout) == set(range(200))
    # the holdout comes from the training images, not from the test images
    assert data.holdout.images is data.train.images
    assert data.test.images is not data.train.images


def test_holdout_is_deterministic_per_seed():
    a = load_data(SOURCE, holdout=40, seed=3)
    b = load_data(SOURCE, holdout=40, seed=3)
    c = load_data(SOURCE, holdout=40, seed=4)
    assert _rows(a.holdout) == _rows(b.holdout)
    assert _rows(a.holdout) != _rows(c.holdout)
    assert torch.equal(a.holdout.get_batch(torch.arange(40))[0], b.holdout.get_batch(torch.arange(40))[0])


def test_limits_take_fixed_random_subsets():
    data = load_data(SOURCE, holdout=10, train_limit=60, test_limit=20, seed=2)
    assert (len(data.train), len(data.holdout), len(data.test)) == (50, 10, 20)
    assert _rows(load_data(SOURCE, holdout=10, train_limit=60, seed=2).train) == _rows(data.train)


@pytest.mark.parametrize("holdout,match", [(200, "leaves no training data"), (-0.5, "fraction"),
                                           (2.5, "whole count"), ("10", "count or a fraction")])
def test_bad_holdouts_are_user_errors(holdout, match):
    with pytest.raises(UserError, match=match):
        load_data(SOURCE, holdout=holdout)


def test_zero_holdout_is_empty():
    data = load_data(SOURCE, holdout=0)
    assert len(data.holdout) == 0 and len(data.train) == 200
