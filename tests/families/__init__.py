"""Small re-implementations of the torchvision architecture families, for pipeline tests.

Each module re-creates one family with the module types, functional calls and attribute names
of the torchvision definition (``features``, ``classifier``, ``layer1``, ``conv_proj``,
``encoder.layers``, ``heads``, ...), scaled down in width and depth so that a model has well
under 0.5M parameters and runs a batch in milliseconds on a CPU. Nothing here imports
torchvision; nothing is random at import time.

``FAMILIES`` maps a short family name to the ``"module:factory"`` target (importable with
``tests/`` on ``sys.path``) and the default ``(C, H, W)`` input. Every factory has the
signature ``factory(num_classes=10, in_channels=3, **kwargs)``.

Input sizes: 32x32 where the family has no batch norm on a 1x1 map (a batch-1 training step
would fail there); 64x64 for the stride-32 batch-norm families, whose last map is then 2x2;
112x112 for VGG, whose features then end at 14x14 so that the (7, 7) adaptive pool averages
2x2 windows and exports to ONNX.
"""

from typing import Dict, Tuple

FAMILIES: Dict[str, Tuple[str, Tuple[int, int, int]]] = {
    "resnet18": ("families.resnet:resnet18", (3, 64, 64)),
    "resnet50": ("families.resnet:resnet50", (3, 64, 64)),
    "resnext": ("families.resnet:resnext50_32x4d", (3, 64, 64)),
    "wide_resnet": ("families.resnet:wide_resnet50_2", (3, 64, 64)),
    "vgg11_bn": ("families.vgg:vgg11_bn", (3, 112, 112)),
    "mobilenet_v2": ("families.mobilenetv2:mobilenet_v2", (3, 64, 64)),
    "mobilenet_v3_small": ("families.mobilenetv3:mobilenet_v3_small", (3, 64, 64)),
    "mobilenet_v3_large": ("families.mobilenetv3:mobilenet_v3_large", (3, 64, 64)),
    "efficientnet_b0": ("families.efficientnet:efficientnet_b0", (3, 64, 64)),
    "mnasnet": ("families.mnasnet:mnasnet", (3, 64, 64)),
    "densenet": ("families.densenet:densenet", (3, 64, 64)),
    "shufflenet_v2": ("families.shufflenetv2:shufflenet_v2", (3, 64, 64)),
    "squeezenet": ("families.squeezenet:squeezenet1_1", (3, 32, 32)),
    "googlenet": ("families.googlenet:googlenet", (3, 64, 64)),
    "regnet_x": ("families.regnet:regnet_x", (3, 64, 64)),
    "regnet_y": ("families.regnet:regnet_y", (3, 64, 64)),
    "convnext": ("families.convnext:convnext", (3, 32, 32)),
    "vit": ("families.vit:vit", (3, 32, 32)),
}


def build(name: str, **kwargs):
    """Instantiate the family ``name`` with ``kwargs`` passed to its factory."""
    import importlib

    target, _ = FAMILIES[name]
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)(**kwargs)
