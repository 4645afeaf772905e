import json

import pytest

from devices import Device, fingerprint_id_of, get_device, list_devices
from devices.cpu import CpuDevice
from devices.cuda import CudaDevice
from devices.fake import FakeDevice
from netadapt.errors import DeviceUnavailable, UserError


def test_registry_lists_builtins():
    assert {"cpu", "cuda", "fake"} <= set(list_devices())
    assert list_devices("c*") == ["cpu", "cuda"]


def test_unknown_device_lists_valid_names():
    with pytest.raises(UserError) as err:
        get_device("tpu")
    msg = str(err.value)
    assert "'tpu'" in msg and "cpu" in msg and "cuda" in msg and "fake" in msg
    assert "\n" not in msg


def test_shared_options_ignored_others_rejected():
    dev = get_device("cpu", threads=2, gpu_id=3)
    assert isinstance(dev, CpuDevice) and dev.threads == 2
    assert get_device("cuda", threads=4, gpu_id=1).provider_options == {"device_id": 1}
    with pytest.raises(UserError, match="no option 'colour'"):
        get_device("cpu", colour="red")


@pytest.mark.parametrize("name", list_devices())
def test_every_device_has_json_fingerprint(name):
    dev = get_device(name)
    assert isinstance(dev, Device)
    fp = dev.fingerprint()
    assert json.loads(json.dumps(fp)) == fp
    assert all(isinstance(v, (str, int)) for v in fp.values())
    assert dev.fingerprint_id() == fingerprint_id_of(fp) == get_device(name).fingerprint_id()
    assert len(dev.fingerprint_id()) == 16
    ok, reason = dev.available()
    assert ok or reason


def test_cpu_fingerprint_has_what_changes_latency():
    fp = CpuDevice(threads=1).fingerprint()
    for key in ("processor", "provider", "onnxruntime", "intra_op_threads", "inter_op_threads",
                "graph_optimization", "os_arch"):
        assert key in fp
    assert fp["provider"] == "CPUExecutionProvider" and fp["intra_op_threads"] == 1
    assert CpuDevice(1).fingerprint_id() != CpuDevice(2).fingerprint_id()


def test_cpu_is_available_and_runs():
    assert CpuDevice().available() == (True, "")


def test_bad_threads_is_user_error():
    with pytest.raises(UserError):
        CpuDevice(threads=0)


def test_cuda_unavailable_one_line(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    dev = CudaDevice(gpu_id=0)
    ok, reason = dev.available()
    assert not ok and "CUDAExecutionProvider" in reason and "onnxruntime-gpu" in reason
    with pytest.raises(DeviceUnavailable) as err:
        dev.create_session(b"not a model")
    msg = str(err.value)
    assert msg.startswith("device 'cuda' is not available here: CUDAExecutionProvider is not in")
    assert "[CPUExecutionProvider]" in msg and "\n" not in msg


def test_cuda_fingerprint_names_gpu(monkeypatch):
    import devices.cuda

    monkeypatch.setattr(devices.cuda, "gpu_name", lambda gpu_id: f"Test GPU {gpu_id}")
    fp0, fp1 = CudaDevice(0).fingerprint(), CudaDevice(1).fingerprint()
    assert fp0["gpu"] == "Test GPU 0" and fp0["provider_option.device_id"] == 0
    assert fingerprint_id_of(fp0) != fingerprint_id_of(fp1)


def test_gpu_name_unknown_without_nvidia_smi(monkeypatch):
    from devices import host

    monkeypatch.setenv("PATH", "")
    host.gpu_name.cache_clear()
    try:
        assert host.gpu_name(7) == "unknown"
    finally:
        host.gpu_name.cache_clear()


def test_fake_device():
    dev = FakeDevice()
    assert dev.available() == (True, "")
    assert dev.fingerprint()["kind"] == "fake"
    assert FakeDevice(2).fingerprint_id() != dev.fingerprint_id()
    with pytest.raises(DeviceUnavailable):
        dev.create_session(b"")


def test_missing_model_file_is_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        CpuDevice().create_session(str(tmp_path / "nope.onnx"))


class _EntryPoint:
    def __init__(self, name, target):
        self.name, self._target = name, target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


class _NpuDevice(CpuDevice):
    """A third-party device: a small subclass of the ORT device."""

    def __init__(self, threads: int = 1, precision: str = "FP32"):
        super().__init__(threads)
        self.name, self.precision = "npu", precision


def test_entry_point_plugins(monkeypatch):
    from devices import registry

    plugins = {"npu": _EntryPoint("npu", _NpuDevice),
               "broken": _EntryPoint("broken", ImportError("no module named vendor_sdk"))}
    monkeypatch.setattr(registry, "_plugins", lambda: plugins)
    assert list_devices() == ["broken", "cpu", "cuda", "fake", "npu", "openvino"]
    dev = get_device("npu", threads=2, gpu_id=1, precision="FP16")
    assert isinstance(dev, _NpuDevice) and dev.precision == "FP16" and dev.threads == 2
    with pytest.raises(UserError, match="plug-in 'broken' failed to load: no module named vendor_sdk"):
        get_device("broken")


def test_usable_device_refuses_unavailable_in_one_line(monkeypatch):
    import onnxruntime

    from devices import usable_device

    assert usable_device("fake").available() == (True, "")
    assert usable_device("cpu", threads=2, gpu_id=3).threads == 2  # gpu_id: a shared option cpu ignores
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(DeviceUnavailable) as err:
        usable_device("cuda", gpu_id=1)
    msg = str(err.value)
    assert msg.startswith("device 'cuda' is not available here: CUDAExecutionProvider") and "\n" not in msg
    with pytest.raises(UserError, match="unknown device 'tpu'"):
        usable_device("tpu")
