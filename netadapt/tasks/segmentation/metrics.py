"""Mean intersection over union, computed by torchmetrics' multiclass Jaccard index.

The IoU of a class is ``|predicted ∩ labelled| / |predicted ∪ labelled|`` over all pixels given; the mean
is taken over the classes that occur in the predictions or the labels (a class absent from both has no
IoU and is left out), each class weighing the same, background included. Pixels of all images are pooled
before dividing: this is the data-set mIoU of segmentation benchmarks, not a mean of per-image scores.
"""

from __future__ import annotations

import torch
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.functional.classification import multiclass_jaccard_index


def predictions(logits_or_preds: torch.Tensor) -> torch.Tensor:
    """Class indices (N, H, W): the argmax over dimension 1 of (N, classes, H, W) logits, or the indices given."""
    if logits_or_preds.is_floating_point():
        if logits_or_preds.dim() != 4:
            raise ValueError(f"logits must be (N, classes, H, W), got shape {tuple(logits_or_preds.shape)}")
        return logits_or_preds.argmax(dim=1)
    return logits_or_preds.long()


def mean_iou(logits_or_preds: torch.Tensor, masks: torch.Tensor, num_classes: int) -> float:
    """The mIoU of predictions against label masks.

    Args:
        logits_or_preds: (N, num_classes, H, W) float logits, or (N, H, W) integer class indices.
        masks: (N, H, W) integer labels in ``0..num_classes - 1``.
        num_classes: number of classes.

    Returns:
        The mean over classes present in either tensor, in [0, 1].
    """
    preds = predictions(logits_or_preds)
    if preds.shape != masks.shape:
        raise ValueError(f"predictions {tuple(preds.shape)} and masks {tuple(masks.shape)} differ in shape")
    return float(multiclass_jaccard_index(preds, masks.long(), num_classes=num_classes, average="macro"))


def iou_meter(num_classes: int) -> MulticlassJaccardIndex:
    """A metric that accumulates batches with ``update(logits_or_preds, masks)`` (pass indices from
    :func:`predictions`) and gives the same mIoU as :func:`mean_iou` on all of them from ``compute()``."""
    return MulticlassJaccardIndex(num_classes=num_classes, average="macro")
