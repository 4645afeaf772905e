"""Lottery tickets: masks stay applied through training, remaining fractions follow (1-p)^r, rewinding."""

import csv

import pytest
import torch
from click.testing import CliRunner

from netadapt.cli import cli
from netadapt.data import load_data
from netadapt.errors import UserError
from netadapt.lottery import (LotteryConfig, MaskHooks, magnitude_prune, ones_masks, prunable_weights,
                              remaining_fraction, run_lottery, train_masked)
from netadapt.models.spec import ModelSpec
from netadapt.training import TrainConfig, load_rewind, train

DATA = "synthetic:n=60,test=30"
SPEC = ModelSpec("netadapt.models.digits_cnn:DigitsCNN", {"num_classes": 3, "stages": [[8], [16]]})
CONFIG = TrainConfig(epochs=2, batch_size=20, lr=0.05, momentum=0.9, weight_decay=5e-3)


@pytest.fixture(scope="module")
def data():
    return load_data(DATA, holdout=0)


def _model(seed=0):
    torch.manual_seed(seed)
    return SPEC.build()


def test_pruned_weights_stay_exactly_zero_through_training(data):
    model = _model()
    masks = magnitude_prune(model, ones_masks(model), 0.5, "layer")
    before = {n: w.detach().clone() for n, w in prunable_weights(model).items()}
    train_masked(model, data, CONFIG, masks=masks)  # 6 SGD steps with momentum and weight decay
    for name, w in prunable_weights(model).items():
        assert torch.count_nonzero(w[~masks[name]]) == 0
        assert not torch.equal(w[masks[name]], before[name][masks[name]])  # survivors trained
    # the gradient hooks are removed afterwards
    assert all(not w._backward_hooks for w in prunable_weights(model).values())


def test_mask_hooks_zero_gradients_of_pruned_weights():
    model = _model()
    masks = magnitude_prune(model, ones_masks(model), 0.3, "global")
    with MaskHooks(model, masks):
        model(torch.randn(4, 1, 16, 16)).sum().backward()
    for name, w in prunable_weights(model).items():
        assert torch.count_nonzero(w.grad[~masks[name]]) == 0


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_remaining_fraction_follows_one_minus_p_to_the_r(scope):
    model = _model()
    masks, p = ones_masks(model), 0.2
    total = sum(m.numel() for m in masks.values())
    for r in range(1, 6):
        masks = magnitude_prune(model, masks, p, scope)
        tolerance = 1 / total if scope == "global" else len(masks) / total  # rounding of the counts
        assert remaining_fraction(masks) == pytest.approx((1 - p) ** r, abs=r * tolerance)
        with torch.no_grad():  # new magnitudes each round, like retraining
            for w in prunable_weights(model).values():
                w.add_(torch.randn_like(w) * 0.01)
    if scope == "layer":
        for name, m in masks.items():
            assert m.float().mean() == pytest.approx(0.8 ** 5, abs=5 / m.numel() + 1e-9)


def test_global_pruning_removes_the_smallest_magnitudes():
    model = _model()
    masks = magnitude_prune(model, ones_masks(model), 0.5, "global")
    weights = prunable_weights(model)
    kept = torch.cat([weights[n].detach().abs()[m] for n, m in masks.items()])
    dropped = torch.cat([weights[n].detach().abs()[~m] for n, m in masks.items()])
    assert float(kept.min()) >= float(dropped.max())


def test_dense_masked_training_matches_netadapt_train_and_its_rewind_file(data, tmp_path):
    config = TrainConfig(epochs=2, batch_size=20, lr=0.05, rewind_iteration=4)
    reference = _model()
    train(reference, data, config, out_dir=tmp_path, progress=False)
    model = _model()
    at_k = train_masked(model, data, config, capture=4)
    saved = load_rewind(tmp_path / "rewind_4.pt")["state_dict"]
    assert all(torch.equal(at_k[n], saved[n]) for n in saved)
    assert all(torch.equal(model.state_dict()[n], reference.state_dict()[n]) for n in saved)
    # without momentum SGD has no state, so continuing from iteration 4 must end exactly where train() ended:
    # same data order, augmentation and learning rate from k on
    stateless = TrainConfig(epochs=2, batch_size=20, lr=0.05, momentum=0.0, rewind_iteration=4)
    reference = _model()
    train(reference, data, stateless, out_dir=tmp_path / "m0", progress=False)
    resumed = _model(seed=9)
    resumed.load_state_dict(load_rewind(tmp_path / "m0" / "rewind_4.pt")["state_dict"])
    train_masked(resumed, data, stateless, start=4)
    assert all(torch.equal(resumed.state_dict()[n], t) for n, t in reference.state_dict().items())


def test_lottery_run_rewinds_survivors_and_writes_csv_and_png(data, tmp_path):
    config = LotteryConfig(rounds=2, rate=0.5, rewind_iteration=2, train=CONFIG)
    rows = run_lottery(SPEC, data, config, tmp_path, log=lambda *_: None)
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert [r["remaining"] for r in rows] == pytest.approx([1.0, 0.5, 0.25], abs=1e-3)
    assert all(0 <= r["test_accuracy"] <= 1 for r in rows)
    assert all(0 <= r["control_accuracy"] <= 1 for r in rows[1:])
    with open(tmp_path / "lottery.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert list(written[0])[:4] == ["round", "remaining", "test_accuracy", "control_accuracy"]
    assert written[0]["control_accuracy"] == "" and len(written) == 3
    assert (tmp_path / "lottery.png").read_bytes()[:4] == b"\x89PNG"
    # round 1's ticket started from the rewind weights under its mask: replay it by hand
    saved = torch.load(tmp_path / "round_1.pt", weights_only=True)
    ticket = _model()
    ticket.load_state_dict(torch.load(tmp_path / "rewind.pt", weights_only=True))
    train_masked(ticket, data, CONFIG, masks=saved["masks"], start=2)
    assert all(torch.equal(ticket.state_dict()[n], t) for n, t in saved["trained"].items())
    # resuming adds rounds without redoing the finished ones
    more = run_lottery(SPEC, data, LotteryConfig(rounds=3, rate=0.5, rewind_iteration=2, train=CONFIG), tmp_path,
                       log=lambda *_: None)
    key = lambda rs: [(r["round"], r["remaining"], r["test_accuracy"]) for r in rs]  # noqa: E731
    assert key(more[:3]) == key(rows) and more[3]["remaining"] == pytest.approx(0.125, abs=1e-3)
    with pytest.raises(UserError, match="other settings"):
        run_lottery(SPEC, data, LotteryConfig(rounds=1, rate=0.3, train=CONFIG), tmp_path)


def test_lottery_command(tmp_path):
    result = CliRunner().invoke(cli, ["lottery", "--model", SPEC.name, "--model-args", '{"stages": [[4], [8]]}',
                                      "--data", DATA, "--rounds", "1", "--rate", "0.2", "--rewind-iter", "1",
                                      "--scope", "layer", "--epochs", "1", "--batch-size", "30",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with open(tmp_path / "lottery.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and float(rows[1]["remaining"]) == pytest.approx(0.8, abs=0.01)


def test_the_lottery_command_takes_its_options_from_the_settings():
    from netadapt.cli.lottery_cmd import lottery
    from netadapt.errors import UserError
    from netadapt.lottery import LotteryConfig

    flags = {opt for p in lottery.params for opt in p.opts}
    assert {"--rounds", "--rate", "--rewind-iter", "--scope", "--control", "--epochs", "--lr", "--batch-size",
            "--seed", "--train-limit", "--out"} <= flags
    epochs = next(p for p in lottery.params if p.name == "epochs")
    assert epochs.default == 10 and epochs.help == "Training epochs per round."
    with pytest.raises(UserError, match="^rate must be below 1, not 1.0$"):
        LotteryConfig(rate=1.0)
    with pytest.raises(UserError, match="^scope must be one of"):
        LotteryConfig(scope="row")
