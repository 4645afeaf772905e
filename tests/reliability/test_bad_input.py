"""Bad input ends with one clear line on stderr, exit status 2, no traceback, and loses nothing.

The CLI runs in this process (``netadapt.cli.main``) so the matrix stays fast; Python warnings count as
stderr lines. Before and after every case, a filled table and a finished run folder must be unchanged.
"""

import os
import pickle

import pytest
import torch

from devices.fake import FakeDevice
from lut.stats import Stats
from lut.table import LatencyTable
from netadapt.checkpoint import save_checkpoint
from netadapt.models.spec import ModelSpec
from nodekeys import conv_key
from reliability_helpers import (MODEL, assert_one_error_line, file_digest, folder_digest, invoke,
                                 python_path, table_rows)
from usermodels import ResidualDepthwiseNet

SMALL_RUN = ["run", "--model", MODEL, "--model-args", '{"width": 16}',
             "--data", "synthetic:classes=3,size=16,n=60,channels=1,test=30", "--holdout", "30",
             "--device", "fake", "--base-epochs", "1", "--short-term-steps", "1", "--long-term-epochs", "0",
             "--batch-size", "32", "--warmup", "0", "--repeats", "1", "--model-repeats", "1", "--batch", "1",
             "--no-progress"]
SMALL_PROFILE = ["profile", "--device", "fake", "--model", MODEL, "--input-shape", "1x3x16x16",
                 "--warmup", "0", "--repeats", "1", "--no-progress"]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class _Marker:
    """Unpickling this would create a file: proof that a checkpoint was executed."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A filled table, a finished run folder, checkpoints good and evil, and broken table files."""
    root = tmp_path_factory.mktemp("world")
    w = {"root": root, "lut": root / "lut.db", "marker": root / "EXECUTED"}
    with LatencyTable(w["lut"]) as table:
        for threads in (1, 2):  # the fake device with 2 threads has another fingerprint
            table.record_many(FakeDevice(threads), [
                (conv_key(c, o, kernel=5), Stats.constant(0.01 * c * o))
                for c in range(1, 40) for o in range(1, 30)])
    torch.manual_seed(0)
    net = ResidualDepthwiseNet(num_classes=3, in_channels=1, width=16)
    spec = ModelSpec(MODEL, {"num_classes": 3, "in_channels": 1, "width": 16})
    w["ckpt"] = save_checkpoint(root / "model.pt", net, spec, (1, 1, 16, 16))
    w["pickle"] = root / "plain.pkl"
    w["pickle"].write_bytes(pickle.dumps({"state_dict": _Marker(w["marker"])}))
    w["torch_pickle"] = root / "evil.pt"
    torch.save({"format": "netadapt-checkpoint/1", "x": _Marker(w["marker"])}, w["torch_pickle"])
    w["junk"] = root / "junk.pt"
    w["junk"].write_bytes(b"not a checkpoint\n" * 10)
    w["empty_images"] = root / "images"
    w["empty_images"].mkdir()
    w["a_file"] = root / "a_file"
    w["a_file"].write_text("a regular file, so nothing can be created beneath it\n")
    w["notdb"] = root / "notdb.db"
    w["notdb"].write_text("hello, I am a text file\n")
    w["corrupt"] = root / "corrupt.db"
    with LatencyTable(w["corrupt"]) as table:
        table.record_many(FakeDevice(), [(conv_key(c, o, hw=16, kernel=1), Stats.constant(0.1))
                                         for c in range(1, 60) for o in range(1, 40)])
    size = w["corrupt"].stat().st_size
    with open(w["corrupt"], "r+b") as f:  # keep the header page, scramble the rest
        f.seek(4096)
        f.write(bytes((i * 97 + 13) % 256 for i in range(size - 4096)))
    # a finished run folder (iteration 0 and the final model)
    w["run"] = root / "finished_run"
    from netadapt.cli import main

    old = os.environ.get("NETADAPT_LUT")
    os.environ["NETADAPT_LUT"] = str(w["lut"])
    try:
        with pytest.raises(SystemExit) as done:
            main([*SMALL_RUN, "--budget", "99%", "--checkpoint", str(w["ckpt"]), "--max-iterations", "0",
                  "--out", str(w["run"])])
        assert done.value.code == 0
    finally:
        os.environ.pop("NETADAPT_LUT") if old is None else os.environ.__setitem__("NETADAPT_LUT", old)
    assert (w["run"] / "final" / "info.json").exists()
    return w


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path, world):
    monkeypatch.setenv("NETADAPT_LUT", str(world["lut"]))
    monkeypatch.syspath_prepend(str(python_path(tmp_path)))


def _snapshot(w):
    return {"rows": sorted(table_rows(w["lut"])), "run": folder_digest(w["run"]),
            "notdb": file_digest(w["notdb"]), "corrupt": file_digest(w["corrupt"])}


def _check(argv, capsys, world, *needles):
    before = _snapshot(world)
    code, _out, lines = invoke(argv, capsys)
    assert_one_error_line(code, lines, *needles)
    after = _snapshot(world)
    # existing rows unchanged (a run may only add rows for its own device), run folder and bad files untouched
    assert set(before["rows"]) <= set(after["rows"])
    assert before["run"] == after["run"] and before["notdb"] == after["notdb"]
    assert before["corrupt"] == after["corrupt"]
    assert not world["marker"].exists()
    return lines[0]


# ---- run ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget,needle", [("20", "add a unit"), ("-5ms", "greater than zero"),
                                           ("0ms", "greater than zero"), ("abc", "not a latency"),
                                           ("150%", "below 100%"), ("", "not a latency"),
                                           ("1e999ms", "finite"), ("5e-324us", "out of range")])
def test_bad_budgets(budget, needle, capsys, world, tmp_path):
    _check([*SMALL_RUN, "--budget", budget, "--out", str(tmp_path / "r")], capsys, world, needle)
    assert not (tmp_path / "r").exists()  # refused before anything is created
    # against the finished run folder too: it stays as it was
    _check([*SMALL_RUN, "--budget", budget, "--out", str(world["run"])], capsys, world, needle)


def test_budget_below_the_smallest_network_says_how_low_it_can_go(capsys, world, tmp_path):
    # the smallest network is built and measured before the budget is refused: the line says what it measures
    line = _check([*SMALL_RUN, "--budget", "1us", "--checkpoint", str(world["ckpt"]),
                   "--out", str(tmp_path / "r")], capsys, world, "below what the smallest network", "it measures")
    lowest = float(line.split("it measures ")[1].split()[0])
    estimated = float(line.split("estimated ")[1].split()[0])
    assert lowest > 0.001 and estimated > 0.001
    # a budget just above that floor is accepted by the same check (the run then starts)
    assert not list((tmp_path / "r").glob("iter_00[1-9]"))


@pytest.mark.parametrize("case", ["missing", "directory_parent", "unreadable", "other_architecture",
                                  "plain_pickle", "torch_pickle", "junk"])
def test_bad_checkpoints(case, capsys, world, tmp_path):
    extra, needle = [], ""
    if case == "missing":
        path, needle = tmp_path / "nope.pt", "does not exist"
    elif case == "directory_parent":
        path, needle = world["a_file"] / "model.pt", "does not exist"
    elif case == "unreadable":
        if IS_ROOT:
            pytest.skip("running as root: chmod 000 does not stop root from reading")
        path = tmp_path / "locked.pt"
        path.write_bytes(world["ckpt"].read_bytes())
        path.chmod(0)
        needle = "not readable"
    elif case == "other_architecture":
        path, extra, needle = world["ckpt"], ["--model", "mobilenet_v1"], "is for model"
    elif case == "plain_pickle":
        path, needle = world["pickle"], "never executed"
    elif case == "torch_pickle":
        path, needle = world["torch_pickle"], "arbitrary python objects"
    else:
        path, needle = world["junk"], "not a file written by torch.save"
    _check([*SMALL_RUN, *extra, "--budget", "50%", "--checkpoint", str(path), "--out", str(tmp_path / "r")],
           capsys, world, needle)
    if case != "other_architecture":  # profile takes the checkpoint's architecture: --model is not asked
        _check(["profile", "--device", "fake", "--checkpoint", str(path), "--no-progress"], capsys, world, needle)


@pytest.mark.parametrize("option,value,needle", [
    ("--model", "no_such_model", "unknown model"),
    ("--model", "no_such_module:factory", "no_such_module"),
    ("--criterion", "no_such_criterion", "unknown criterion"),
    ("--rewinder", "no_such_rewinder", "unknown rewinder"),
    ("--device", "no_such_device", "unknown device"),
    ("--data", "no_such_source", "unknown data source"),
    ("--data", "imagefolder:{empty}", "imagefolder"),
    ("--data", "imagefolder:{empty}/missing", "imagefolder"),
    ("--model-args", "[1, 2]", "JSON object"),
    ("--model-args", "{not json", "not JSON"),
    ("--train-device", "gpu", "unknown training device 'gpu'"),
    pytest.param("--train-device", "cuda", "sees no CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this PyTorch sees a GPU")),
])
def test_unknown_names(option, value, needle, capsys, world, tmp_path):
    value = value.replace("{empty}", str(world["empty_images"]))
    args = [*SMALL_RUN, "--budget", "99%", "--out", str(tmp_path / "r"), option, value]
    if option in ("--criterion", "--rewinder"):  # skip base training: these are checked after it
        args += ["--checkpoint", str(world["ckpt"])]
    _check(args, capsys, world, needle)


@pytest.mark.parametrize("command", ["train", "amc"])
def test_training_device_names_are_checked_by_train_and_amc(command, capsys, world, tmp_path):
    data = ["--data", "synthetic:classes=3,size=16,n=60,channels=1,test=30"]
    args = (["train", *data, "--out", str(tmp_path / "t")] if command == "train" else
            ["amc", "--checkpoint", str(world["ckpt"]), *data, "--device", "fake", "--budget", "50%",
             "--out", str(tmp_path / "a"), "--no-progress"])
    _check([*args, "--train-device", "cuda:x"], capsys, world, "unknown training device 'cuda:x'")
    assert not (tmp_path / "t").exists() and not (tmp_path / "a" / "config.json").exists()


def test_a_folder_left_by_a_refused_run_takes_corrected_settings(capsys, world, tmp_path):
    out = tmp_path / "r"
    _check([*SMALL_RUN, "--budget", "50%", "--out", str(out), "--data", "no_such_source"], capsys, world,
           "unknown data source")
    # the same folder with the mistake corrected is not refused as "other settings"
    code, _out, lines = invoke([*SMALL_RUN, "--budget", "50%", "--out", str(out), "--model", "no_such_model"],
                               capsys)
    assert_one_error_line(code, lines, "unknown model")


def test_unwritable_output_folder(capsys, world, tmp_path):
    _check([*SMALL_RUN, "--budget", "50%", "--checkpoint", str(world["ckpt"]),
            "--out", str(world["a_file"] / "run")], capsys, world, "cannot write to output folder")
    if IS_ROOT:
        return  # chmod does not stop root; the path under a regular file above covers it
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    _check([*SMALL_RUN, "--budget", "50%", "--checkpoint", str(world["ckpt"]),
            "--out", str(locked / "run")], capsys, world, "cannot write to output folder")


# ---- profile and the table ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["1x3x32", "axb", "0x3x32x32", "", "1x3x32x32x1", "1x3x999999x3",
                                   "-1x3x32x32", "1x3x32x" + "9" * 5000, "1.5x3x32x32", "1 3 32 32"])
def test_malformed_input_shapes(shape, capsys, world):
    _check([*SMALL_PROFILE[:5], "--input-shape", shape, "--no-progress"], capsys, world, "input shape")


@pytest.mark.parametrize("lut,needle", [
    ("{notdb}", "not a SQLite database"),
    ("{corrupt}", "corrupt"),
    ("{a_file}/lut.db", "cannot create the folder"),
    ("{root}", "is a directory"),
    ("sqlite:///{a_file}/lut.db", "cannot open lookup table"),
    ("nosuchdb://host/x", "cannot open lookup table"),
])
def test_bad_tables(lut, needle, capsys, world):
    lut = lut.format(**{k: v for k, v in world.items()})
    _check([*SMALL_PROFILE, "--lut", lut], capsys, world, needle)
    _check(["lut", "stats", "--lut", lut], capsys, world, needle) if "corrupt" not in lut else None
    _check(["lut", "show", "--lut", lut], capsys, world, needle)
    _check([*SMALL_RUN, "--budget", "50%", "--checkpoint", str(world["ckpt"]), "--lut", lut,
            "--out", str(world["root"] / "never")], capsys, world, needle)


@pytest.mark.parametrize("args,needle", [
    (["--model", "no_such_model"], "unknown model"),
    (["--device", "no_such_device"], "unknown device"),
    (["--model", "no_such_module:factory", "--input-shape", "1x3x8x8"], "no_such_module"),
    (["--model", MODEL], "--input-shape is required"),
    (["--model", MODEL, "--input-shape", "1x1x16x16"], "does not run on input shape 1x1x16x16"),
])
def test_profile_unknown_names(args, needle, capsys, world):
    _check(["profile", "--device", "fake", "--no-progress", *args], capsys, world, needle)


# ---- rows of another device are neither used nor changed --------------------------------------------

def test_absent_device_id_shows_no_rows(capsys, world):
    before = sorted(table_rows(world["lut"]))
    code, out, lines = invoke(["lut", "show", "--device-id", "99", "--lut", str(world["lut"])], capsys)
    assert (code, lines) == (0, []) and "No rows." in out
    assert sorted(table_rows(world["lut"])) == before


def test_rows_of_another_fingerprint_are_neither_used_nor_changed(capsys, world, tmp_path):
    """A table filled on another device (the fake device at 2 threads has another fingerprint).

    Its rows are made 1000 times slower than the fake profiler's, so using them would show in the table
    estimate of iteration 0, which must equal that of a run on an empty table.
    """
    import json
    import sqlite3

    lut = tmp_path / "other.db"
    code, out, lines = invoke(["profile", "--device", "fake", "--threads", "2", "--checkpoint", str(world["ckpt"]),
                               "--no-progress", "--scope", "grid", "--lut", str(lut)], capsys)
    assert code == 0, lines
    with sqlite3.connect(lut) as conn:
        conn.execute("UPDATE node_measurements SET median_ms = median_ms * 1000, mean_ms = mean_ms * 1000")
    other = FakeDevice(2).fingerprint_id()
    before = sorted(table_rows(lut))
    assert before and {r[0] for r in before} == {other}

    code, out, lines = invoke(["profile", "--device", "fake", "--checkpoint", str(world["ckpt"]), "--no-progress",
                               "--scope", "grid", "--lut", str(lut)], capsys)
    assert code == 0, lines
    assert ", 0 already stored;" in out  # nothing of the other device counts as measured here
    code, _out, lines = invoke([*SMALL_RUN, "--budget", "99%", "--checkpoint", str(world["ckpt"]),
                                "--max-iterations", "0", "--lut", str(lut), "--out", str(tmp_path / "r")], capsys)
    assert code == 0, lines
    code, _out, lines = invoke([*SMALL_RUN, "--budget", "99%", "--checkpoint", str(world["ckpt"]),
                                "--max-iterations", "0", "--lut", str(tmp_path / "fresh.db"),
                                "--out", str(tmp_path / "ref")], capsys)
    assert code == 0, lines
    info, ref = (json.loads((tmp_path / run / "iter_000" / "info.json").read_text()) for run in ("r", "ref"))
    assert info["table_ms"] == pytest.approx(ref["table_ms"], rel=1e-9)  # as if the table had been empty
    assert info["table_ms"] < 2 * info["measured_ms"]
    after = table_rows(lut)
    assert sorted(r for r in after if r[0] == other) == before  # the other device's rows: unchanged
    assert len(after) > len(before)



# ---- refused before any work: the model runs on the data's shape, plug-in names, no folder on refusal ----

def test_checkpoint_whose_input_channels_do_not_match_the_data(capsys, world, tmp_path):
    three = tmp_path / "three_channels.pt"
    save_checkpoint(three, ResidualDepthwiseNet(num_classes=3, in_channels=3, width=16),
                    ModelSpec(MODEL, {"num_classes": 3, "in_channels": 3, "width": 16}), (1, 3, 16, 16))
    _check([*SMALL_RUN, "--budget", "50%", "--checkpoint", str(three), "--out", str(tmp_path / "r")], capsys,
           world, "does not run on input shape")


def test_unknown_rewinder_is_refused_before_any_work(capsys, world, tmp_path):
    _check([*SMALL_RUN, "--budget", "99%", "--rewinder", "no_such_rewinder", "--out", str(tmp_path / "r")],
           capsys, world, "unknown rewinder")
    assert not (tmp_path / "r" / "base").exists()


def test_a_refused_run_creates_no_folder(capsys, world, tmp_path):
    _check([*SMALL_RUN, "--budget", "50%", "--data", "no_such_source", "--out", str(tmp_path / "r")], capsys,
           world, "unknown data source")
    assert not (tmp_path / "r").exists()


def test_profile_refuses_model_and_checkpoint_together(tmp_path):
    from click.testing import CliRunner

    from netadapt.cli import cli

    result = CliRunner().invoke(cli, ["profile", "--device", "fake", "--model", "resnet20", "--checkpoint",
                                      str(tmp_path / "x.pt"), "--lut", str(tmp_path / "t.db")])
    assert result.exit_code != 0
    assert "not both" in str(result.exception)


@pytest.mark.parametrize("command", ["run", "profile", "lut check", "lut retake", "amc", "sensitivity"])
def test_a_device_that_cannot_run_here_is_one_line(command, capsys, world, tmp_path, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    ckpt, data = str(world["ckpt"]), "synthetic:classes=3,size=16,n=60,channels=1,test=30"
    argv = {
        "run": [*SMALL_RUN, "--budget", "50%", "--checkpoint", ckpt, "--out", str(tmp_path / "r")],
        "profile": SMALL_PROFILE,
        "lut check": ["lut", "check", "--checkpoint", ckpt, "--input-shape", "1x1x16x16", "--no-layers"],
        "lut retake": ["lut", "retake", "--dry-run"],
        "amc": ["amc", "--checkpoint", ckpt, "--data", data, "--budget", "50%", "--out", str(tmp_path / "a"),
                "--no-progress"],
        "sensitivity": ["sensitivity", "--checkpoint", ckpt, "--data", data, "--target-latency", "50%",
                        "--out", str(tmp_path / "s")],
    }[command]
    if "--device" in argv:
        argv[argv.index("--device") + 1] = "cuda"
    else:
        argv += ["--device", "cuda"]
    _check(argv, capsys, world, "device 'cuda' is not available here: CUDAExecutionProvider")
    assert not (tmp_path / "s").exists()  # the sensitivity scan did not start
