"""The detection task: digit canvases, the YOLOv8-style detector, its loss, NMS, mAP, the Task and its channel
groups. Small canvases (64x64) and the narrowest detector keep every test to a few seconds."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import netadapt
from netadapt.models import create_model
from netadapt.pruning import analyze, keep_channels, apply_channels
from netadapt.tasks.detection import YoloTiny, decode, detection_loss, make_task, mean_average_precision, nms
from netadapt.tasks.detection.data import INK, DigitCanvases, collate, make_splits, split_digits
from netadapt.tasks.detection.decode import batched_nms
from netadapt.tasks.detection.train import train_detector

SIZE = 64
WIDTH = 0.0625  # 8 channels at the stem, 128 at stride 32


def small_model(seed: int = 0) -> YoloTiny:
    torch.manual_seed(seed)
    return YoloTiny(num_classes=10, in_channels=1, width=WIDTH)


def canvases(length: int, seed: int = 0, **options) -> DigitCanvases:
    options = {"image_size": SIZE, "digit_size": (8, 32), **options}
    return make_splits(seed, sizes=(length, 4, 4), **options)["train"]


def test_source_digits_are_split_into_disjoint_pools():
    pools = split_digits(seed=0)
    assert [len(pools[s][0]) for s in ("train", "holdout", "test")] == [1078, 359, 360]
    rows = {name: {tuple(image.reshape(-1).tolist()) for image in pool[0]} for name, pool in pools.items()}
    assert not rows["train"] & rows["holdout"] and not rows["train"] & rows["test"]


def test_canvases_are_deterministic_for_a_seed():
    a, b, c = canvases(6, seed=3), canvases(6, seed=3), canvases(6, seed=4)
    for i in range(6):
        assert torch.equal(a[i][0], b[i][0]) and torch.equal(a[i][1]["boxes"], b[i][1]["boxes"])
        assert torch.equal(a[i][1]["labels"], b[i][1]["labels"])
    assert any(not torch.equal(a[i][0], c[i][0]) for i in range(6))
    image, target = a[0]
    assert image.shape == (1, SIZE, SIZE) and image.dtype == torch.float32
    assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64


def test_a_box_is_the_ink_of_the_digit_pasted_there():
    single = canvases(12, seed=1, digits=(1, 1), noise=0.0)
    for i in range(12):
        image, target = single[i]
        ink = (image[0] > INK * image.max()).nonzero()
        expected = [int(ink[:, 1].min()), int(ink[:, 0].min()), int(ink[:, 1].max()) + 1, int(ink[:, 0].max()) + 1]
        assert target["boxes"].tolist() == [expected] and 0 <= int(target["labels"][0]) <= 9
    several = canvases(12, seed=2, digits=(2, 4), noise=0.0)
    for i in range(12):
        image, target = several[i]
        outside = torch.ones(SIZE, SIZE, dtype=torch.bool)
        for x1, y1, x2, y2 in target["boxes"].int().tolist():
            outside[y1:y2, x1:x2] = False
            crop = image[0, y1:y2, x1:x2]
            # every edge of a box touches ink (a digit's ink is above INK times its contrast, at least 0.6)
            assert min(crop[0].max(), crop[-1].max(), crop[:, 0].max(), crop[:, -1].max()) > INK * 0.6
        assert float(image[0][outside].max()) <= INK + 1e-6


def test_outputs_have_one_map_per_level():
    outputs = small_model()(torch.zeros(2, 1, SIZE, SIZE))
    assert [tuple(o.shape) for o in outputs] == [(2, 14, 8, 8), (2, 14, 4, 4), (2, 14, 2, 2)]
    zoo = create_model("yolo_tiny", num_classes=3, in_channels=3, width_mult=WIDTH).eval()
    assert [tuple(o.shape) for o in zoo(torch.zeros(1, 3, 96, 96))] == [(1, 7, 12, 12), (1, 7, 6, 6), (1, 7, 3, 3)]


def test_the_loss_is_finite_and_decreases():
    data = canvases(16, seed=5)
    images, targets = collate([data[i] for i in range(4)])
    model = small_model()
    first = detection_loss(model(images), targets, (SIZE, SIZE))
    assert first.ndim == 0 and torch.isfinite(first)
    first.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    losses = []
    train_detector(model, data, 30, batch_size=8, lr=3e-3, callback=lambda step, loss: losses.append(loss), every=1)
    assert len(losses) == 30 and all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) < 0.8 * sum(losses[:5])


def test_training_is_deterministic_for_a_seed_and_restores_the_mode():
    data = canvases(8, seed=6)
    first, second = small_model().eval(), small_model().eval()
    for model in (first, second):
        train_detector(model, data, 3, batch_size=4, seed=11, optimizer="sgd", lr=0.01)
        assert not model.training
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_the_loss_of_an_image_without_boxes_is_classification_only():
    outputs = small_model()(torch.zeros(2, 1, SIZE, SIZE))
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}
    assert torch.isfinite(detection_loss(outputs, [empty, empty], (SIZE, SIZE)))


def test_nms_removes_a_duplicate_and_keeps_a_distinct_box():
    boxes = torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30], [1, 1, 10, 10]])
    scores = torch.tensor([0.9, 0.7, 0.8])
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]
    assert batched_nms(boxes, scores, torch.tensor([0, 0, 1]), 0.5).tolist() == [0, 2, 1]


def test_decode_returns_boxes_inside_the_image_by_decreasing_score():
    detections = decode(small_model().eval()(torch.rand(2, 1, SIZE, SIZE)), (SIZE, SIZE), score_threshold=0.0,
                        max_detections=20)
    assert len(detections) == 2
    for d in detections:
        assert d["boxes"].shape == (20, 4) and d["boxes"].min() >= 0 and d["boxes"].max() <= SIZE
        assert torch.all(d["scores"][:-1] >= d["scores"][1:]) and d["labels"].max() < 10


def _truth(boxes, labels):
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor(labels)}


def _detections(boxes, scores, labels):
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "scores": torch.tensor(scores),
            "labels": torch.tensor(labels)}


def test_map_of_perfect_and_of_wrongly_labelled_detections():
    truth = [_truth([[10, 10, 40, 40], [50, 50, 90, 80]], [1, 2]), _truth([[0, 0, 30, 20]], [3])]
    perfect = [_detections(t["boxes"].tolist(), [0.9] * len(t["labels"]), t["labels"].tolist()) for t in truth]
    wrong = [_detections(t["boxes"].tolist(), [0.9] * len(t["labels"]), (t["labels"] + 1).tolist()) for t in truth]
    assert mean_average_precision(perfect, truth) == {"map": 1.0, "map50": 1.0}
    assert mean_average_precision(wrong, truth) == {"map": 0.0, "map50": 0.0}


def test_map_of_a_half_right_ranking_and_of_a_loose_box():
    # Two ground truths, three detections by score: hit, miss, hit. Precision 1 up to recall 0.5, then 2/3;
    # COCO's 101 recall points give (51 * 1 + 50 * 2/3) / 101 at every IoU threshold.
    truth = [_truth([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0])]
    ranked = [_detections([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], [0.9, 0.8, 0.7], [0, 0, 0])]
    result = mean_average_precision(ranked, truth)
    assert result["map"] == pytest.approx((51 + 50 * 2 / 3) / 101) and result["map50"] == pytest.approx(result["map"])
    # IoU 0.72: a hit at the thresholds 0.50 ... 0.70 (5 of 10), a miss at 0.75 ... 0.95.
    loose = mean_average_precision([_detections([[0, 0, 100, 72]], [0.9], [0])], [_truth([[0, 0, 100, 100]], [0])])
    assert loose["map"] == pytest.approx(0.5) and loose["map50"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    cache = tmp_path_factory.mktemp("detection") / "base.pt"
    options = dict(image_size=SIZE, width=WIDTH, base_steps=2, train_size=32, holdout_size=8, batch_size=8,
                   cache=cache, loss_batches=2, calibration_batches=2)
    first = make_task(**options)
    assert cache.exists()
    return first, make_task(**options)


def test_make_task_returns_a_task_that_trains_and_scores(task):
    first, again = task
    assert isinstance(first, netadapt.Task) and tuple(first.example_inputs.shape) == (1, 1, SIZE, SIZE)
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)  # the second call loaded the cached base model
    model = copy.deepcopy(first.model)
    before = copy.deepcopy(model.state_dict())
    first.train(model, 2)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    scores = first.evaluate(model)
    assert isinstance(scores["score"], float) and 0.0 <= scores["score"] <= 1.0 and 0.0 <= scores["map50"] <= 1.0
    assert torch.isfinite(first.loss(model, first.batches[0])) and len(first.batches) == 2
    assert first.calibrate(model) > 0
    assert set(first.ignored_names()) == set(model.head_convs)
    assert isinstance(pickle.loads(pickle.dumps(first)), netadapt.Task)


def test_channel_groups_include_c2f_blocks_and_halve_to_a_working_model():
    model = small_model().eval()
    shape = (1, 1, SIZE, SIZE)
    graph = analyze(model, shape)
    assert any(".m.0.cv1" in name for name in graph.groups)  # inside a C2f's bottleneck, beside the concat
    assert any(name.startswith(("stage2.1.cv2", "top_down3.cv2")) for name in graph.groups)  # reads the concat
    x = torch.rand(shape)
    expected = [tuple(o.shape) for o in model(x)]
    pruned = copy.deepcopy(model)
    apply_channels(pruned, shape, {name: max(g.min_size, g.size // 2 // g.multiple * g.multiple)
                                   for name, g in graph.groups.items()})
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in model.parameters())
    assert [tuple(o.shape) for o in pruned.eval()(x)] == expected


def test_groups_through_the_c2f_split_are_prunable():
    """A C2f's first convolution is chunked in two halves, the second one added to its bottlenecks' outputs:
    one group (rooted where its channels are made), whose halves lose the same positions."""
    model = small_model().eval()
    graph = analyze(model, (1, 1, SIZE, SIZE))
    assert not graph.frozen
    group = graph.groups["stage2.1.cv1.conv"]
    assert group.size == 16 and group.multiple == 2
    assert {"stage2.1.m.0.cv2.conv:out", "stage2.1.m.1.cv2.conv:out", "stage2.1.cv2.conv:in"} <= set(group.members)
    x = torch.randn(1, 1, SIZE, SIZE)
    reference = model(x)
    keep = [0, 2, 3, 5, 8, 10, 11, 13]  # the same positions of both halves (0, 2, 3, 5)
    with torch.no_grad():  # silencing what is removed must leave what the network computes unchanged
        silenced = copy.deepcopy(model)
        drop = [i for i in range(16) if i not in keep]
        silenced.stage2[1].cv1.bn.bias[drop] = 0
        silenced.stage2[1].cv1.bn.running_mean[drop] = 0
        silenced.stage2[1].cv1.bn.weight[drop] = 0
        for block in silenced.stage2[1].m:
            block.cv2.bn.weight[[1, 4, 6, 7]] = 0
            block.cv2.bn.bias[[1, 4, 6, 7]] = 0
            block.cv2.bn.running_mean[[1, 4, 6, 7]] = 0
        expected = silenced(x)
    keep_channels(model, graph, {"stage2.1.cv1.conv": keep})
    assert model.stage2[1].cv1.conv.out_channels == 8 and model.stage2[1].m[0].cv1.conv.in_channels == 4
    for got, want in zip(model(x), expected):
        assert torch.allclose(got, want, atol=1e-5)
    assert [o.shape for o in model(x)] == [o.shape for o in reference]
