import copy

import pytest
import torch
from torch import nn

from netadapt.data import load_data
from netadapt.training import TrainConfig, fine_tune, recalibrate_batchnorm, score
from netadapt.training.distill import DistillationLoss, soft_kl


def _net(width=8):
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 3))


@pytest.fixture
def data():
    return load_data("synthetic:classes=3,size=8,n=96,channels=1,test=30", holdout=30)


def test_the_distillation_term_is_zero_against_itself_and_pulls_a_student_to_its_teacher(data):
    torch.manual_seed(0)
    teacher = _net().eval()
    x = torch.randn(16, 1, 8, 8)
    with torch.no_grad():
        logits = teacher(x)
    assert float(soft_kl(logits, logits, 4.0)) == pytest.approx(0.0, abs=1e-6)
    labels = torch.randint(0, 3, (16,))
    pure = DistillationLoss(teacher, alpha=1.0, temperature=2.0)
    assert float(pure(logits, labels, x)) == pytest.approx(0.0, abs=1e-5)
    student = _net()
    before = float(score(student, data.holdout, reference=teacher).kl)
    fine_tune(student, data.train, 60, batch_size=32, lr=0.05, teacher=teacher, distill=1.0, temperature=2.0)
    after = score(student, data.holdout, reference=teacher)
    assert after.kl < 0.5 * before
    with pytest.raises(ValueError, match="teacher"):
        fine_tune(_net(), data.train, 1, distill=0.5)


def test_score_gives_accuracy_loss_and_kl_in_one_pass(data):
    torch.manual_seed(0)
    net = _net().eval()
    s = score(net, data.holdout, reference=copy.deepcopy(net))
    assert 0 <= s.accuracy <= 1 and s.loss > 0 and s.kl == pytest.approx(0.0, abs=1e-6)
    assert score(net, data.holdout).kl != score(net, data.holdout).kl  # NaN without a reference


def test_batchnorm_recalibration_replaces_stale_statistics_and_touches_nothing_else(data):
    torch.manual_seed(0)
    net = _net()
    bn = net[1]
    bn.running_mean.fill_(5.0)  # statistics of another network
    bn.running_var.fill_(9.0)
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    net.eval()
    assert recalibrate_batchnorm(net, data.train, batches=3, batch_size=32) == 1
    assert not net.training and bn.momentum == 0.1
    assert float(bn.running_mean.abs().max()) < 2.0 and float(bn.running_var.max()) < 5.0
    for k, v in net.state_dict().items():
        if k in weights:
            assert torch.equal(v, weights[k])
    again = _net()
    again.load_state_dict(net.state_dict())
    again[1].running_mean.fill_(5.0)
    recalibrate_batchnorm(again, data.train, batches=3, batch_size=32)
    assert torch.allclose(again[1].running_mean, bn.running_mean)  # the same batches for the same seed


def test_long_term_training_distills_when_asked(data):
    from netadapt.training import train

    torch.manual_seed(0)
    teacher = _net().eval()
    with pytest.raises(Exception, match="teacher"):
        train(_net(), data, TrainConfig(epochs=1, batch_size=32, distill=0.5), progress=False)
    result = train(_net(), data, TrainConfig(epochs=1, batch_size=32, distill=0.5), progress=False, teacher=teacher)
    assert 0 <= result.test_accuracy <= 1
    assert "distill" not in TrainConfig().to_dict() and TrainConfig(epochs=2, distill=0.3).to_dict()["distill"] == 0.3
