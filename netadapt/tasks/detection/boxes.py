"""Boxes of the detector: its cells' centres, decoding of its distance maps, and IoU arithmetic.

Boxes are ``(x1, y1, x2, y2)`` in pixels of the input image. A cell of a level with stride ``s`` has its
centre at ``((j + 0.5) s, (i + 0.5) s)``; its four box channels are the left, top, right and bottom
distances from that centre to the box's edges, in units of ``s`` after a softplus (positive, and linear
for large values, so no exponential blows up early in training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def level_strides(outputs, image_size: tuple[int, int]) -> list[int]:
    """The stride of each output level: the input's height over the map's height.

    Raises:
        ValueError: a level whose map does not divide the input evenly.
    """
    strides = []
    for out in outputs:
        h, w = out.shape[-2:]
        stride = image_size[0] // h
        if stride * h != image_size[0] or stride * w != image_size[1]:
            raise ValueError(f"a {h}x{w} map does not tile a {image_size[0]}x{image_size[1]} input evenly")
        strides.append(stride)
    return strides


def grid_points(outputs, image_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The cells of every level, flattened level by level in row-major order.

    Returns:
        (centres (P, 2) as x, y in pixels; strides (P,); level index (P,)).
    """
    centres, strides, levels = [], [], []
    for level, (out, stride) in enumerate(zip(outputs, level_strides(outputs, image_size))):
        h, w = out.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")
        centres.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).add_(0.5).mul_(stride))
        strides.append(torch.full((h * w,), float(stride)))
        levels.append(torch.full((h * w,), level, dtype=torch.long))
    return torch.cat(centres), torch.cat(strides), torch.cat(levels)


def flatten_outputs(outputs) -> torch.Tensor:
    """The raw maps of all levels as one (N, P, 4 + num_classes) tensor, cells in ``grid_points`` order."""
    return torch.cat([out.flatten(2).transpose(1, 2) for out in outputs], 1)


def decode_distances(raw: torch.Tensor, centres: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
    """Boxes from raw distance channels (..., P, 4) at cells ``centres`` (P, 2) of ``strides`` (P,)."""
    distances = F.softplus(raw) * strides[:, None]
    return torch.cat([centres - distances[..., :2], centres + distances[..., 2:]], -1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of (..., 4) boxes (zero for empty ones)."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of (K, 4) and (M, 4) boxes: a (K, M) tensor."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-9)


def paired_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and generalised IoU (Rezatofighi et al., 2019) of matching rows of two (K, 4) box tensors.

    GIoU is the IoU minus the share of the smallest enclosing box that the union does not cover: in
    [-1, 1], and informative (non-zero gradient) for boxes that do not overlap.
    """
    top_left = torch.maximum(a[:, :2], b[:, :2])
    bottom_right = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    union = box_area(a) + box_area(b) - inter
    iou = inter / union.clamp(min=1e-9)
    enclosing = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).clamp(min=0).prod(-1)
    return iou, iou - (enclosing - union) / enclosing.clamp(min=1e-9)
