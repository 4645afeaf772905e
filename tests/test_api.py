"""netadapt.prune and netadapt.load: models that are not one tensor in, one tensor out, with the user's own
training loop and metric, on the fake device (and the CPU for one)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import usertasks

import netadapt
from netadapt.errors import UserError
from netadapt.task.calls import TaskError

TESTS = Path(__file__).resolve().parent
QUIET = {"progress": False, "log": lambda *_: None}


def _prune(task, out, budget="90%", **kw):
    kw = {"device": "fake", "short_term_steps": 2, "long_term_steps": 3, "lut": str(out.parent / "lut.db"),
          "warmup": 0, "repeats": 1, "model_repeats": 1, **QUIET, **kw}
    return netadapt.prune(task, budget=budget, out=out, **kw)


def _same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_model_with_two_inputs_and_a_tuple_out_is_pruned_trained_and_scored_by_the_users_code(tmp_path):
    task = usertasks.two_heads_task()
    before = {k: v.clone() for k, v in task.model.state_dict().items()}
    calls = []

    def train(model, steps, teacher=None):
        assert model is not task.model and teacher is not None and not teacher.training
        assert not any(p.requires_grad for p in teacher.parameters())
        calls.append(("train", steps, sum(p.numel() for p in model.parameters())))
        usertasks.train_two_heads(model, steps, teacher=teacher)

    def evaluate(model):
        calls.append(("evaluate", None, sum(p.numel() for p in model.parameters())))
        return usertasks.evaluate_two_heads(model)

    task.train, task.evaluate = train, evaluate
    result = _prune(task, tmp_path / "run", budget="80%")
    assert result.met and result.measured_ms <= result.budget_ms
    assert len(result.iterations) >= 2 and result.iterations[0].pruned_group is None
    # the user's model is never touched; every call got a pruned copy, candidates short-term, the final long-term
    assert task.model.training is False and all(torch.equal(v, task.model.state_dict()[k]) for k, v in before.items())
    start_params = sum(p.numel() for p in task.model.parameters())
    trains = [c for c in calls if c[0] == "train"]
    assert [s for _, s, _ in trains[:-1]] == [2] * (len(trains) - 1) and trains[-1][1] == 3
    assert all(n < start_params for _, _, n in trains)
    assert result.score == pytest.approx(usertasks.evaluate_two_heads(result.model))
    # every output exported, checked against PyTorch and named
    import onnx
    import onnxruntime as ort

    onnx_path = result.iterations[-1].onnx
    graph = onnx.load(str(onnx_path)).graph
    assert [i.name for i in graph.input] == ["image", "vector"] and len(graph.output) == 2
    image, vector = torch.randn(1, 3, 16, 16), torch.randn(1, 4)
    session = ort.InferenceSession(str(tmp_path / "run" / "final" / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": image.numpy(), "vector": vector.numpy()})
    with torch.no_grad():
        want = result.model(image, vector)
    assert all(torch.allclose(torch.from_numpy(g), w, atol=1e-4) for g, w in zip(got, want))
    info = json.loads((tmp_path / "run" / "final" / "info.json").read_text())
    assert info["budget_met"] is True and info["measured_ms"] == result.measured_ms and "score" in info


def test_integer_token_inputs_and_dict_outputs_on_the_cpu(tmp_path):
    task = usertasks.tagger_task()
    result = _prune(task, tmp_path / "run", device="cpu", max_iterations=1, warmup=2, repeats=5, model_repeats=10)
    assert len(result.iterations) == 2 and result.iterations[1].pruned_group == "conv1"
    assert result.iterations[1].channels["conv1"] < 128
    assert set(result.iterations[0].metrics) == {"loss"} and 0 <= result.score <= 1
    import onnx

    graph = onnx.load(str(result.iterations[1].onnx)).graph
    assert [o.name for o in graph.output] == ["tags", "pooled"]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert result.measured_ms > 0 and math.isfinite(result.final["table_ms"])


def test_a_finished_run_returns_at_once_and_a_killed_one_resumes_to_the_same_result(tmp_path, monkeypatch):
    whole = _prune(usertasks.tagger_task(), tmp_path / "whole", budget="85%")
    task = usertasks.tagger_task()
    seen = {"n": 0}

    def dies_on_the_third_call(model, steps):
        seen["n"] += 1
        if seen["n"] == 3:
            raise KeyboardInterrupt  # as a kill would stop it: nothing after this call is written
        usertasks.train_tagger(model, steps)

    task.train = dies_on_the_third_call
    with pytest.raises(KeyboardInterrupt):
        _prune(task, tmp_path / "resumed", budget="85%")
    task.train = usertasks.train_tagger
    resumed = _prune(task, tmp_path / "resumed", budget="85%")
    assert [r.channels for r in resumed.iterations] == [r.channels for r in whole.iterations]
    assert [r.score for r in resumed.iterations] == [r.score for r in whole.iterations]
    assert resumed.score == whole.score and _same_state(resumed.model, whole.model)

    def never(model, steps):
        raise AssertionError("a finished run trained again")

    task.train = never
    again = _prune(task, tmp_path / "resumed", budget="85%")
    assert again.score == whole.score
    # another model in the same folder is refused in one line
    other = usertasks.tagger_task()
    with torch.no_grad():
        other.model.conv1.weight.add_(1.0)
    with pytest.raises(UserError, match="another model .*other weights"):
        _prune(other, tmp_path / "resumed", budget="85%")


def test_a_train_that_raises_ends_in_one_line_with_the_folder_intact(tmp_path):
    task = usertasks.tagger_task()

    def broken(model, steps):
        raise ValueError("the loader ran dry")

    task.train = broken
    with pytest.raises(TaskError) as caught:
        _prune(task, tmp_path / "run")
    message = str(caught.value)
    assert message.startswith("train raised ValueError: the loader ran dry") and "\n" not in message
    assert "error.log" in message
    log = (tmp_path / "run" / "error.log").read_text()
    assert "Traceback" in log and "the loader ran dry" in log and "broken" in log
    assert (tmp_path / "run" / "iter_000" / "info.json").is_file()  # the start, measured, is kept


@pytest.mark.parametrize("returned, said", [(float("nan"), "a score must be a finite number"),
                                            ("0.9", "returned str, not a number"),
                                            ({"map": 0.5}, "without a 'score' key")])
def test_an_evaluate_that_returns_no_number_is_refused_in_one_line(tmp_path, returned, said):
    task = usertasks.tagger_task()
    task.evaluate = lambda model: returned
    with pytest.raises(TaskError, match=said) as caught:
        _prune(task, tmp_path / "run")
    assert "\n" not in str(caught.value) and not (tmp_path / "run" / "iter_000").exists()


def test_a_candidate_whose_evaluate_gives_nan_is_dropped_with_its_reason(tmp_path):
    task = usertasks.two_heads_task()
    start_params = sum(p.numel() for p in task.model.parameters())

    def nan_when_the_body_is_cut(model):
        if model.body[0].out_channels < 96:
            return float("nan")
        return usertasks.evaluate_two_heads(model)

    task.evaluate = nan_when_the_body_is_cut
    result = _prune(task, tmp_path / "run", max_iterations=1)
    first = json.loads((tmp_path / "run" / "iter_001" / "info.json").read_text())
    dropped = [c for c in first["candidates"] if c.get("dropped")]
    assert [c["group"] for c in dropped] == ["body.0"] and "finite number" in dropped[0]["dropped"]
    assert result.iterations[1].pruned_group == "stem.0"
    assert sum(p.numel() for p in result.model.parameters()) < start_params


def test_inputs_that_do_not_run_through_the_model_are_refused_before_any_work(tmp_path):
    task = usertasks.two_heads_task()
    task.example_inputs = torch.randn(1, 3, 16, 16)  # the vector is missing
    with pytest.raises(UserError, match=r"example_inputs \(1x3x16x16\) do not run through the model"):
        _prune(task, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(UserError, match="tensor or a tuple of tensors"):
        netadapt.prune(task.model, [1, 2], budget="90%", train=task.train, evaluate=task.evaluate,
                       out=tmp_path / "run", device="fake")
    with pytest.raises(UserError, match="belongs to netadapt's own classification task"):
        _prune(usertasks.tagger_task(), tmp_path / "run", data="digits")
    with pytest.raises(UserError, match="unknown option 'chanel_step'"):
        _prune(usertasks.tagger_task(), tmp_path / "run", chanel_step=4)
    with pytest.raises(UserError, match="criterion 'taylor' needs gradients"):
        _prune(usertasks.tagger_task(), tmp_path / "run", criterion="taylor")
    assert not (tmp_path / "run").exists()


def test_deploy_decides_what_is_exported_and_ignore_what_is_never_cut(tmp_path):
    from torch import nn

    class WithDecoding(nn.Module):
        """A trained two-head model plus a post-processing step the device does not run."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, image, vector):
            logits, boxes = self.inner(image, vector)
            return logits.softmax(1), boxes.sigmoid()

    inner = usertasks.two_heads_task()
    task = netadapt.Task(WithDecoding(inner.model), inner.example_inputs,
                         lambda model, steps: usertasks.train_two_heads(model.inner, steps),
                         lambda model: usertasks.evaluate_two_heads(model.inner),
                         deploy=lambda model: model.inner, ignore=["inner.stem"])
    result = _prune(task, tmp_path / "run", max_iterations=1)
    import onnx

    ops = {n.op_type for n in onnx.load(str(result.iterations[1].onnx)).graph.node}
    assert "Softmax" not in ops and "Sigmoid" not in ops
    frozen = json.loads((tmp_path / "run" / "iter_000" / "info.json").read_text())["frozen_groups"]
    assert "inner.stem.0" in frozen and "ignores" in frozen["inner.stem.0"]
    assert result.iterations[1].pruned_group == "inner.body.0"


def test_load_rebuilds_a_pruned_model_from_a_fresh_instance_in_a_new_process(tmp_path):
    result = _prune(usertasks.tagger_task(), tmp_path / "run", budget="85%")
    tokens = usertasks.TOKENS[:4]
    with torch.no_grad():
        expected = result.model(tokens)["tags"]
    torch.save(expected, tmp_path / "expected.pt")
    script = ("import sys, torch, netadapt, usertasks\n"
              f"model = netadapt.load({str(tmp_path / 'run')!r}, usertasks.Tagger())\n"
              "got = model(usertasks.TOKENS[:4])['tags']\n"
              f"assert torch.allclose(got, torch.load({str(tmp_path / 'expected.pt')!r}), atol=1e-6)\n"
              f"first = netadapt.load({str(tmp_path / 'run')!r}, usertasks.Tagger(), iteration=1)\n"
              "print(first.conv1.out_channels, model.conv1.out_channels)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=TESTS,
                          env={**__import__("os").environ, "PYTHONPATH": str(TESTS)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(result.iterations[1].channels["conv1"]), str(result.model.conv1.out_channels)]
    with pytest.raises(UserError, match="not the one .* started from"):
        netadapt.load(tmp_path / "run", usertasks.TwoHeads())
    with pytest.raises(UserError, match="netadapt.prune"):
        from netadapt.checkpoint import load_checkpoint

        load_checkpoint(tmp_path / "run" / "final" / "model.pt")


def test_a_task_that_cannot_reach_worker_processes_is_refused_naming_the_part(tmp_path):
    task = usertasks.tagger_task()
    task.loss, task.batches = (lambda model, batch: model(batch)["tags"].sum()), (t for t in [usertasks.TOKENS])
    with pytest.raises(UserError, match="cannot be sent to worker processes .*batches"):
        _prune(task, tmp_path / "run", workers=2)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_task_defined_in_main_runs_on_two_workers_to_the_same_result(tmp_path):
    """Functions defined in a script's __main__ reach spawned workers by value (cloudpickle); a script that does
    its work outside ``if __name__ == "__main__":`` is stopped with one line instead of hanging."""
    import shutil

    shutil.copy(TESTS / "usertasks.py", tmp_path)  # beside the script: tests/ on the path would shadow packages
    body = ("import json, sys, torch, netadapt, usertasks\n"
            "def train(model, steps):\n"
            "    usertasks.train_tagger(model, steps)\n"
            "def evaluate(model):\n"
            "    return usertasks.evaluate_tagger(model)['score']\n"
            "def main():\n"
            "    task = usertasks.tagger_task()\n"
            "    result = netadapt.prune(task.model, task.example_inputs, budget='85%', train=train, evaluate=evaluate,\n"
            "                            out=sys.argv[1], device='fake', short_term_steps=2, long_term_steps=2,\n"
            "                            lut=sys.argv[1] + '.db', warmup=0, repeats=1, model_repeats=1,\n"
            "                            workers=int(sys.argv[2]), progress=False, log=lambda *_: None)\n"
            "    print(json.dumps([[r.channels, r.score] for r in result.iterations] + [result.score]))\n")
    (tmp_path / "mine.py").write_text(body + "if __name__ == '__main__':\n    main()\n")
    outputs = []
    for workers in (1, 2):
        done = subprocess.run([sys.executable, str(tmp_path / "mine.py"), str(tmp_path / f"run{workers}"),
                               str(workers)], capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1] and len(outputs[0]) >= 3
    (tmp_path / "unguarded.py").write_text(body + "main()\n")
    done = subprocess.run([sys.executable, str(tmp_path / "unguarded.py"), str(tmp_path / "run3"), "2"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "if __name__ == '__main__':" in done.stderr.strip().splitlines()[-1]


def test_verbose_says_where_each_iterations_time_went_and_the_summary_keeps_it(tmp_path):
    said = []
    _prune(usertasks.tagger_task(), tmp_path / "run", budget="85%", verbose=True, log=said.append)
    lines = [s for s in said if " took " in s]
    assert lines and all("search" in s and "fine-tune" in s and "score" in s and "measure" in s for s in lines)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for row in summary["seconds"]:
        parts = row["search"] + row["finetune"] + row["score"] + row["measure"]
        assert row["wall"] > 0 and parts == pytest.approx(row["wall"], rel=1e-6)
