"""COCO mean average precision of detections, computed by faster-coco-eval.

faster-coco-eval reimplements pycocotools' ``COCOeval`` in C++ (the same matching, 101-point interpolated
precision and averaging, and the same numbers) several times faster, and needs only numpy. torchmetrics'
``MeanAveragePrecision`` wraps the same evaluators but refuses to run without torchvision.
"""

from __future__ import annotations

import contextlib
import io

import torch


def _coco_boxes(boxes: torch.Tensor) -> list[list[float]]:
    """xyxy rows as COCO's [x, y, width, height] lists."""
    boxes = boxes.detach().double().cpu().reshape(-1, 4)
    return torch.cat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).tolist()


def mean_average_precision(predictions: list[dict[str, torch.Tensor]],
                           targets: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """COCO box mAP of one set of images.

    Args:
        predictions: per image, ``{"boxes": (D, 4) xyxy, "scores": (D,), "labels": (D,)}``.
        targets: per image, ``{"boxes": (K, 4) xyxy, "labels": (K,)}``, in the same order.

    Returns:
        ``{"map": AP averaged over IoU thresholds 0.50:0.05:0.95 and the classes with ground truth,
        "map50": the same at IoU 0.5}``, at up to 100 detections per image; both 0.0 when no image has a
        ground-truth box.
    """
    from faster_coco_eval import COCO, COCOeval_faster

    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} images")
    images, annotations, detections, classes = [], [], [], set()
    for image_id, (prediction, target) in enumerate(zip(predictions, targets), start=1):
        images.append({"id": image_id})
        labels = target["labels"].tolist()
        for box, label in zip(_coco_boxes(target["boxes"]), labels):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(label) + 1,
                                "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
        classes.update(labels)
        for box, score, label in zip(_coco_boxes(prediction["boxes"]), prediction["scores"].tolist(),
                                     prediction["labels"].tolist()):
            detections.append({"image_id": image_id, "category_id": int(label) + 1, "bbox": box,
                               "score": float(score)})
            classes.add(int(label))
    if not annotations:
        return {"map": 0.0, "map50": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": c + 1} for c in sorted(classes)]}
        truth.createIndex()
        evaluator = COCOeval_faster(truth, truth.loadRes(detections), "bbox", print_function=lambda *_: None)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {"map": max(0.0, float(evaluator.stats[0])), "map50": max(0.0, float(evaluator.stats[1]))}
