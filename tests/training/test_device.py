"""Training on a chosen device: names are checked up front, models go there for the call and come back."""

import pytest
import torch

from netadapt.errors import UserError
from netadapt.training import TrainConfig, evaluate, fine_tune, score, train
from netadapt.training.device import model_device, placed, training_device
from training_helpers import tiny_model as _model

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU visible to PyTorch")


def test_device_names_are_checked():
    assert training_device(None) == torch.device("cpu")
    assert training_device("cpu") == torch.device("cpu")
    with pytest.raises(UserError, match="unknown training device 'gpu'"):
        training_device("gpu")
    with pytest.raises(UserError, match="unsupported training device 'meta'"):
        training_device("meta")


@pytest.mark.skipif(CUDA, reason="this PyTorch sees a GPU")
def test_a_gpu_this_torch_cannot_reach_is_one_clear_error(data):
    with pytest.raises(UserError, match=r"training device 'cuda': this PyTorch \(.*\) sees no CUDA GPU"):
        training_device("cuda")
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(UserError, match="sees no CUDA GPU"):
        train(model, data, TrainConfig(epochs=1, batch_size=25), progress=False, device="cuda")
    with pytest.raises(UserError, match="sees no CUDA GPU"):
        fine_tune(model, data.train, 2, device="cuda:1")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing was trained


def test_placed_moves_models_back_even_after_an_error():
    model = _model().to(torch.float64)
    with pytest.raises(RuntimeError, match="boom"):
        with placed(torch.device("cpu"), model, None):
            assert model_device(model) == torch.device("cpu")
            raise RuntimeError("boom")
    assert model_device(model) == torch.device("cpu")
    assert model_device(torch.nn.ReLU()) == torch.device("cpu")  # no parameters: the CPU


def test_training_on_the_cpu_by_name_is_training_by_default(data):
    config = TrainConfig(epochs=2, batch_size=25, lr=0.05, seed=1)
    a, b = _model(), _model()
    ra = train(a, data, config, progress=False)
    rb = train(b, data, config, progress=False, device="cpu")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert ra.history[-1]["loss"] == rb.history[-1]["loss"]
    assert isinstance(ra.history[-1]["loss"], float)
    c, d = _model(), _model()
    assert fine_tune(c, data.train, 5, seed=2) == fine_tune(d, data.train, 5, seed=2, device="cpu")
    assert all(torch.equal(x, y) for x, y in zip(c.state_dict().values(), d.state_dict().values()))


@needs_cuda
def test_training_on_cuda_learns_like_the_cpu_and_hands_the_model_back(data, tmp_path):
    config = TrainConfig(epochs=10, batch_size=25, lr=0.05, seed=1)
    gpu, cpu = _model(), _model()
    rg = train(gpu, data, config, progress=False, device="cuda", out_dir=tmp_path)
    rc = train(cpu, data, config, progress=False)
    assert model_device(gpu) == torch.device("cpu")
    assert rg.test_accuracy >= 0.9 and abs(rg.test_accuracy - rc.test_accuracy) <= 0.1
    assert rg.history[-1]["loss"] == pytest.approx(rc.history[-1]["loss"], rel=0.2, abs=0.02)
    # the last.pt written from the GPU loads on the CPU: the finished run resumes with all 10 epochs
    more = train(_model(5), data, TrainConfig(epochs=10, batch_size=25, lr=0.05, seed=1), progress=False,
                 out_dir=tmp_path)
    assert len(more.history) == 10
    teacher = _model(3)
    loss = fine_tune(gpu, data.train, 5, device="cuda", teacher=teacher, distill=0.5)
    assert loss == loss and model_device(gpu) == model_device(teacher) == torch.device("cpu")
    on_cpu = evaluate(gpu, data.test)
    assert abs(evaluate(gpu.to("cuda"), data.test) - on_cpu) <= 2 / len(data.test)  # TF32 may flip one or two
    s = score(gpu, data.test, reference=teacher.to("cuda"))
    assert abs(s.accuracy - on_cpu) <= 2 / len(data.test) and s.kl > 0
