"""The nodes a device runs for a model, read from its own optimiser, each timeable alone."""

import torch
import torch.nn as nn

from devices.cpu import CpuDevice
from devices.fake import FakeDevice
from netadapt.export import export_bytes
from profilers import ProfileConfig
from profilers.node_graphs import build_node_model
from profilers.ort_profiler import OrtProfiler
from profilers.units import model_units
from test_fake_profiler import residual_model


class ViewNet(nn.Module):
    """Flattens with a computed shape (``x.view(x.size(0), -1)``) and scales by a squeeze-excitation."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc1 = nn.Conv2d(8, 4, 1)
        self.fc2 = nn.Conv2d(4, 8, 1)
        self.head = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        x = nn.functional.adaptive_avg_pool2d(x * s, 4)
        return self.head(x.view(x.size(0), -1))


def test_cpu_units_are_the_optimised_graph_and_each_runs_alone():
    device = CpuDevice(threads=1)
    units = model_units(residual_model(), device, (2, 3, 16, 16))
    ops = [u.key.op_type for u in units]
    assert "BatchNormalization" not in ops  # folded into the convolution
    assert "Relu" not in ops or len([o for o in ops if o == "Relu"]) < 2  # fused where the device fuses
    convs = [u.key for u in units if u.key.is_conv]
    # 8 channels, or the block the CPU's blocked layout pads them to (16 with AVX-512)
    assert len(convs) == 2 and convs[0].channels[0] == 3
    assert all(k.channels[1] in (8, 16) and k.channels[1] == convs[0].channels[1] for k in convs)
    profiler = OrtProfiler(device, ProfileConfig(warmup=1, repeats=2))
    for unit in units:
        assert profiler.measure_node(unit.key).count == 2


def test_computed_shapes_are_kept_by_value_and_keys_are_stable():
    torch.manual_seed(0)
    net = ViewNet().eval()
    exported = export_bytes(net, (2, 3, 8, 8))
    for device in (CpuDevice(threads=1), FakeDevice()):
        units = model_units(exported, device, (2, 3, 8, 8))
        again = model_units(export_bytes(net, (2, 3, 8, 8)), device, (2, 3, 8, 8))
        assert [u.key.key_id for u in units] == [u.key.key_id for u in again]
        values = [t for u in units for t in u.key.inputs if t is not None and t.role == "value"]
        assert all(t.dtype.startswith("int") for t in values)
        head = [u.key for u in units if u.key.channels == (128, 5)]
        assert len(head) == 1 and head[0].data.shape == (2, 128)
    profiler = OrtProfiler(CpuDevice(threads=1), ProfileConfig(warmup=0, repeats=1))
    for unit in model_units(exported, CpuDevice(threads=1), (2, 3, 8, 8)):
        model, feeds = build_node_model(unit.key)
        assert set(feeds) == {f"in{i}" for i, t in enumerate(unit.key.inputs) if t is not None and t.role == "data"}
        assert profiler.measure_node(unit.key).count == 1
