"""From the detector's raw maps to detections: per-class scores, a threshold, top-k and class-wise NMS.

Plain torch throughout (``torchvision.ops`` is not assumed).
"""

from __future__ import annotations

import torch

from netadapt.tasks.detection.boxes import box_iou, decode_distances, flatten_outputs, grid_points


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression.

    Boxes are visited by decreasing score; each one kept removes every later box whose IoU with it exceeds
    ``iou_threshold``.

    Returns:
        The indices of the kept boxes, by decreasing score.
    """
    order = scores.argsort(descending=True)
    if len(order) == 0:
        return order
    overlaps = box_iou(boxes[order], boxes[order]) > iou_threshold
    alive = torch.ones(len(order), dtype=torch.bool, device=boxes.device)
    kept = []
    while True:
        remaining = alive.nonzero()
        if len(remaining) == 0:
            break
        i = int(remaining[0])
        kept.append(i)
        alive &= ~overlaps[i]
        alive[i] = False
    return order[torch.tensor(kept, dtype=torch.long, device=order.device)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """NMS within each class only: boxes of different labels never suppress each other (each class's boxes
    are shifted to a region of their own before one :func:`nms`)."""
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    shift = labels.to(boxes.dtype)[:, None] * (boxes.max() - boxes.min() + 1)
    return nms(boxes + shift, scores, iou_threshold)


def decode(outputs, image_size: tuple[int, int], *, score_threshold: float = 0.01, pre_nms: int = 300,
           iou_threshold: float = 0.6, max_detections: int = 100) -> list[dict[str, torch.Tensor]]:
    """Detections of each image of a batch of raw maps.

    Every (cell, class) pair whose sigmoid score passes ``score_threshold`` is a candidate; the ``pre_nms``
    best go through class-wise NMS and the ``max_detections`` best survivors are kept. Boxes are clipped
    to the image.

    Args:
        outputs: the model's per-level maps, each (N, 4 + num_classes, H_l, W_l).
        image_size: the input's (H, W).

    Returns:
        Per image, ``{"boxes": (D, 4) xyxy pixels, "scores": (D,), "labels": (D,) int64}``, by decreasing score.
    """
    flat = flatten_outputs(outputs).detach().float()
    centres, strides, _ = grid_points(outputs, image_size)
    boxes = decode_distances(flat[..., :4], centres.to(flat.device), strides.to(flat.device))
    limits = torch.tensor([image_size[1], image_size[0]] * 2, dtype=boxes.dtype, device=boxes.device)
    boxes = torch.minimum(boxes.clamp(min=0), limits)
    scores = flat[..., 4:].sigmoid()
    num_classes = scores.shape[-1]
    results = []
    for image_boxes, image_scores in zip(boxes, scores):
        flat_scores = image_scores.reshape(-1)
        candidates = (flat_scores > score_threshold).nonzero().flatten()
        if len(candidates) > pre_nms:
            candidates = candidates[flat_scores[candidates].topk(pre_nms).indices]
        cells, labels = candidates // num_classes, candidates % num_classes
        kept = batched_nms(image_boxes[cells], flat_scores[candidates], labels, iou_threshold)[:max_detections]
        results.append({"boxes": image_boxes[cells[kept]], "scores": flat_scores[candidates[kept]],
                        "labels": labels[kept]})
    return results
