"""The loop's measurement of each kept network (``netadapt.algorithm.measure.Measurer``)."""

from devices.fake import FakeDevice
from lut.table import LatencyTable
from netadapt.algorithm import measure
from netadapt.latency import paired
from synthetic_machine import SyntheticMachine


def test_each_network_is_timed_until_its_interval_is_within_the_precision(tmp_path, monkeypatch):
    machine = SyntheticMachine(noise=0.03, seed=1)  # a 0.15 ms network at batch 1 is about this noisy
    timers = {"new.onnx": machine.timer(0.135), "start.onnx": machine.timer(0.150)}

    def compare_models(device, model_a, model_b, input_shape, *, threshold=None, config=None, seed=0):
        return paired.compare_timers(timers[model_a], timers[model_b], threshold=threshold, config=config,
                                     clock=machine.clock)

    monkeypatch.setattr(paired, "compare_models", compare_models)
    measurer = measure.Measurer(FakeDevice(), LatencyTable(str(tmp_path / "lut.db")), estimator=None,
                                profiler=None, input_shape=(1, 3, 8, 8))
    # the budget is far below: the verdict is decided at the first look, on an interval of several percent
    first_look = paired.compare_timers(SyntheticMachine(noise=0.03, seed=1).timer(0.135),
                                       SyntheticMachine(noise=0.03, seed=2).timer(0.150), threshold=0.1 / 0.15,
                                       config=paired.PairedConfig(min_pairs=40, max_pairs=40))
    assert first_look.relative_half_width > 1.5 * measure.PRECISION
    result = measurer.compare("new.onnx", "start.onnx", 0.150, budget_ms=0.100)
    assert result["verdict"] == "not met" and result["pairs"] > 40
    assert (result["ratio_high"] - result["ratio_low"]) / 2 <= measure.PRECISION * result["ratio"]
    assert abs(result["measured_ms"] - 0.135) < 0.135 * measure.PRECISION
