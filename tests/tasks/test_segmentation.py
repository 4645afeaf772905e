"""The digit-canvas segmentation task: data, LR-ASPP network, mIoU, training loop, Task and channel groups."""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import netadapt
from netadapt.pruning import analyze, apply_channels
from netadapt.tasks.segmentation import make_task
from netadapt.tasks.segmentation.data import NUM_CLASSES, load_digit_segmentation, source_digits, upsample_digit
from netadapt.tasks.segmentation.metrics import mean_iou
from netadapt.tasks.segmentation.model import LRASPPTiny
from netadapt.tasks.segmentation.train import evaluate_segmenter, pixel_kl, segmentation_loss, train_segmenter

SHAPE = (1, 3, 64, 64)


@pytest.fixture(scope="module")
def small():
    return load_digit_segmentation(5, train=24, holdout=8, test=8)


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_canvases_are_deterministic_and_splits_use_disjoint_digits(small):
    again = load_digit_segmentation(5, train=24, holdout=8, test=8)
    other = load_digit_segmentation(6, train=24, holdout=8, test=8)
    for name in ("train", "holdout", "test"):
        assert torch.equal(getattr(small, name).images, getattr(again, name).images)
        assert torch.equal(getattr(small, name).masks, getattr(again, name).masks)
    assert not torch.equal(small.train.images, other.train.images)
    pools = [set(p.tolist()) for p in small.pools.values()]
    assert not (pools[0] & pools[1] or pools[0] & pools[2] or pools[1] & pools[2])
    assert sum(map(len, pools)) == 1797
    for name in ("train", "holdout", "test"):
        used = {p.source for placed in getattr(small, name).placements for p in placed}
        assert used <= set(small.pools[name].tolist())


def test_masks_label_the_strokes_of_the_pasted_digits(small):
    digits, labels = source_digits()
    data = small.train
    assert data.images.shape == (24, 3, 64, 64) and data.images.dtype == torch.float32
    assert data.masks.shape == (24, 64, 64) and data.masks.dtype == torch.int64
    for image_mask, placed in zip(data.masks, data.placements):
        assert 1 <= len(placed) <= 3
        expected = torch.zeros(64, 64, dtype=torch.int64)
        for p in placed:
            assert 14 <= p.size <= 24 and p.digit == labels[p.source]
            stroke = upsample_digit(torch.tensor(digits[p.source]), p.size) > 0.4
            window = expected[p.top:p.top + p.size, p.left:p.left + p.size]
            assert not window.any()  # digits never overlap
            window[stroke] = p.digit + 1
        assert torch.equal(image_mask, expected)
    assert int(data.masks.max()) <= NUM_CLASSES - 1


def test_canvases_pickle_as_their_recipe(small):
    blob = pickle.dumps(small.train)
    assert len(blob) < 1000
    back = pickle.loads(blob)
    assert torch.equal(back.images, small.train.images) and torch.equal(back.masks, small.train.masks)


def test_forward_returns_a_dict_of_full_resolution_logits():
    model = LRASPPTiny(width=0.5).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
        odd = model(torch.randn(1, 3, 50, 70))
    assert isinstance(out, dict) and list(out) == ["out"]
    assert out["out"].shape == (2, NUM_CLASSES, 64, 64)
    assert odd["out"].shape == (1, NUM_CLASSES, 50, 70)
    assert torch.isfinite(out["out"]).all()


def test_the_zoo_builds_it():
    from netadapt.models.registry import create_model, model_info

    assert isinstance(create_model("lraspp_tiny", width_mult=0.5, num_classes=4), LRASPPTiny)
    assert model_info("lraspp_tiny").default_input == (3, 64, 64) and model_info("lraspp_tiny").task == "segmentation"


def test_mean_iou_of_perfect_and_partial_predictions():
    masks = torch.tensor([[[0, 1, 1, 1], [2, 2, 0, 0]]])
    assert mean_iou(masks, masks, 3) == 1.0
    assert mean_iou(F.one_hot(masks, 3).permute(0, 3, 1, 2).float(), masks, 3) == 1.0
    preds = torch.tensor([[[0, 0, 1, 1], [2, 2, 2, 0]]])
    # class 0: |{(0,0),(1,3)}| / |{(0,0),(0,1),(1,2),(1,3)}| = 2/4; class 1: 2/3; class 2: 2/3
    expected = (2 / 4 + 2 / 3 + 2 / 3) / 3
    assert mean_iou(preds, masks, 3) == pytest.approx(expected)
    # a class in neither predictions nor labels does not count
    assert mean_iou(preds, masks, 5) == pytest.approx(expected)


def test_training_lowers_the_loss_and_is_deterministic(small):
    torch.manual_seed(0)
    model = LRASPPTiny(width=0.5)
    start = _state(model)
    batch = (small.train.images, small.train.masks)
    with torch.no_grad():
        before = float(segmentation_loss(model.eval(), batch))
    train_segmenter(model, small.train, 30, batch_size=8, lr=1e-2, seed=1)
    assert not model.training  # mode restored
    with torch.no_grad():
        after = float(segmentation_loss(model, batch))
    assert after < 0.5 * before
    twin = LRASPPTiny(width=0.5)
    twin.load_state_dict(start)
    twin.eval()
    train_segmenter(twin, small.train, 30, batch_size=8, lr=1e-2, seed=1)
    assert _same(_state(model), _state(twin))


def test_distillation_from_a_teacher(small):
    logits = torch.randn(2, NUM_CLASSES, 4, 4)
    assert float(pixel_kl(logits, logits)) == pytest.approx(0.0, abs=1e-6)
    assert float(pixel_kl(logits, torch.randn_like(logits))) > 0
    torch.manual_seed(0)
    teacher = LRASPPTiny(width=0.5).eval()
    student = copy.deepcopy(teacher)
    loss = train_segmenter(student, small.train, 2, batch_size=8, seed=0, teacher=teacher)
    assert np.isfinite(loss)
    assert not _same(_state(student), _state(teacher))


def test_evaluation_scores_in_the_unit_interval(small):
    model = LRASPPTiny(width=0.5)
    result = evaluate_segmenter(model, small.holdout)
    assert set(result) == {"score", "pixel_accuracy"}
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in result.values())


def test_make_task_trains_caches_and_scores(tmp_path):
    cache = tmp_path / "base" / "lraspp.pt"
    options = dict(seed=1, width=0.5, base_steps=2, batch=2, train_canvases=64, holdout_canvases=8)
    task = make_task(cache=cache, **options)
    assert isinstance(task, netadapt.Task) and cache.is_file()
    assert task.example_inputs.shape == (2, 3, 64, 64)
    assert task.calibrate is not None and len(task.batches) == 4

    score = task.evaluate(task.model)
    assert isinstance(score["score"], float) and 0 <= score["score"] <= 1

    pruned = copy.deepcopy(task.model)
    before = _state(pruned)
    task.train(pruned, 2)
    assert not _same(before, _state(pruned))
    task.train(pruned, 1, teacher=task.model)
    running = pruned.stem[1].running_mean.clone()
    assert task.calibrate(pruned) > 0 and not torch.equal(running, pruned.stem[1].running_mean)
    loss = task.loss(pruned, task.batches[0])
    assert loss.dim() == 0 and torch.isfinite(loss)

    cached = make_task(cache=cache, **options)
    assert _same(_state(cached.model), _state(task.model))
    checkpoint = tmp_path / "weights.pt"
    torch.save(pruned.state_dict(), checkpoint)
    loaded = make_task(checkpoint=checkpoint, **options)
    assert _same(_state(loaded.model), _state(pruned))

    back = pickle.loads(pickle.dumps(task))
    assert back.evaluate(back.model) == score


def test_channel_groups_include_expansions_and_squeeze_excitation_and_halve():
    torch.manual_seed(0)
    model = LRASPPTiny()
    graph = analyze(model, SHAPE)
    names = set(graph.groups)
    assert {"low.1.conv.0.0", "low.2.conv.0.0", "high.0.conv.0.0"} <= names  # expansions
    assert {"low.0.conv.1.reduce", "high.0.conv.2.reduce"} <= names  # squeeze-excitation
    assert "head.cbr.0" in names  # the gated LR-ASPP branch
    assert not any("classifier" in n for n in names)  # class logits are the output
    target = {n: max(g.min_size, g.size // 2 // g.multiple * g.multiple) for n, g in graph.groups.items()}
    smaller = apply_channels(model, SHAPE, target)
    assert smaller.sizes() == target
    with torch.no_grad():
        out = model.eval()(torch.randn(*SHAPE))
    assert out["out"].shape == (1, NUM_CLASSES, 64, 64)
