import pytest
import torch

from netadapt.checkpoint import save_checkpoint
from netadapt.data import load_data
from netadapt.models.spec import ModelSpec
from netadapt.training import TrainConfig, train

DATA = "synthetic:n=120,test=30"
SPEC = ModelSpec("netadapt.models.digits_cnn:DigitsCNN", {"num_classes": 3, "stages": [[8], [16]]})


@pytest.fixture(scope="package")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = SPEC.build()
    train(model, load_data(DATA, holdout=30), TrainConfig(epochs=8, batch_size=15, lr=0.05), progress=False)
    path = tmp_path_factory.mktemp("ckpt") / "base.pt"
    save_checkpoint(path, model, SPEC, (1, 1, 16, 16))
    return path
