import pytest
import torch

from netadapt.checkpoint import save_checkpoint
from netadapt.models.spec import ModelSpec

DATA = "synthetic:n=90,test=30"
SPEC = ModelSpec("netadapt.models.digits_cnn:DigitsCNN",
                 {"num_classes": 3, "stages": [[8, 8], [16, 16], [32, 32]]})  # groups of 8, 8, 16, 16, 32, 32


@pytest.fixture(scope="package")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "base.pt"
    save_checkpoint(path, SPEC.build(), SPEC, (1, 1, 16, 16))
    return path
