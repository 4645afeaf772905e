"""Tiny random data with learnable structure, for tests: each class has its own mean image.

Options: ``synthetic:classes=3,size=16,n=200,channels=1,test=100,noise=0.5,seed=0``; every option
has that default. Pixels are the class's mean image (values in [0, 1]) plus Gaussian noise.
"""

from __future__ import annotations

import torch

from netadapt.data.dataset import ImageTensorDataset
from netadapt.data.registry import RawData, parse_options, register_source
from netadapt.errors import UserError

DEFAULTS = {"classes": 3, "size": 16, "n": 200, "channels": 1, "test": 100, "noise": 0.5, "seed": 0}


@register_source("synthetic", "synthetic[:classes=3,size=16,n=200,channels=1,test=100,noise=0.5,seed=0]")
def load_synthetic(argument: str | None, image_size: int | None) -> RawData:
    opts = parse_options(argument, DEFAULTS, "synthetic")
    size = image_size or opts["size"]
    if opts["classes"] < 2 or opts["n"] < opts["classes"] or opts["test"] < 1 or size < 1 or opts["channels"] < 1:
        raise UserError(f"synthetic: need classes >= 2, n >= classes, test >= 1, size >= 1, channels >= 1; "
                        f"got {opts}")
    gen = torch.Generator().manual_seed(opts["seed"])
    # Smooth class templates: random coarse grids upsampled, so small CNNs can separate them.
    coarse = torch.rand(opts["classes"], opts["channels"], 4, 4, generator=gen)
    templates = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)

    def draw(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(count) % opts["classes"]
        labels = labels[torch.randperm(count, generator=gen)]
        noise = torch.randn(count, opts["channels"], size, size, generator=gen) * opts["noise"]
        return templates[labels] + noise, labels

    train_x, train_y = draw(opts["n"])
    test_x, test_y = draw(opts["test"])
    mean, std = (0.5,) * opts["channels"], (0.5,) * opts["channels"]
    return RawData(
        train=ImageTensorDataset(train_x, train_y, mean, std),
        test=ImageTensorDataset(test_x, test_y, mean, std),
        num_classes=opts["classes"],
        augment="none",
    )
