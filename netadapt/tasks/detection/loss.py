"""The detector's training loss on its raw maps: FCOS-style assignment, quality focal loss and GIoU.

Assignment (Tian et al., 2019, with centre sampling): each ground-truth box belongs to one level, the first
whose stride times ``level_scale`` exceeds the box's longer side (the last level takes the rest). At that
level its positive cells are those whose centre lies inside the box and within ``radius`` strides of the
box's centre, plus always the cell holding the box's centre. A cell claimed by two boxes takes the smaller.

Classification: every cell of every level and every class, with the quality focal loss of Li et al. (2020):
``BCE(logit, t) * |sigmoid(logit) - t| ** gamma``, where ``t`` is 0 except at a positive cell's assigned
class, where it is the IoU of the cell's decoded box with its ground truth (``iou_aware``; detached) or 1.
An IoU-aware score ranks well-placed boxes first, which mAP over IoU thresholds rewards.

Regression: ``1 - GIoU`` between each positive cell's decoded box and its ground truth.

Both sums are divided by the number of positive cells in the batch (at least 1), and the total is
``classification + box_weight * regression``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netadapt.tasks.detection.boxes import box_area, decode_distances, flatten_outputs, grid_points, paired_giou


def assign(boxes: torch.Tensor, centres: torch.Tensor, strides: torch.Tensor, levels: torch.Tensor,
           level_strides: list[int], radius: float = 2.5, level_scale: float = 2.5) -> torch.Tensor:
    """The ground-truth box each cell is assigned to, or -1 (a background cell).

    Args:
        boxes: one image's ground truth (K, 4), xyxy pixels.
        centres, strides, levels: the cells, as ``grid_points`` gives them (P of them).
        level_strides: the stride of each level.
        radius: centre sampling radius in strides.
        level_scale: a box goes to the first level whose ``stride * level_scale`` exceeds its longer side.

    Returns:
        (P,) int64 box indices.
    """
    if len(boxes) == 0:
        return torch.full((len(centres),), -1, dtype=torch.long, device=centres.device)
    longer = (boxes[:, 2:] - boxes[:, :2]).max(1).values
    bounds = torch.tensor([s * level_scale for s in level_strides[:-1]], dtype=longer.dtype, device=longer.device)
    box_level = torch.bucketize(longer, bounds, right=True)  # (K,)
    middle = (boxes[:, :2] + boxes[:, 2:]) / 2  # (K, 2)
    offset = (centres[:, None, :] - middle[None]).abs()  # (P, K, 2)
    inside = ((centres[:, None, :] > boxes[None, :, :2]) & (centres[:, None, :] < boxes[None, :, 2:])).all(-1)
    near = (offset < radius * strides[:, None, None]).all(-1)
    holds_centre = (offset <= strides[:, None, None] / 2).all(-1)
    right_level = levels[:, None] == box_level[None]
    candidate = right_level & ((inside & near) | holds_centre)  # (P, K)
    area = box_area(boxes)[None].expand_as(candidate).masked_fill(~candidate, float("inf"))
    smallest, index = area.min(1)
    return index.masked_fill(torch.isinf(smallest), -1)


def detection_loss(outputs, targets: list[dict[str, torch.Tensor]], image_size: tuple[int, int], *,
                   radius: float = 2.5, level_scale: float = 2.5, box_weight: float = 2.0,
                   gamma: float = 2.0, iou_aware: bool = True) -> torch.Tensor:
    """The loss of a batch of raw maps (module docstring).

    Args:
        outputs: the model's per-level maps, each (N, 4 + num_classes, H_l, W_l).
        targets: per image, ``{"boxes": (K, 4) xyxy pixels, "labels": (K,) int64}``.
        image_size: the input's (H, W).
        radius, level_scale: see :func:`assign`.
        box_weight: weight of the GIoU term.
        gamma: the quality focal loss's focusing exponent.
        iou_aware: classification targets are the IoU of the decoded box (else 1).

    Returns:
        A scalar tensor.
    """
    flat = flatten_outputs(outputs)  # (N, P, 4 + C)
    centres, strides, levels = grid_points(outputs, image_size)
    centres, strides, levels = centres.to(flat.device), strides.to(flat.device), levels.to(flat.device)
    level_strides = sorted(set(int(s) for s in strides.tolist()))
    logits = flat[..., 4:]
    cls_target = torch.zeros_like(logits)
    giou_terms = []
    for i, target in enumerate(targets):
        boxes, labels = target["boxes"].to(flat.device), target["labels"].to(flat.device)
        index = assign(boxes, centres, strides, levels, level_strides, radius, level_scale)
        positive = index >= 0
        if not positive.any():
            continue
        predicted = decode_distances(flat[i, positive, :4], centres[positive], strides[positive])
        iou, giou = paired_giou(predicted, boxes[index[positive]])
        giou_terms.append(1.0 - giou)
        quality = iou.detach().clamp(min=0.0) if iou_aware else torch.ones_like(iou)
        cls_target[i, positive.nonzero().flatten(), labels[index[positive]]] = quality.to(cls_target.dtype)
    positives = max(1, sum(len(t) for t in giou_terms))
    probability = logits.sigmoid()
    focal = F.binary_cross_entropy_with_logits(logits, cls_target, reduction="none")
    focal = focal * (probability - cls_target).abs().pow(gamma)
    loss = focal.sum() / positives
    if giou_terms:
        loss = loss + box_weight * torch.cat(giou_terms).sum() / positives
    return loss
