"""Training from scratch: learning, resuming from last.pt, rewind checkpoints."""

import pytest
import torch

from netadapt.errors import UserError
from netadapt.training import TrainConfig, load_rewind, train
from netadapt.training.schedule import lr_factor
from training_helpers import tiny_model as _model


CONFIG = TrainConfig(epochs=3, batch_size=25, lr=0.05, seed=1)


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.values(), b.values())) and a.keys() == b.keys()


def test_training_learns_and_reports_history(data, tmp_path):
    result = train(_model(), data, TrainConfig(epochs=10, batch_size=25, lr=0.05), out_dir=tmp_path,
                   progress=False)
    assert [h["epoch"] for h in result.history] == list(range(1, 11))
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert result.test_accuracy >= 0.9
    assert result.history[-1]["lr"] == 0.0  # cosine reaches zero at the last iteration
    assert result.seconds == pytest.approx(sum(h["seconds"] for h in result.history))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_resume_continues_from_last_pt_to_the_same_weights(data, tmp_path):
    straight = _model()
    train(straight, data, CONFIG, progress=False)

    class Killed(Exception):
        pass

    def kill_after_first(epoch, path):
        assert path == tmp_path / "last.pt" and path.is_file()
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train(_model(), data, CONFIG, out_dir=tmp_path, progress=False, on_checkpoint=kill_after_first)
    epochs_seen = []
    resumed = _model(seed=99)  # different initial weights: they must be replaced from last.pt
    result = train(resumed, data, CONFIG, out_dir=tmp_path, progress=False,
                   on_checkpoint=lambda e, p: epochs_seen.append(e))
    assert epochs_seen == [2, 3]
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert _same(resumed.state_dict(), straight.state_dict())
    # a finished run resumes to nothing
    again = train(_model(seed=5), data, CONFIG, out_dir=tmp_path, progress=False, on_checkpoint=epochs_seen.append)
    assert epochs_seen == [2, 3] and again.test_accuracy == result.test_accuracy


def test_resume_refuses_other_settings_and_no_resume_starts_over(data, tmp_path):
    train(_model(), data, TrainConfig(epochs=1, batch_size=25), out_dir=tmp_path, progress=False)
    with pytest.raises(UserError, match="lr differ"):
        train(_model(), data, TrainConfig(epochs=1, batch_size=25, lr=0.3), out_dir=tmp_path, progress=False)
    result = train(_model(), data, TrainConfig(epochs=1, batch_size=25, lr=0.3), out_dir=tmp_path,
                   progress=False, resume=False)
    assert len(result.history) == 1


@pytest.mark.parametrize("k", [0, 4, 6])
def test_rewind_file_holds_the_weights_at_iteration_k(data, tmp_path, k):
    config = TrainConfig(epochs=2, batch_size=25, lr=0.05, rewind_iteration=k)
    model = _model()
    initial = {n: t.clone() for n, t in model.state_dict().items()}
    after_epoch = {}
    train(model, data, config, out_dir=tmp_path, progress=False,
          on_checkpoint=lambda e, p: after_epoch.setdefault(e, torch.load(p, weights_only=True)["model"]))
    saved = load_rewind(tmp_path / f"rewind_{k}.pt")
    assert saved["iteration"] == k
    assert saved["lr"] == pytest.approx(0.05 * lr_factor(k, 8, "cosine"))
    assert saved["scheduler"]["last_epoch"] == k
    if k == 0:
        assert _same(saved["state_dict"], initial)
    elif k == 4:
        assert _same(saved["state_dict"], after_epoch[1])
    else:
        # mid-epoch: replay the same run for exactly k iterations by hand
        from netadapt.data import make_loader
        from netadapt.training.schedule import make_scheduler
        from netadapt.training.steps import make_optimizer, sgd_step

        replay = _model()
        opt = make_optimizer(replay, 0.05, 0.9, 5e-4, True)
        sched = make_scheduler(opt, 8, "cosine")
        loader = make_loader(data.train, 25, shuffle=True, seed=0, augment=data.augment)
        batches = [b for _ in range(2) for b in loader][:k]
        replay.train()
        for images, labels in batches:
            sgd_step(replay, opt, torch.nn.CrossEntropyLoss(), images, labels)
            sched.step()
        assert _same(saved["state_dict"], replay.state_dict())
        assert not _same(saved["state_dict"], after_epoch[2])


def test_rewind_beyond_the_run_and_bad_configs_are_user_errors(data, tmp_path):
    with pytest.raises(UserError, match="beyond the run's 4 iterations"):
        train(_model(), data, TrainConfig(epochs=1, batch_size=25, rewind_iteration=5), out_dir=tmp_path,
              progress=False)
    with pytest.raises(UserError, match="schedule"):
        TrainConfig(schedule="step")
    with pytest.raises(UserError, match="warmup_epochs must be below epochs"):
        TrainConfig(epochs=2, warmup_epochs=2)
