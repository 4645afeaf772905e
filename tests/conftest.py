"""Shared fixtures: one thread for torch, a user model, and a tiny NetAdapt run on the fake device."""

import shutil
from pathlib import Path

import pytest
import torch
from usermodels import ResidualDepthwiseNet

TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def user_net():
    torch.manual_seed(0)
    return ResidualDepthwiseNet()


def build_tiny_run(folder: Path) -> Path:
    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.config.run import FineTuneConfig, RunConfig
    from netadapt.config.schedule import ReductionSchedule

    if (folder / "run" / "summary.json").is_file():
        return folder / "run"
    config = RunConfig(budget="75%", model="usermodels:residual_depthwise_net", model_kwargs={"width": 32},
                       data="synthetic:classes=3,size=32,n=120,channels=1,test=40", holdout=40, device="fake",
                       channel_step=8, base_epochs=1, schedule=ReductionSchedule(initial=0.06, floor=0.04),
                       finetune=FineTuneConfig(short_steps=2, long_epochs=1, batch_size=32),
                       warmup=0, repeats=1, model_repeats=1, seed=3, batch=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(TESTS))
        NetAdaptRun(config, folder / "run", lut=str(folder / "lut.db"), progress=False, log=lambda *_: None).run()
    return folder / "run"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The run folder (do not modify it: copy it with ``run_copy``)."""
    # one folder for the whole session, so tests/report and tests/baseline share one build
    return build_tiny_run(tmp_path_factory.getbasetemp() / "tiny_netadapt_run")


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the tiny run that a test may change."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))
