"""Feature-map reconstruction after a cut, on a small CNN trained on scikit-learn's digits: the refit layers'
output error and the network's held-out accuracy, against plain pruning."""

import copy

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from netadapt.criteria import create_criterion
from netadapt.pruning import analyze, keep_channels
from netadapt.pruning.reconstruct import refit, refit_layers, reconstruct


@pytest.fixture(scope="module")
def digits_net():
    digits = load_digits()
    x = F.interpolate(torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16, size=16)
    y = torch.tensor(digits.target)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.Conv2d(32, 32, 3, padding=1, stride=2), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32 * 4, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(150):
        i = torch.randint(0, 1200, (64,))
        loss = F.cross_entropy(model(x[i]), y[i])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), x, y


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model.eval()(x).argmax(1) == y).float().mean().item()


def output_error(model, reference, x) -> float:
    with torch.no_grad():
        return float(((model(x) - reference(x)) ** 2).sum() / (reference(x) ** 2).sum())


@pytest.mark.parametrize("group, count", [("0", 8), ("3", 6)])
def test_reconstruction_brings_the_cut_network_back_towards_the_unpruned_one(digits_net, group, count):
    model, x, y = digits_net
    shape = (1, 1, 16, 16)
    graph = analyze(model, shape)
    keep = {group: create_criterion("l2").select(model, graph.groups[group], count)}
    layers = refit_layers(graph, keep)
    # group "0" is read by the second convolution, group "3" (flattened) by the classifier
    assert layers == {"3": None} if group == "0" else layers == {"8": None}
    pruned = copy.deepcopy(model)
    keep_channels(pruned, graph, keep)
    rebuilt = copy.deepcopy(pruned)
    fits = reconstruct(model, rebuilt, layers, x[:300])  # 300 sampled images, none of them held out
    assert [f.layer for f in fits] == list(layers)
    for fit in fits:
        assert fit.after < 0.5 * fit.before and fit.rows >= 300
    held_out = x[1500:], y[1500:]
    full, plain, refit_acc = (accuracy(m, *held_out) for m in (model, pruned, rebuilt))
    assert full > 0.9
    assert output_error(rebuilt, model, held_out[0]) < 0.5 * output_error(pruned, model, held_out[0])
    # seen: cut to 8 of 32 channels, 0.923 unpruned, 0.202 pruned, 0.902 refit (layer error 0.71 -> 0.05);
    # the classifier's inputs cut to 6 of 32: 0.508 pruned, 0.889 refit (0.62 -> 0.02)
    assert refit_acc > plain + 0.3
    assert refit_acc >= full - 0.08
    print(f"group {group} cut to {count}: holdout accuracy {full:.3f} unpruned, {plain:.3f} pruned, "
          f"{refit_acc:.3f} reconstructed; layer error {[(f.before, f.after) for f in fits]}")


def test_a_layer_is_refit_to_the_outputs_wanted():
    torch.manual_seed(0)
    layer = nn.Conv2d(4, 3, 3, padding=1, bias=True)
    target = nn.Conv2d(4, 3, 3, padding=1, bias=True)
    x = torch.randn(20, 4, 8, 8)
    with torch.no_grad():
        y = target(x)
    before, after, rows = refit(layer, x, y, ridge=1e-8, per_image=16)
    assert before > 0.5 and after < 1e-8 and rows == 20 * 16
    torch.testing.assert_close(layer.weight, target.weight, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(layer.bias, target.bias, atol=1e-4, rtol=1e-4)
    linear = nn.Linear(5, 2, bias=False)
    xs = torch.randn(50, 5)
    w = torch.randn(2, 5)
    before, after, rows = refit(linear, xs, xs @ w.t(), ridge=1e-9)
    assert after < 1e-10 and rows == 50
    torch.testing.assert_close(linear.weight.detach(), w, atol=1e-4, rtol=1e-4)


def test_grouped_convolutions_are_left_as_they_are():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, groups=2))
    weight = model[1].weight.detach().clone()
    assert reconstruct(model, copy.deepcopy(model), {"1": None}, torch.randn(4, 2, 6, 6)) == []
    assert torch.equal(model[1].weight, weight)
