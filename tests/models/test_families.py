"""The re-implemented torchvision families (tests/families) run, export to ONNX and match ONNX Runtime."""

import io
import warnings

import numpy as np
import onnxruntime as ort
import pytest
import torch
from families import FAMILIES, build

NAMES = sorted(FAMILIES)
NUM_CLASSES = 7


def _model(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return build(name, num_classes=NUM_CLASSES, **kwargs)


def _input(name: str, batch: int) -> torch.Tensor:
    return torch.randn(batch, *FAMILIES[name][1])


def _logits(out) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out.logits


def test_registry_targets_are_well_formed():
    assert len(NAMES) == 18
    for name, (target, shape) in FAMILIES.items():
        module, _, attr = target.partition(":")
        assert module.startswith("families.") and attr, name
        assert len(shape) == 3 and all(isinstance(d, int) and d > 0 for d in shape), name


@pytest.mark.parametrize("name", NAMES)
def test_eval_output_shape(name):
    model = _model(name).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        out = model(_input(name, 2))
    assert isinstance(out, torch.Tensor)
    assert out.shape == (2, NUM_CLASSES)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_runs_in_train_and_eval_at_batch_1_and_2(name):
    model = _model(name)
    torch.manual_seed(1)
    for training in (True, False):
        model.train(training)
        for batch in (1, 2):
            with torch.no_grad():
                out = _logits(model(_input(name, batch)))
            assert out.shape == (batch, NUM_CLASSES), (training, batch)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "densenet", "vit"])
def test_in_channels_is_the_first_layers_input(name):
    model = _model(name, in_channels=1).eval()
    _, h, w = FAMILIES[name][1]
    with torch.no_grad():
        assert model(torch.randn(2, 1, h, w)).shape == (2, NUM_CLASSES)


def test_googlenet_training_returns_named_tuple():
    from families.googlenet import GoogLeNetOutputs

    model = _model("googlenet").train()
    torch.manual_seed(1)
    out = model(_input("googlenet", 2))
    assert isinstance(out, GoogLeNetOutputs)
    assert out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert out.logits.shape == (2, NUM_CLASSES)
    assert out.aux_logits1.shape == out.aux_logits2.shape == (2, NUM_CLASSES)

    plain = _model("googlenet", aux_logits=False).train()
    assert isinstance(plain(_input("googlenet", 2)), torch.Tensor)
    assert plain.aux1 is None and plain.aux2 is None


@pytest.mark.parametrize("name", NAMES)
def test_onnx_export_matches_pytorch(name):
    model = _model(name).eval()
    torch.manual_seed(1)
    x = _input(name, 2)
    with torch.no_grad():
        expected = model(x).numpy()

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, buffer, dynamo=False, opset_version=17)

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})

    assert got.shape == expected.shape == (2, NUM_CLASSES)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-3)
    # some families (torchvision's init) give logits far below atol: compare relative to their scale too
    scale = float(np.abs(expected).max())
    assert scale > 0
    assert float(np.abs(got - expected).max()) <= 1e-3 * scale


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "shufflenet_v2" else n
                                  for n in NAMES])  # ShuffleNet's channel shuffles take ~18 s
def test_a_pruned_checkpoint_round_trips(name, tmp_path):
    """Saved pruned, loaded back with the same outputs (MNASNet refuses a state dict without versions)."""
    from netadapt.checkpoint import load_checkpoint, save_checkpoint
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze, shrunk_copy

    target, shape = FAMILIES[name]
    spec = ModelSpec(target, {"num_classes": NUM_CLASSES})
    model = spec.build().eval()
    input_shape = (2, *shape)
    graph = analyze(model, input_shape, validate=False)
    group = max(graph.groups, key=lambda g: graph.groups[g].size)
    sizes = {group: max(graph.groups[group].size // 2, graph.groups[group].min_size)}
    pruned = shrunk_copy(model, graph, sizes).eval()
    save_checkpoint(tmp_path / "m.pt", pruned, spec, input_shape, channels=sizes)
    loaded = load_checkpoint(tmp_path / "m.pt").model.eval()
    x = torch.randn(*input_shape)
    with torch.no_grad():
        assert torch.allclose(_logits(loaded(x)), _logits(pruned(x)), atol=1e-5)
    assert sum(p.numel() for p in loaded.parameters()) < sum(p.numel() for p in model.parameters())
