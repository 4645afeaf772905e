import copy
from types import SimpleNamespace

import pytest
import torch

from netadapt.algorithm.netadapt_step import checked_candidate
from netadapt.algorithm.timer import Timer
from netadapt.pruning import analyze, first_channels, keep_channels
from tests.families.regnet import regnet_y

SHAPE = (1, 3, 32, 32)
# a grouped 3x3 (8 channels per group) and the 1x1 that feeds it: one output per group of the 3x3 makes
# torch-pruning couple it to its input, and the feeding group vanishes (RegNetY-400MF's iteration 8)
B, A = "trunk_output.block3.block3-1.f.b.0", "trunk_output.block3.block3-1.f.a.0"


@pytest.fixture(scope="module")
def regnet():
    torch.manual_seed(0)
    model = regnet_y().eval()
    return model, analyze(model, SHAPE)


def _run_loading(model, analysed=False):
    """A run whose checkpoint format loads ``model``: with ``analysed``, together with its analysis (as the
    project's formats do); else alone (a format that must be analysed after loading)."""
    graph = analyze(model, SHAPE, validate=False) if analysed else None
    return SimpleNamespace(task=SimpleNamespace(checkpoints=SimpleNamespace(
        load_analysed=lambda path, frozen: (model, graph))))


@pytest.mark.parametrize("analysed", [False, True])
def test_a_cut_whose_counts_come_out_wrong_is_found_when_it_is_chosen(regnet, analysed):
    model, graph = regnet
    broken = copy.deepcopy(model)
    with pytest.raises(RuntimeError, match="unexpected counts"):
        keep_channels(copy.deepcopy(model), graph, {B: first_channels(graph.groups[B], 8)})
    # pruned without the check, as candidates are: the network runs, so it is fine-tuned like the others
    assert keep_channels(broken, graph, {B: first_channels(graph.groups[B], 8)}, check=False) is None
    assert broken(torch.randn(*SHAPE)).shape == (1, 10)
    timer = Timer()
    got, graph_back, why = checked_candidate(_run_loading(broken, analysed), "unused.pt", graph,
                                             {"group": B, "channels": 8}, timer)
    assert got is None and graph_back is None
    assert why.startswith("cannot be built: channel removal gave unexpected counts") and A in why
    assert timer.seconds["prune"] > 0


@pytest.mark.parametrize("analysed", [False, True])
def test_a_sound_cut_comes_back_with_the_analysis_the_next_iteration_starts_from(regnet, analysed):
    model, graph = regnet
    cut = copy.deepcopy(model)
    keep_channels(cut, graph, {B: first_channels(graph.groups[B], 16)}, check=False)
    got, graph_back, why = checked_candidate(_run_loading(cut, analysed), "unused.pt", graph,
                                             {"group": B, "channels": 16}, Timer())
    assert why is None and got is cut
    assert graph_back.sizes() == {**graph.sizes(), B: 16}


def test_the_forward_check_leaves_the_network_as_it_was_and_fails_on_a_mismatch(regnet):
    from netadapt.pruning.remove import runs_forward

    model, _ = regnet
    net = copy.deepcopy(model).eval()
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    runs_forward(net, SHAPE)  # in training mode, so batch norms would update their statistics
    assert not net.training
    assert all(torch.equal(buffers[k], v) for k, v in net.named_buffers())
    conv = net.get_submodule(A)
    conv.weight = torch.nn.Parameter(conv.weight[:-8])  # one layer left narrower than the next one reads
    conv.out_channels -= 8
    with pytest.raises(RuntimeError):
        runs_forward(net, SHAPE)
    assert not net.training
