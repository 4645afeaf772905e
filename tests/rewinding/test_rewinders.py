"""Lottery and learning-rate rewinding: exact weights of the surviving channels, schedule overrides."""

from types import SimpleNamespace

import pytest
import torch

from netadapt.checkpoint import save_checkpoint
from netadapt.data import load_data
from netadapt.errors import UserError
from netadapt.models.spec import ModelSpec
from netadapt.pruning import analyze, keep_channels
from netadapt.rewinding import create_rewinder, list_rewinders
from netadapt.training import TrainConfig, fine_tune, load_rewind, train

SPEC = ModelSpec("netadapt.models.digits_cnn:DigitsCNN",
                 {"num_classes": 3, "stages": [[8, 8], [16, 16], [32, 32]]})
SHAPE = (1, 1, 16, 16)
K = 3


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    data = load_data("synthetic:n=60,test=10", holdout=0)
    torch.manual_seed(0)
    model = SPEC.build()
    train(model, data, TrainConfig(epochs=2, batch_size=20, lr=0.05, rewind_iteration=K), out_dir=folder / "train",
          progress=False)
    save_checkpoint(folder / "model.pt", model, SPEC, SHAPE)
    return SimpleNamespace(model=model, data=data, folder=folder,
                           config=SimpleNamespace(checkpoint=str(folder / "model.pt")))


def _candidate(model):
    cand = SPEC.build()
    cand.load_state_dict(model.state_dict())
    graph = analyze(cand, SHAPE)
    origin = {g: list(range(n)) for g, n in graph.sizes().items()}
    origin["features.0.0"] = [0, 2, 5, 7]   # 8 -> 4 channels
    origin["features.3.0"] = [1, 3, 4, 15]  # 16 -> 4 channels
    keep_channels(cand, graph, origin)
    return cand, origin


def test_registered():
    assert {"none", "lottery", "lr_rewind"} <= set(list_rewinders())


def test_lottery_restores_exactly_the_saved_weights_of_surviving_channels(trained):
    cand, origin = _candidate(trained.model)
    rewinder = create_rewinder("lottery", spec=SPEC, input_shape=SHAPE, run_dir=None, config=trained.config)
    overrides = rewinder.apply(cand, origin)
    saved = load_rewind(trained.folder / "train" / f"rewind_{K}.pt")
    w = saved["state_dict"]
    rows0, rows1 = torch.tensor(origin["features.0.0"]), torch.tensor(origin["features.3.0"])
    state = cand.state_dict()
    assert torch.equal(state["features.0.0.weight"], w["features.0.0.weight"][rows0])
    assert torch.equal(state["features.0.1.running_mean"], w["features.0.1.running_mean"][rows0])
    assert torch.equal(state["features.1.0.weight"], w["features.1.0.weight"][:, rows0])
    assert torch.equal(state["features.3.0.weight"], w["features.3.0.weight"][rows1])
    assert torch.equal(state["features.4.0.weight"], w["features.4.0.weight"][:, rows1])
    assert torch.equal(state["classifier.weight"], w["classifier.weight"])
    # and not the trained values
    assert not torch.equal(state["classifier.weight"], trained.model.state_dict()["classifier.weight"])
    assert overrides == {"lr": pytest.approx(saved["lr"]), "schedule": "cosine"}
    assert 0 < overrides["lr"] < 0.05
    # the overrides are fine_tune keywords
    assert fine_tune(cand, trained.data.train, 2, **{"batch_size": 20, "lr": 0.01, **overrides}) > 0


def test_lr_rewind_keeps_the_weights_and_replays_the_rate(trained):
    cand, origin = _candidate(trained.model)
    before = {k: v.clone() for k, v in cand.state_dict().items()}
    rewinder = create_rewinder("lr_rewind", spec=SPEC, input_shape=SHAPE, run_dir=None, config=trained.config)
    overrides = rewinder.apply(cand, origin)
    assert all(torch.equal(before[k], v) for k, v in cand.state_dict().items())
    saved = load_rewind(trained.folder / "train" / f"rewind_{K}.pt")
    assert overrides == {"lr": pytest.approx(saved["lr"]), "schedule": "cosine"}


def test_explicit_rewind_path_and_missing_files(trained, tmp_path):
    explicit = create_rewinder("lr_rewind", rewind=trained.folder / "train" / f"rewind_{K}.pt")
    assert explicit.iteration == K
    with pytest.raises(UserError, match="no rewind_<k>.pt"):
        create_rewinder("lottery", spec=SPEC, input_shape=SHAPE,
                        config=SimpleNamespace(checkpoint=str(tmp_path / "model.pt")))
    with pytest.raises(UserError, match="--checkpoint"):
        create_rewinder("lr_rewind", config=SimpleNamespace(checkpoint=None))
