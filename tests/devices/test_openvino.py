"""The OpenVINO device: its identity everywhere, its one-line reason where the provider is missing, and real
sessions where it is installed (an environment with onnxruntime-openvino; docs/openvino.md)."""

import io
import sys
import types
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import devices.openvino as ov
from devices import get_device, list_devices, usable_device
from devices.cpu import CpuDevice
from devices.openvino import OpenVinoDevice
from netadapt.cli import main
from netadapt.errors import DeviceUnavailable, UserError

RUNS_HERE, WHY_NOT = OpenVinoDevice().available()


@pytest.fixture
def fresh_route():
    """Each test finds the provider anew (the route is found once per process), and leaves none behind."""
    ov.route.cache_clear()
    yield
    ov.route.cache_clear()


def _exported(model, shape) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.zeros(shape), buf, dynamo=False)
    return buf.getvalue()


def _conv_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
                               torch.nn.Conv2d(16, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, 4))


def test_listed_with_an_identity_of_its_own():
    assert "openvino" in list_devices()
    dev = get_device("openvino", threads=2, gpu_id=1)
    assert isinstance(dev, OpenVinoDevice) and dev.threads == 2
    fp = dev.fingerprint()
    assert fp["provider"] == "OpenVINOExecutionProvider" and fp["name"] == "openvino"
    assert fp["provider_option.device_type"] == "CPU" and fp["provider_option.precision"] == "FP32"
    assert fp["provider_option.num_of_threads"] == 2 and fp["intra_op_threads"] == 2
    assert {"openvino", "openvino_package", "processor", "onnxruntime"} <= set(fp)
    ids = {OpenVinoDevice().fingerprint_id(), OpenVinoDevice(threads=2).fingerprint_id(),
           OpenVinoDevice(precision="fp16").fingerprint_id(), CpuDevice().fingerprint_id()}
    assert len(ids) == 4


def test_bad_precision_is_one_line():
    with pytest.raises(UserError, match=r"^unknown OpenVINO precision 'INT4'; valid: FP32, FP16, ACCURACY$"):
        OpenVinoDevice(precision="int4")


def test_no_provider_no_plugin_says_what_to_install(monkeypatch, fresh_route):
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(ov, "_package_version", lambda dist: "")
    ok, why = OpenVinoDevice().available()
    assert not ok and "\n" not in why
    assert why.startswith(f"OpenVINOExecutionProvider is not in onnxruntime {onnxruntime.__version__}'s providers "
                          "[CPUExecutionProvider]; install onnxruntime-openvino in an environment of its own")
    assert "onnxruntime-ep-openvino" in why and "netadapt[openvino]" in why
    with pytest.raises(DeviceUnavailable, match="^device 'openvino' is not available here: OpenVINOExecution"):
        usable_device("openvino")
    with pytest.raises(DeviceUnavailable):
        OpenVinoDevice().create_session(b"not a model")
    assert OpenVinoDevice().fingerprint()["openvino_package"] == "none"


def test_profile_refused_in_one_line_with_exit_2(monkeypatch, fresh_route, tmp_path, capsys):
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(ov, "_package_version", lambda dist: "")
    lut = tmp_path / "lut.db"
    with pytest.raises(SystemExit) as exit_info:
        main(["profile", "--device", "openvino", "--model", "digits_cnn", "--lut", str(lut), "--no-progress"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: device 'openvino' is not available here: ")
    assert "install onnxruntime-openvino in an environment of its own" in lines[0]
    assert not lut.exists() and captured.out == ""


def _ep_device(ep_name, vendor, ov_device=None):
    hardware = types.SimpleNamespace(type=onnxruntime.OrtHardwareDeviceType.CPU, vendor=vendor)
    metadata = {"ov_device": ov_device} if ov_device else {}
    return types.SimpleNamespace(ep_name=ep_name, ep_metadata=metadata, device=hardware)


def test_plugin_offering_no_device_names_the_vendor(monkeypatch, fresh_route, tmp_path):
    """What onnxruntime-ep-openvino 1.8.1 does on an AMD CPU: it loads, and offers no device."""
    registered = []
    monkeypatch.setattr(ov, "_registered", set())
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(ov, "_package_version", lambda dist: "onnxruntime-ep-openvino 1.8.1"
                        if dist == ov.PLUGIN_PACKAGE else "")
    monkeypatch.setattr(onnxruntime, "register_execution_provider_library",
                        lambda name, path: registered.append(name), raising=False)
    monkeypatch.setattr(onnxruntime, "get_ep_devices", lambda: [_ep_device("CPUExecutionProvider", "AMD")],
                        raising=False)
    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino",
                        types.SimpleNamespace(get_library_path=lambda: "libonnxruntime_providers_openvino_plugin.so",
                                              __file__=str(tmp_path / "__init__.py")))
    ok, why = OpenVinoDevice().available()
    assert not ok and registered == ["netadapt-openvino"]
    ov.route.cache_clear()
    assert OpenVinoDevice().available() == (False, why) and registered == ["netadapt-openvino"]  # registered once
    assert why == (f"onnxruntime-ep-openvino 1.8.1 loaded beside onnxruntime {onnxruntime.__version__} but offers "
                   "no device for this CPU (vendor AMD; it offers Intel devices only); install onnxruntime-openvino "
                   "in an environment of its own (it replaces onnxruntime)")


def test_plugin_offering_a_cpu_is_taken(monkeypatch, fresh_route, tmp_path):
    offered = _ep_device("OpenVINOExecutionProvider", "Intel", ov_device="CPU")
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(ov, "_package_version", lambda dist: "onnxruntime-ep-openvino 1.8.1"
                        if dist == ov.PLUGIN_PACKAGE else "")
    monkeypatch.setattr(onnxruntime, "get_ep_devices", lambda: [_ep_device("CPUExecutionProvider", "Intel"),
                                                                 offered], raising=False)
    monkeypatch.setattr(ov, "_registered", {"libonnxruntime_providers_openvino_plugin.so"})
    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino",
                        types.SimpleNamespace(get_library_path=lambda: "libonnxruntime_providers_openvino_plugin.so",
                                              __file__=str(tmp_path / "__init__.py")))
    assert OpenVinoDevice().available() == (True, "")
    found = ov.route()
    assert found.kind == "plugin" and found.ep_device is offered
    assert OpenVinoDevice().fingerprint()["openvino_package"] == "onnxruntime-ep-openvino 1.8.1"


def test_this_environment_gives_a_reason_or_runs():
    if not RUNS_HERE:
        assert WHY_NOT and "\n" not in WHY_NOT and "onnxruntime-openvino" in WHY_NOT
        return
    assert OpenVinoDevice().fingerprint()["openvino"] != "unknown"


def test_optimised_graph_keeps_standard_operators():
    """The graph the table keys on: batch-norm folded into the convolution, no provider-specific operators."""
    graph = OpenVinoDevice().optimize(_exported(_conv_net(), (2, 3, 16, 16)))
    ops = [(n.domain, n.op_type) for n in graph.graph.node]
    assert ("", "BatchNormalization") not in ops and ops.count(("", "Conv")) == 2
    assert all(domain == "" for domain, _ in ops)
    weightless = OpenVinoDevice().optimize(_exported(_conv_net(), (2, 3, 16, 16)), weights=False)
    assert [n.op_type for n in weightless.graph.node] == [op for _, op in ops]
    onnx.checker.check_model(graph)


@pytest.mark.skipif(not RUNS_HERE, reason=f"OpenVINO does not run here: {WHY_NOT}")
def test_runs_a_model_as_the_cpu_provider_does():
    model = _exported(_conv_net(), (2, 3, 16, 16))
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    session = OpenVinoDevice().create_session(model)
    assert session.get_providers()[0] == "OpenVINOExecutionProvider"
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = CpuDevice().create_session(model).run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not RUNS_HERE, reason=f"OpenVINO does not run here: {WHY_NOT}")
def test_profiler_times_nodes_and_models():
    from profilers import ProfileConfig, get_profiler
    from profilers.units import model_units

    dev = OpenVinoDevice()
    model = _exported(_conv_net(), (2, 3, 16, 16))
    units = model_units(model, dev, (2, 3, 16, 16))
    assert [u.key.op_type for u in units][:2] == ["Conv", "Relu"]
    prof = get_profiler(dev, ProfileConfig(warmup=2, repeats=10))
    node = prof.measure_node(units[0].key)
    whole = prof.measure_model(model, (2, 3, 16, 16))
    assert node.count == 10 and whole.count == 10
    assert 0 < node.median < 50 and 0 < whole.median < 50  # milliseconds


@pytest.mark.skipif(not RUNS_HERE, reason=f"OpenVINO does not run here: {WHY_NOT}")
def test_a_model_openvino_cannot_take_is_one_line():
    from onnx import TensorProto, helper

    node = helper.make_node("NchwcConv", ["x", "w"], ["y"], domain="com.microsoft.nchwc", kernel_shape=[1, 1])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 4, 4])],
                              initializer=[helper.make_tensor("w", TensorProto.FLOAT, [8, 8, 1, 1], [0.0] * 64)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft.nchwc", 1)])
    with pytest.raises(UserError, match="^device 'openvino' could not take the model: ") as err:
        OpenVinoDevice().create_session(model.SerializeToString())
    assert "\n" not in str(err.value)
