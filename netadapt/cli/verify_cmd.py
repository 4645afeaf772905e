"""``netadapt verify``: measure a run's final model again against its budget."""

from __future__ import annotations

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.verify import VerifySettings


@click.command()
@options_of(VerifySettings)
def verify(**options):
    """Time RUN_DIR's final model again, run by run against its starting model, on the run's device.

    Prints the latency with its 95% interval and the verdict against the run's budget: met (the interval's
    upper end is within it), not met, or within the measurement's uncertainty. Nothing is written.

    Example: netadapt verify runs/digits_cnn-70pct-c2117550
    """
    from pathlib import Path

    from devices import usable_device
    from netadapt.config.budget import parse_budget
    from netadapt.config.run import RunConfig
    from netadapt.errors import UserError
    from netadapt.latency.paired import MAX_PAIRS_NEAR_LINE, PairedConfig, compare_models, report_latency
    from netadapt.runs import folder as rf

    s = settings_from(VerifySettings, options)
    which = s.model
    max_pairs = s.max_pairs or MAX_PAIRS_NEAR_LINE
    run = Path(s.run_dir)
    if not (run / rf.CONFIG_FILE).is_file() or not (rf.iteration_dir(run, 0) / "info.json").is_file():
        raise UserError(f"{run} is not a netadapt run folder with a measured start (iter_000)")
    cfg = RunConfig.from_dict(rf.read_json(run / rf.CONFIG_FILE))
    folder = rf.final_dir(run) if which == "final" else rf.iteration_dir(run, int(which))
    if not (folder / "model.onnx").is_file():
        raise UserError(f"{run} has no {'final model' if which == 'final' else f'iteration {which}'} yet")
    device = usable_device(cfg.device, threads=cfg.threads, gpu_id=cfg.gpu_id)
    start = rf.read_json(rf.iteration_dir(run, 0) / "info.json")
    start_ms = start["measured_ms"]
    budget_ms = parse_budget(cfg.budget).resolve(start_ms)
    input_shape = _inputs_of(folder / "model.onnx")
    result = compare_models(device, str(folder / "model.onnx"), str(rf.iteration_dir(run, 0) / "model.onnx"),
                            input_shape, threshold=budget_ms / start_ms,
                            config=PairedConfig(warmup=cfg.warmup, min_pairs=min(cfg.model_repeats, max_pairs),
                                                max_pairs=max_pairs, max_seconds=120.0))
    report = report_latency(result, start_ms, budget_ms)
    click.echo(f"{which}: {report} (start {start_ms:.3f} ms; ratio {result.ratio:.4f}, "
               f"95% CI {result.low:.4f}-{result.high:.4f})")


def _inputs_of(path):
    """The inputs an exported model takes, from its graph: the shape of a lone float input, else each input's
    shape and type (integer inputs are fed zeros)."""
    import onnx

    from profilers.inputs import ModelInput, single_shape

    graph = onnx.load(str(path), load_external_data=False).graph
    inits = {i.name for i in graph.initializer}
    inputs = tuple(ModelInput(tuple(d.dim_value for d in i.type.tensor_type.shape.dim),
                              str(onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)), None, i.name)
                   for i in graph.input if i.name not in inits)
    return single_shape(inputs) or inputs
