"""Semantic segmentation of handwritten-digit canvases: an offline task netadapt can prune.

``make_task()`` returns a :class:`netadapt.Task` with an LR-ASPP network (``lraspp_tiny``, whose forward
returns ``{"out": logits}``), canvases made from scikit-learn's digits, an AdamW loop with optional
pixel-wise distillation, and mean IoU from torchmetrics. Names load on first use, so importing the model
module (as the zoo does) pulls in neither the data nor torchmetrics.
"""

import importlib

# public name -> the module that defines it (imported on first use)
_LAZY = {
    "make_task": "netadapt.tasks.segmentation.task",
    "LRASPPTiny": "netadapt.tasks.segmentation.model",
    "load_digit_segmentation": "netadapt.tasks.segmentation.data",
    "mean_iou": "netadapt.tasks.segmentation.metrics",
    "train_segmenter": "netadapt.tasks.segmentation.train",
    "evaluate_segmenter": "netadapt.tasks.segmentation.train",
}

__all__ = list(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netadapt.tasks.segmentation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
