import copy

import pytest
import torch
from torch import nn

from netadapt.models.spec import ModelSpec
from netadapt.pruning import analyze, first_channels, keep_channels
from netadapt.task import checkpoints as checkpoints_module
from netadapt.task.checkpoints import TaskCheckpoints, ZooCheckpoints

SHAPE = (1, 1, 8, 8)


def _cut_and_save(fmt, model, tmp_path):
    """Freeze the first group, cut the second to half, save through ``fmt``: (path, frozen, expected counts)."""
    graph = analyze(model, SHAPE, validate=False)
    first, second = list(graph.groups)[:2]
    frozen = {first: "kept whole by the test"}
    graph = analyze(model, SHAPE, validate=False, frozen=frozen)
    half = graph.groups[second].size // 2
    keep_channels(model, graph, {second: first_channels(graph.groups[second], half)})
    channels = {**graph.sizes(), second: half}
    path = tmp_path / "m.pt"
    fmt.save(path, model.state_dict(), channels)
    return path, frozen, channels


@pytest.mark.parametrize("kind", ["zoo", "task"])
def test_a_loaded_checkpoint_comes_with_the_analysis_of_its_cut(kind, tmp_path, monkeypatch):
    torch.manual_seed(0)
    if kind == "zoo":
        spec = ModelSpec("digits_cnn")
        model, fmt = spec.build().eval(), ZooCheckpoints(spec, SHAPE)
    else:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 10)).eval()
        fmt = TaskCheckpoints(copy.deepcopy(model), SHAPE)
    path, frozen, channels = _cut_and_save(fmt, model, tmp_path)
    calls = []
    real = checkpoints_module.analyze
    monkeypatch.setattr(checkpoints_module, "analyze", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(2):  # the unpruned network is analysed for the first load only
        loaded, graph = fmt.load_analysed(path, frozen)
        fresh = analyze(loaded, SHAPE, validate=False, frozen=frozen)
        assert graph.sizes() == fresh.sizes() == channels
        assert set(graph.frozen) == set(fresh.frozen) >= set(frozen)
        assert not loaded.training
        x = torch.randn(*SHAPE)
        assert torch.equal(loaded(x), model(x))  # the weights are the saved ones
    assert len(calls) == 1
    fmt.load_analysed(path, {})  # other frozen groups: analysed anew
    assert len(calls) == 2


def test_a_subclass_that_skips_the_parents_init_still_loads(tmp_path):
    class Mine(TaskCheckpoints):
        def __init__(self, model, input_shape):  # no super().__init__
            self.model, self.input_shape = model, input_shape

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 10)).eval()
    fmt = Mine(copy.deepcopy(model), SHAPE)
    path, frozen, channels = _cut_and_save(fmt, model, tmp_path)
    loaded, graph = fmt.load_analysed(path, frozen)
    assert graph.sizes() == channels
