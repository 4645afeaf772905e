import pytest
import torch
from usermodels import ResidualDepthwiseNet


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def user_net():
    torch.manual_seed(0)
    return ResidualDepthwiseNet()
