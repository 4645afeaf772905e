"""--eval-limit must rank candidates on a random part of the holdout, not its first images: an image
folder is read in class order, so the first images would all be one class."""

import numpy as np
from PIL import Image

from netadapt.config.run import RunConfig


def test_eval_limit_takes_a_mixed_subset_of_a_class_ordered_holdout(tmp_path, monkeypatch):
    monkeypatch.setenv("NETADAPT_NO_CACHE", "1")
    root = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 4)):
        for cls in ("a", "b", "c"):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for k in range(n):
                Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(folder / f"{k}.png")
    from netadapt.task.run_data import run_data

    cfg = RunConfig(budget="50%", data=f"imagefolder:{root}", holdout=60, eval_limit=12, device="fake", batch=1)
    data, holdout = run_data(cfg)
    assert len(holdout) == 12
    assert len(set(holdout.targets().tolist())) == 3
    # the full holdout is stored in class order, which is what made "the first N" wrong
    first = data.holdout.targets()[:12].tolist()
    assert first == sorted(first)


def test_the_holdout_split_follows_the_split_seed_not_the_run_seed():
    """A checkpoint trained outside the default holdout (split seed 0) keeps it whatever seed a run uses;
    ranking on another split would score candidates on images the model learned."""
    import torch

    from netadapt.task.run_data import run_data

    def holdout_images(**kw):
        data, _ = run_data(RunConfig(budget="50%", data="synthetic:classes=3,size=8,n=90,test=9", holdout=30,
                                     device="fake", **kw))
        return data.holdout.get_batch(torch.arange(len(data.holdout)))[0]

    split0 = holdout_images(seed=0)
    assert torch.equal(holdout_images(seed=1), split0)
    assert torch.equal(holdout_images(seed=5, split_seed=0), split0)
    assert not torch.equal(holdout_images(seed=0, split_seed=1), split0)
    assert RunConfig(split_seed=2).to_dict()["split_seed"] == 2
