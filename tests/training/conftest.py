import pytest

from netadapt.data import load_data


@pytest.fixture(scope="module")
def data():
    """100 training images of 3 classes (batch 25: 4 iterations per epoch), 20 holdout, 60 test."""
    return load_data("synthetic:classes=3,size=16,n=120,test=60,noise=0.2", holdout=20)
