"""Short-term fine-tuning and evaluation."""

import copy

import pytest
import torch
from torch import nn

from netadapt.data import load_data
from netadapt.models import create_model
from netadapt.training import evaluate, fine_tune


@pytest.fixture(scope="module")
def data():
    return load_data("synthetic:classes=3,size=16,n=120,test=60,noise=0.2", holdout=30)


def _model(seed=0):
    torch.manual_seed(seed)
    return create_model("digits_cnn", num_classes=3, width_mult=0.25)


def _loss(model, dataset):
    model.eval()
    images, labels = dataset.get_batch(torch.arange(len(dataset)))
    with torch.no_grad():
        return nn.functional.cross_entropy(model(images), labels).item()


def test_a_few_steps_lower_the_loss_and_raise_accuracy(data):
    model = _model()
    before_loss, before_acc = _loss(model, data.train), evaluate(model, data.test)
    mean = fine_tune(model, data.train, 40, batch_size=30, lr=0.05)
    assert mean == pytest.approx(mean) and mean > 0
    assert _loss(model, data.train) < 0.7 * before_loss
    assert evaluate(model, data.test) > max(before_acc, 0.8)


def test_same_seed_same_weights_other_seed_other_weights(data):
    base = _model()
    a, b, c = copy.deepcopy(base), copy.deepcopy(base), copy.deepcopy(base)
    loss_a = fine_tune(a, data.train, 7, batch_size=16, seed=1, augment="cifar", schedule="cosine")
    loss_b = fine_tune(b, data.train, 7, batch_size=16, seed=1, augment="cifar", schedule="cosine")
    loss_c = fine_tune(c, data.train, 7, batch_size=16, seed=2, augment="cifar", schedule="cosine")
    assert loss_a == loss_b and loss_a != loss_c
    for (name, ta), tb, tc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(ta, tb), name
    assert not all(torch.equal(ta, tc) for ta, tc in zip(a.state_dict().values(), c.state_dict().values()))


def test_loops_over_small_data_restores_mode_and_leaves_global_rng_alone(data):
    model = _model().eval()
    state = torch.get_rng_state()
    fine_tune(model, data.holdout, 5, batch_size=16)  # 30 images: 2 batches per pass, 3 passes
    assert not model.training
    assert torch.equal(torch.get_rng_state(), state)
    assert fine_tune(model, data.holdout, 0) != fine_tune(model, data.holdout, 0)  # NaN for no steps


def test_evaluate_counts_top1_hits(data):
    class Constant(nn.Module):
        def forward(self, x):
            return torch.tensor([0.0, 1.0, 0.0]).expand(len(x), 3)

    expected = (data.test.targets() == 1).float().mean().item()
    assert evaluate(Constant(), data.test, batch_size=7) == pytest.approx(expected)
    assert evaluate(Constant(), data.holdout.subset(torch.arange(0))) != evaluate(Constant(), data.holdout)
