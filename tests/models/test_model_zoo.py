"""Every zoo classifier: output shapes, ONNX parity, and the structure the pruning code relies on (the detection
and segmentation models are tested with their tasks, tests/tasks)."""

import pytest
import torch
from torch import fx, nn

from netadapt.export import export_onnx
from netadapt.models import create_model, list_models, model_info

ZOO = list_models(task="classification")


def test_zoo_holds_the_documented_models():
    assert ZOO == ["digits_cnn", "mobilenet_v1", "mobilenet_v2", "resnet20", "resnet29b", "resnet56", "vgg11"]
    assert list_models(task="detection") == ["yolo_tiny"] and list_models(task="segmentation") == ["lraspp_tiny"]
    assert set(list_models()) == set(ZOO) | {"yolo_tiny", "lraspp_tiny"}


@pytest.mark.parametrize("name", ZOO)
def test_forward_gives_one_logit_per_class(name):
    channels = model_info(name).default_input[0]
    model = create_model(name, num_classes=7, width_mult=0.25).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, channels, 32, 32))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ZOO)
def test_onnx_export_matches_pytorch(name, tmp_path):
    info = model_info(name)
    model = create_model(name, width_mult=0.5)
    torch.manual_seed(0)
    # Non-trivial batch-norm statistics, so folding them is really checked.
    model.train()
    with torch.no_grad():
        model(torch.randn(8, *info.default_input))
    path = export_onnx(model, tmp_path / f"{name}.onnx", (1, *info.default_input))
    assert path.stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.onnx"]


@pytest.mark.parametrize("name", ZOO)
def test_traces_with_fx_and_every_conv_feeds_its_batch_norm(name):
    model = create_model(name)
    traced = fx.symbolic_trace(model)
    modules = dict(traced.named_modules())
    convs = [n for n in traced.graph.nodes if n.op == "call_module" and isinstance(modules[n.target], nn.Conv2d)]
    assert convs
    for node in convs:
        conv = modules[node.target]
        users = list(node.users)
        assert len(users) == 1 and isinstance(modules.get(users[0].target), nn.BatchNorm2d), node.target
        assert conv.kernel_size[0] == conv.kernel_size[1]
        assert conv.padding == (conv.kernel_size[0] // 2,) * 2
    functional = [n.target for n in traced.graph.nodes if n.op == "call_function"]
    assert all(getattr(f, "__name__", "") in {"add", "flatten"} for f in functional), functional


@pytest.mark.parametrize("name,params", [("resnet20", 0.272e6), ("resnet56", 0.856e6), ("vgg11", 9.23e6),
                                         ("mobilenet_v1", 3.22e6), ("mobilenet_v2", 2.24e6)])
def test_parameter_counts_match_the_papers_cifar_variants(name, params):
    count = sum(p.numel() for p in create_model(name).parameters())
    assert count == pytest.approx(params, rel=0.01)


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2"])
def test_mobilenet_channels_are_multiples_of_eight(name):
    model = create_model(name, width_mult=0.35)
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert min(widths) >= 8
    assert all(w % 8 == 0 for w in widths)


@pytest.mark.parametrize("name,stem,size,spatial", [
    ("mobilenet_v1", "cifar", 32, 2), ("mobilenet_v1", "imagenet", 224, 7),
    ("mobilenet_v2", "cifar", 32, 4), ("mobilenet_v2", "imagenet", 224, 7),
])
def test_stems_downsample_as_documented(name, stem, size, spatial):
    model = create_model(name, stem=stem, width_mult=0.25).eval()
    with torch.inference_mode():
        features = model.features(torch.randn(1, 3, size, size))
    assert features.shape[-2:] == (spatial, spatial)


def test_resnet_uses_projection_shortcuts_only_where_shapes_change():
    model = create_model("resnet20")
    projections = [n for n, m in model.named_modules() if n.endswith("shortcut") and not isinstance(m, nn.Identity)]
    assert projections == ["layers.3.shortcut", "layers.6.shortcut"]
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 19 + 2


def test_the_bottleneck_resnet_has_1x1_3x3_1x1_blocks_and_four_times_wider_outputs():
    model = create_model("resnet29b")
    kernels = [m.kernel_size[0] for n, m in model.named_modules()
               if isinstance(m, nn.Conv2d) and ".conv" in n]
    assert kernels == [1, 3, 1] * 9
    assert [model.layers[i].conv3[0].out_channels for i in (0, 3, 6)] == [64, 128, 256]
    assert model.layers[3].conv2[0].stride == (2, 2) and model.layers[3].conv1[0].stride == (1, 1)
    assert sum(p.numel() for p in model.parameters()) == 313_114
