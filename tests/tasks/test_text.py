"""The token task: a transformer encoder on int64 token ids, its attention pruned in whole heads and its MLP in
any width."""

import copy

import pytest
import torch

from netadapt.criteria import create_criterion
from netadapt.latency.grid import group_grid
from netadapt.pruning import analyze, apply_channels, keep_channels
from netadapt.tasks.text import make_task
from netadapt.tasks.text.data import LENGTH, VOCAB, digit_tokens
from netadapt.tasks.text.model import TokenEncoder


def _encoder():
    torch.manual_seed(0)
    return TokenEncoder(VOCAB, LENGTH, 10, dim=32, heads=4, mlp=48, depth=2).eval()


def _tokens(n=2):
    return digit_tokens(0).holdout[0][:n]


def test_the_digits_read_as_tokens_split_three_ways_without_overlap():
    data = digit_tokens(0)
    assert [len(s[0]) for s in (data.train, data.holdout, data.test)] == [1200, 300, 297]
    assert data.train[0].dtype == torch.int64 and int(data.train[0].max()) <= VOCAB - 1
    assert torch.equal(digit_tokens(0).holdout[0], data.holdout[0])
    rows = {tuple(r.tolist()) for r in data.train[0]}
    assert sum(tuple(r.tolist()) in rows for r in data.holdout[0]) < 5  # a few digits are pixel-identical


def test_attention_groups_leave_in_whole_heads_and_the_head_count_follows():
    from netadapt.inputs import ExampleInputs

    model = _encoder()
    inputs = ExampleInputs.of(_tokens(1), model)
    graph = analyze(model, inputs)
    attention = graph.groups["blocks.0.attention.query"]
    assert (attention.size, attention.head_size, attention.attention) == (32, 8, "blocks.0.attention")
    assert group_grid(attention, 32, 4) == [8, 16, 24, 32]
    assert graph.groups["blocks.0.fc1"].head_size == 1 and group_grid(graph.groups["blocks.0.fc1"], 48, 8)[0] == 8
    width = next(g for g in graph.groups.values() if "tokens:out" in g.members)
    assert width.head_size == 1  # the model width enters and leaves attention: not its heads
    kept = create_criterion("l2").select(model, attention, 16)
    assert len(kept) == 16 and {i // 8 for i in kept} == {i // 8 for i in kept[::8]} and len({i // 8 for i in kept}) == 2
    x = _tokens(3)
    silenced = copy.deepcopy(model)
    with torch.no_grad():  # head 2 silenced: its values are zero, so the output projection reads zeros for it
        silenced.blocks[0].attention.value.weight[16:24] = 0
        silenced.blocks[0].attention.value.bias[16:24] = 0
        expected = silenced(x)
    keep_channels(model, graph, {"blocks.0.attention.query": [i for i in range(32) if not 16 <= i < 24]})
    assert model.blocks[0].attention.num_heads == 3 and model.blocks[0].attention.query.out_features == 24
    assert torch.allclose(model(x), expected, atol=1e-5)
    with pytest.raises(Exception, match="heads of 8 channels leave whole"):
        keep_channels(copy.deepcopy(model), analyze(model, inputs), {"blocks.1.attention.query": list(range(20))})


def test_every_group_at_half_width_runs_and_exports(tmp_path):
    from netadapt.export import export_onnx
    from netadapt.inputs import ExampleInputs

    model = _encoder()
    inputs = ExampleInputs.of(_tokens(1), model)
    graph = analyze(model, inputs)
    target = {n: max(g.min_size, g.size // 2 // g.unit * g.unit) for n, g in graph.groups.items()}
    assert apply_channels(model, inputs, target).sizes() == target
    assert all(b.attention.num_heads == 2 for b in model.blocks)
    export_onnx(model, tmp_path / "m.onnx", inputs)  # checked against PyTorch on the int64 tokens


def test_the_task_trains_and_scores_pruned_copies():
    task = make_task(dim=32, heads=4, mlp=48, base_steps=20)
    assert task.example_inputs.dtype == torch.int64 and task.example_inputs.shape == (1, LENGTH)
    before = {k: v.clone() for k, v in task.model.state_dict().items()}
    copy_ = copy.deepcopy(task.model)
    torch.manual_seed(1)
    task.train(copy_, 3)
    assert any(not torch.equal(before[k], v) for k, v in copy_.state_dict().items())
    assert all(torch.equal(before[k], v) for k, v in task.model.state_dict().items())
    assert 0.0 <= task.evaluate(copy_) <= 1.0
    assert task.loss(copy_, task.batches[0]).ndim == 0


@pytest.mark.slow
def test_prune_on_token_ids_keeps_whole_heads(tmp_path):
    import netadapt

    task = make_task(dim=64, heads=4, mlp=256, base_steps=20)
    result = netadapt.prune(task, budget="93%", out=tmp_path / "run", device="fake", short_term_steps=2,
                            long_term_steps=2, lut=str(tmp_path / "lut.db"), channel_step=8, warmup=0, repeats=1,
                            model_repeats=1, progress=False, log=lambda *_: None)
    assert result.met and len(result.iterations) >= 2
    for block in result.model.blocks:
        attention = block.attention
        assert attention.query.out_features == attention.num_heads * attention.head_dim == attention.out.in_features
    assert 0.0 <= result.score <= 1.0
