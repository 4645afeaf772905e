"""AMC's reward with feature-map reconstruction: a cut network's layers refit on training images before it is
scored, on a small CNN trained on scikit-learn's digits."""

import pytest
import torch

from netadapt.amc import AmcConfig, AmcSearch
from netadapt.checkpoint import save_checkpoint
from netadapt.data import load_data
from netadapt.models.registry import create_model
from netadapt.models.spec import ModelSpec
from netadapt.training import fine_tune


@pytest.mark.slow
def test_reconstruction_raises_the_reward_of_a_cut_network(tmp_path):
    torch.manual_seed(0)
    spec = ModelSpec("digits_cnn", {"width_mult": 0.5})
    model = create_model(spec.name, **spec.kwargs)
    data = load_data("digits", holdout=0.1, seed=0)
    fine_tune(model, data.train, 150, batch_size=64, lr=0.05, seed=0)
    ckpt = save_checkpoint(tmp_path / "base.pt", model, spec, (1, *data.input_shape))
    rewards, searches = {}, {}
    for samples in (0, 256):
        config = AmcConfig(budget="50%", checkpoint=str(ckpt), model=spec.name, data="digits", device="fake",
                           batch=8, eval_limit=180, bn_batches=5, reconstruct=samples, warmup=0, repeats=1,
                           model_repeats=1)
        search = searches[samples] = AmcSearch(config, tmp_path / f"amc{samples}", lut=str(tmp_path / "lut.db"),
                                               progress=False, log=lambda *_: None)
        search._setup()
        counts = {g: max(2, group.size // 4) for g, group in search.graph.groups.items()}
        rewards[samples] = search.reward(counts)
    full = searches[0].reward({g: group.size for g, group in searches[0].graph.groups.items()})
    print(f"holdout accuracy: {full:.3f} unpruned; a quarter of every group kept: {rewards[0]:.3f} with batch-norm "
          f"re-estimated, {rewards[256]:.3f} reconstructed first")
    assert full > 0.9
    assert rewards[256] > rewards[0] + 0.1  # seen: 0.167 with batch-norm re-estimated, 0.493 reconstructed
    assert searches[256].samples.shape[0] == 256 and not hasattr(searches[0], "samples")
