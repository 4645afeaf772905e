"""Benchmark: the real YOLOv8n of the ``ultralytics`` package, pruned by ``netadapt.prune`` against its
latency measured with ONNX Runtime on this CPU.

What it does:

1. Builds YOLOv8n from the model yaml shipped inside ultralytics (``DetectionModel("yolov8n.yaml", nc=10,
   ch=3)``, random weights: nothing is downloaded) for the 10 digit classes.
2. Trains it from scratch for --base-seconds on netadapt's digit canvases (``netadapt.tasks.detection``:
   handwritten scikit-learn digits pasted on dark canvases, grey, repeated to 3 channels, --image-size
   pixels, a multiple of 32) with ultralytics' own loss, ``v8DetectionLoss`` (box/cls/dfl gains from
   ultralytics' default.yaml, attached as ``model.args`` the way its trainer does; batches as
   ``{"batch_idx", "cls", "bboxes" (normalised xywh)}``), AdamW and ultralytics' ``ModelEMA``. The EMA
   state dict is saved to bench/out/yolov8n-base-<size>px.pt, and a later run reuses it (--retrain: train
   again).
3. Prunes it with ``netadapt.prune(..., device="cpu")`` to --budget of its starting latency at batch 1,
   and prints the start latency, the budget, the final measured latency with its interval, whether the
   budget is met, mAP@0.5:0.95 and mAP@0.5 before and after, the iterations, the wall time, and which
   channel groups netadapt found prunable and which it froze, with the reasons.

What netadapt prunes, exports and times (``--target wrapped``, the default) is ``RawYolo``: the
DetectionModel's own layers, run by the same routing as its ``_predict_once``, returning the Detect head's
per-level maps ``torch.cat((cv2[i](x), cv3[i](x)), 1)`` (64 box-distribution channels + 10 class logits per
level): the network as a device runs it, without ultralytics' DFL decoding, anchors and NMS. ``train`` and
``evaluate`` call the inner DetectionModel (``wrapper.det``) itself: its training-mode dict for
``v8DetectionLoss``, its eval-mode decoded boxes for ultralytics' ``non_max_suppression``; ``deploy`` is not
needed (the wrapper is already the deployed form). ``--target detection-model`` instead hands netadapt the
DetectionModel itself with ``deploy=RawYolo``: its training-mode outputs (a dict of raw maps) differ from its
eval-mode ones (decoded boxes and the neck's features), and each mode is checked on its own; the three groups
whose channels are the neck features it returns are frozen there.
``ignore`` names the Detect head's last convolutions (box distributions, class logits) and the DFL conv.

ultralytics is kept offline: YOLO_OFFLINE=1 (its ``is_online()`` then skips the DNS probes it otherwise
makes at import), YOLO_AUTOINSTALL=0, settings in bench/out/ultralytics/ (YOLO_CONFIG_DIR) with sync and
every logger integration off, and no plotting (no font downloads). A socket guard installed before any
import refuses every IPv4/IPv6 connect and name lookup and counts the attempts; the count is printed.

The venv (beside the repository; ultralytics needs torchvision, which the project's torch 2.13 lacks), made
from the repository root:

    python3 -m venv ../venvs/yolo
    ../venvs/yolo/bin/pip install torch==2.14.1 torchvision==0.29.1
    ../venvs/yolo/bin/pip install ultralytics            # keeps torch 2.14.1
    ../venvs/yolo/bin/pip install -e .                   # netadapt and its dependencies

Run (from the repository root; about 15 min of base training the first time, then the pruning run):

    ../venvs/yolo/bin/python bench/yolov8n.py
    ../venvs/yolo/bin/python bench/yolov8n.py --base-seconds 60 --budget 90% --max-iterations 1 \\
        --short-term-steps 2 --long-term-steps 5 --holdout 32 --run-name smoke      # smoke run (minutes)
    ../venvs/yolo/bin/python bench/yolov8n.py --analyse-only    # the channel groups, no training

What to expect at 96 px (2 CPU cores, one torch thread): the base model reaches mAP@0.5:0.95 ~0.92 in 15 min
and detects everything on the stride-8 level (the P4/P5 class maps stay near zero); batch-1 latency is ~2.6-3.1
ms, a large part of it fixed per-operator cost, so at a 5% step only 1-3 groups can meet an iteration's target
alone, and NetAdapt must take deep single-group cuts, some on the P3 path that the short-term fine-tune cannot
repair; the long-term fine-tune recovers most of it. The pruning run takes ~20 min.

Results: bench/out/yolov8n-run[-<name>]/ (netadapt's run folder), bench/out/yolov8n-lut.db (the latency
table), bench/out/yolov8n-<run>.json (what is printed, as JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

# ---- network guard: installed before anything imports ultralytics ---------------------------------------------
NETWORK_ATTEMPTS: list[str] = []


def install_socket_guard() -> None:
    """Refuse (and record) every IPv4/IPv6 connection and every name lookup of this process."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(what, args):
        NETWORK_ATTEMPTS.append(f"{what}{args!r}"[:200])
        raise OSError(f"bench/yolov8n.py refuses network access: {what}{args!r}"[:300])

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse("connect", (address,))
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse("connect_ex", (address,))
        return real_connect_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo = lambda *a, **k: refuse("getaddrinfo", a)
    socket.gethostbyname = lambda *a, **k: refuse("gethostbyname", a)
    socket.create_connection = lambda *a, **k: refuse("create_connection", a)


def ultralytics_offline(config_dir: Path) -> dict:
    """Environment and settings that keep ultralytics from the network; call before importing it."""
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"  # utils.is_online() -> False: no DNS probes, no events, no Sentry
    os.environ["YOLO_AUTOINSTALL"] = "0"  # check_requirements never pip-installs
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)  # its settings.json here, not in ~/.config
    os.environ.setdefault("YOLO_VERBOSE", "0")
    from ultralytics.utils import ONLINE, SETTINGS

    SETTINGS.update(sync=False, clearml=False, comet=False, dvc=False, mlflow=False, raytune=False,
                    tensorboard=False, wandb=False, vscode_msg=False, openvino_msg=False)
    return {"ONLINE": ONLINE, "sync": SETTINGS["sync"], "settings_file": str(SETTINGS.file)}


# ---- the network netadapt prunes, exports and times --------------------------------------------------------------
def make_wrapper_class():
    import torch
    from torch import nn

    class RawYolo(nn.Module):
        """A ultralytics DetectionModel up to its Detect head's raw per-level maps (box distributions and
        class logits, ``cat((cv2[i], cv3[i]), 1)``), without DFL decoding, anchors and NMS."""

        def __init__(self, det):
            super().__init__()
            self.det = det

        def forward(self, x):
            det = self.det
            y = []
            for m in det.model[:-1]:  # DetectionModel._predict_once's routing
                if m.f != -1:
                    x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
                x = m(x)
                y.append(x if m.i in det.save else None)
            head = det.model[-1]
            feats = [x if j == -1 else y[j] for j in head.f]
            return tuple(torch.cat((head.cv2[i](feats[i]), head.cv3[i](feats[i])), 1) for i in range(head.nl))

    return RawYolo


def head_names(prefix: str) -> list[str]:
    """The Detect head's (model.22) convolutions whose channels carry meaning."""
    return ([f"{prefix}model.22.cv2.{i}.2" for i in range(3)] + [f"{prefix}model.22.cv3.{i}.2" for i in range(3)]
            + [f"{prefix}model.22.dfl.conv"])


# ---- data in ultralytics' format ---------------------------------------------------------------------------------
def to_ultralytics(images, targets, size: int):
    """netadapt's canvas batch -> (images (N, 3, H, W), ultralytics' batch dict with normalised xywh boxes)."""
    import torch

    idx, cls, boxes = [], [], []
    for i, t in enumerate(targets):
        b = t["boxes"]
        idx.append(torch.full((len(b),), float(i)))
        cls.append(t["labels"].float().view(-1, 1))
        xywh = torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
        boxes.append(xywh / size)
    images = images.expand(-1, 3, -1, -1).contiguous() if images.shape[1] == 1 else images
    return images, {"batch_idx": torch.cat(idx), "cls": torch.cat(cls), "bboxes": torch.cat(boxes)}


class YoloDigits:
    """The user side of the task: the data, the loss, ``train``, ``evaluate``."""

    def __init__(self, args):
        import torch
        from netadapt.tasks.detection.data import collate, make_splits

        self.args = args
        self.size = args.image_size
        splits = make_splits(args.seed, sizes=(1_000_000, args.holdout, 0), image_size=self.size, channels=1)
        self.train_set = splits["train"]
        items = [splits["holdout"][i] for i in range(args.holdout)]  # rendered once
        self.holdout = [collate(items[s:s + 32]) for s in range(0, len(items), 32)]
        self.collate = collate
        self.hyp = None
        torch.manual_seed(args.seed)

    def attach_hyp(self, det):
        """``model.args`` as ultralytics' DetectionTrainer sets it (default.yaml: box 7.5, cls 0.5, dfl 1.5)."""
        from ultralytics.cfg import get_cfg

        if self.hyp is None:
            self.hyp = get_cfg()
        det.args = self.hyp

    def batch(self, n: int, generator=None):
        import torch

        index = torch.randint(len(self.train_set), (n,), generator=generator).tolist()
        images, targets = self.collate([self.train_set[i] for i in index])
        return to_ultralytics(images, targets, self.size)

    def loss(self, det, criterion, images, batch):
        """ultralytics' trainer: ``loss.sum()`` of (box, cls, dfl) x batch size."""
        preds = det(images)
        loss, items = criterion(preds, batch)
        return loss.sum(), items

    def fit(self, det, *, steps: int | None, seconds: float | None, lr: float, batch_size: int, optimizer: str,
            warmup: int = 0, ema=None, log=None, every: int = 100) -> dict:
        """Train ``det`` in place: ``steps`` steps, or for ``seconds`` (lr schedule over the time); gradients
        clipped to norm 10 as ultralytics' trainer does."""
        import torch
        from ultralytics.utils.loss import v8DetectionLoss

        self.attach_hyp(det)
        criterion = v8DetectionLoss(det)
        decay, no_decay = [], []
        for p in det.parameters():
            if p.requires_grad:
                (decay if p.ndim > 1 else no_decay).append(p)
        groups = [{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}]
        if optimizer == "sgd":
            opt = torch.optim.SGD(groups, lr=lr, momentum=0.937, nesterov=True)
        else:
            opt = torch.optim.AdamW(groups, lr=lr, betas=(0.937, 0.999))
        det.train()
        start, step, recent, n_recent, last = time.perf_counter(), 0, 0.0, 0, {}
        while True:
            elapsed = time.perf_counter() - start
            if (steps is not None and step >= steps) or (seconds is not None and elapsed >= seconds):
                break
            progress = elapsed / seconds if seconds else step / max(1, steps or 1)
            factor = min(1.0, (step + 1) / warmup) if warmup else 1.0
            if seconds:  # cosine over the time limit, to 5% of the peak
                factor *= 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
            for g in opt.param_groups:
                g["lr"] = lr * factor
            images, batch = self.batch(batch_size)
            loss, items = self.loss(det, criterion, images, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(det.parameters(), max_norm=10.0)
            opt.step()
            if ema is not None:
                ema.update(det)
            step += 1
            recent += loss.item() / batch_size
            n_recent += 1
            last = {k: float(v) for k, v in items.items()}
            if log and step % every == 0:
                log(f"  step {step:5d}  {time.perf_counter() - start:7.1f} s  loss/img {recent / n_recent:.3f}  "
                    + "  ".join(f"{k} {v:.3f}" for k, v in last.items()))
                recent, n_recent = 0.0, 0
        return {"steps": step, "seconds": time.perf_counter() - start, "last": last}

    # ---- what netadapt calls ------------------------------------------------------------------------------
    def train(self, model, steps, teacher=None):
        """``steps`` SGD steps of ultralytics' loss on the inner DetectionModel (fine-tuning; ``teacher``
        accepted and not used)."""
        self.fit(model.det, steps=int(steps), seconds=None, lr=self.args.finetune_lr,
                 batch_size=self.args.finetune_batch, optimizer="sgd")
        model.eval()

    def evaluate(self, model):
        """mAP@0.5:0.95 ("score") and mAP@0.5 on the held-out canvases: the DetectionModel's eval-mode output,
        ultralytics' non_max_suppression (its validator's conf 0.001, IoU 0.7), netadapt's COCO mAP."""
        import torch
        from netadapt.tasks.detection.metrics import mean_average_precision

        try:
            from ultralytics.utils.nms import non_max_suppression
        except ImportError:  # older ultralytics
            from ultralytics.utils.ops import non_max_suppression

        det = getattr(model, "det", model)
        was = det.training
        det.eval()
        predictions, targets = [], []
        with torch.no_grad():
            for images, truth in self.holdout:
                y, _ = det(images.expand(-1, 3, -1, -1))
                for p in non_max_suppression(y, conf_thres=0.001, iou_thres=0.7, multi_label=True, max_det=100):
                    predictions.append({"boxes": p[:, :4], "scores": p[:, 4], "labels": p[:, 5].long()})
                targets.extend(truth)
        det.train(was)
        scores = mean_average_precision(predictions, targets)
        return {"score": scores["map"], "map50": scores["map50"]}


def base_model(task: YoloDigits, args, log):
    """YOLOv8n from the package's yaml, trained (or loaded from bench/out)."""
    import torch
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils.torch_utils import ModelEMA

    torch.manual_seed(args.seed)
    det = DetectionModel("yolov8n.yaml", nc=10, ch=3, verbose=False)
    path = OUT / f"yolov8n-base-{args.image_size}px.pt"
    info_path = path.with_suffix(".json")
    if path.exists() and not args.retrain:
        det.load_state_dict(torch.load(path, map_location="cpu"))
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        log(f"Loaded the trained YOLOv8n from {path} ({info.get('steps', '?')} steps, "
            f"{info.get('seconds', float('nan')):.0f} s of training)")
        return det.eval(), info
    log(f"Training YOLOv8n from scratch for {args.base_seconds:.0f} s (batch {args.batch_size}, AdamW lr "
        f"{args.base_lr}, cosine over the time, ModelEMA) ...")
    ema = ModelEMA(det)
    result = task.fit(det, steps=None, seconds=args.base_seconds, lr=args.base_lr, batch_size=args.batch_size,
                      optimizer="adamw", warmup=args.warmup, ema=ema, log=log, every=100)
    trained = ema.ema.eval()
    for p in trained.parameters():
        p.requires_grad_(True)
    trained.model[-1].dfl.conv.weight.requires_grad_(False)  # as built: the DFL conv is fixed
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(trained.state_dict(), path)
    info = {"steps": result["steps"], "seconds": result["seconds"], "image_size": args.image_size,
            "batch_size": args.batch_size, "lr": args.base_lr}
    info_path.write_text(json.dumps(info, indent=1))
    log(f"Trained {result['steps']} steps in {result['seconds']:.0f} s; saved {path}")
    det.load_state_dict(trained.state_dict())
    return det.eval(), info


def output_groups(model, shape) -> list[str]:
    """Roots of the channel groups that netadapt leaves out because they feed the network's outputs."""
    from netadapt.inputs import normalized
    from netadapt.pruning.dependency import all_groups, build_graph, execution_order, item_name, touches_output

    shape = normalized(shape)
    _, outputs = execution_order(model, shape)
    dg = build_graph(model, shape)
    return [item_name(dg, root) for root, group, _ in all_groups(dg)
            if group is not None and touches_output(dg, group, outputs)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image-size", type=int, default=96, help="canvas side, a multiple of 32")
    p.add_argument("--base-seconds", type=float, default=900.0, help="training time of the base model")
    p.add_argument("--retrain", action="store_true", help="train again even if bench/out holds a trained model")
    p.add_argument("--batch-size", type=int, default=32, help="base training batch")
    p.add_argument("--base-lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100, help="base training warm-up steps")
    p.add_argument("--holdout", type=int, default=160, help="held-out canvases scored by evaluate")
    p.add_argument("--finetune-lr", type=float, default=2e-4, help="SGD learning rate of train()")
    p.add_argument("--finetune-batch", type=int, default=16)
    p.add_argument("--budget", default="70%")
    p.add_argument("--short-term-steps", type=int, default=10)
    p.add_argument("--long-term-steps", type=int, default=200)
    p.add_argument("--initial-reduction", type=float, default=0.05,
                   help="latency removed per iteration, as a fraction of the start (netadapt's schedule)")
    p.add_argument("--reduction-decay", type=float, default=1.0)
    p.add_argument("--max-iterations", type=int, default=8)
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--target", choices=["wrapped", "detection-model"], default="wrapped",
                   help="what netadapt.prune gets: the raw-maps wrapper, or the DetectionModel with "
                        "deploy=wrapper")
    p.add_argument("--run-name", default="", help="suffix of the run folder bench/out/yolov8n-run[-NAME]")
    p.add_argument("--analyse-only", action="store_true", help="print the channel groups of the untrained model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if args.image_size % 32:
        p.error("--image-size must be a multiple of 32 (YOLOv8's largest stride)")

    install_socket_guard()
    wall0 = time.perf_counter()
    offline = ultralytics_offline(OUT / "ultralytics")

    import torch

    import netadapt

    torch.set_num_threads(args.threads)
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    import ultralytics

    log(f"torch {torch.__version__}, ultralytics {ultralytics.__version__}, onnxruntime "
        f"{__import__('onnxruntime').__version__}, torch-pruning {__import__('torch_pruning').__version__}, "
        f"netadapt from "
        f"{Path(netadapt.__file__).parent}; "
        f"ultralytics ONLINE={offline['ONLINE']}, settings sync={offline['sync']} ({offline['settings_file']})")
    RawYolo = make_wrapper_class()
    example = torch.rand(1, 3, args.image_size, args.image_size)

    if args.analyse_only:
        from ultralytics.nn.tasks import DetectionModel
        from netadapt.pruning.graph import analyze

        det = DetectionModel("yolov8n.yaml", nc=10, ch=3, verbose=False).eval()
        model, prefix = (RawYolo(det), "det.") if args.target == "wrapped" else (det, "")
        graph = analyze(model, tuple(example.shape), ignore=head_names(prefix))
        log(f"prunable groups: {len(graph.groups)}")
        for name, g in graph.groups.items():
            log(f"  {name}: {g.size} channels; members {', '.join(g.members)}")
        log(f"frozen groups: {len(graph.frozen)}")
        for name, why in graph.frozen.items():
            log(f"  {name}: {why}")
        log(f"feeding the outputs (never candidates): {output_groups(model, tuple(example.shape))}")
        log(f"network attempts refused: {len(NETWORK_ATTEMPTS)} {NETWORK_ATTEMPTS}")
        return

    task = YoloDigits(args)
    det, base_info = base_model(task, args, log)
    wrapped = RawYolo(det).eval()
    t0 = time.perf_counter()
    before = task.evaluate(wrapped)
    log(f"Base model: mAP@0.5:0.95 {before['score']:.4f}, mAP@0.5 {before['map50']:.4f} on {args.holdout} held-out "
        f"canvases ({time.perf_counter() - t0:.1f} s per evaluate)")
    with torch.no_grad():
        maps, (decoded, _) = wrapped(example), det.eval()(example)
    log(f"Deployed outputs: {[tuple(m.shape) for m in maps]} (ultralytics' decoded output {tuple(decoded.shape)})")

    name = "yolov8n-run" + (f"-{args.run_name}" if args.run_name else "")
    out = OUT / name
    if args.target == "wrapped":
        model, deploy, ignore = wrapped, None, head_names("det.")
    else:
        model, deploy, ignore = det, RawYolo, head_names("")
    prune_start = time.perf_counter()
    result = netadapt.prune(model, example, budget=args.budget, train=task.train, evaluate=task.evaluate,
                            deploy=deploy, ignore=ignore, out=str(out), device="cpu",
                            short_term_steps=args.short_term_steps, long_term_steps=args.long_term_steps,
                            lut=str(OUT / "yolov8n-lut.db"), progress=False, log=log,
                            max_iterations=args.max_iterations, channel_step=args.channel_step,
                            initial_reduction=args.initial_reduction, reduction_decay=args.reduction_decay,
                            seed=args.seed)
    prune_seconds = time.perf_counter() - prune_start

    first = json.loads((result.run_dir / "iter_000" / "info.json").read_text())
    start = result.iterations[0]
    final = result.final
    prunable = first["original_channels"]
    frozen = first.get("frozen_groups", {})
    feeding = output_groups(RawYolo(det) if args.target == "wrapped" else det, tuple(example.shape))
    params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    report = {
        "image_size": args.image_size, "base": base_info, "holdout": args.holdout,
        "map_base": before, "start_ms": start.measured_ms, "start_score": start.score,
        "start_metrics": start.metrics, "budget": args.budget, "budget_ms": result.budget_ms,
        "final_ms": result.measured_ms, "final_measurement": final.get("measurement"),
        "final_low_ms": final.get("measured_low_ms"), "final_high_ms": final.get("measured_high_ms"),
        "met": result.met, "stopped": result.stopped, "final_score": result.score,
        "final_map50": final.get("metrics", {}).get("map50", final.get("map50")),
        "iterations": [{"iteration": r.iteration, "pruned_group": r.pruned_group, "predicted_ms": r.predicted_ms,
                        "measured_ms": r.measured_ms, "score": r.score, "metrics": r.metrics}
                       for r in result.iterations],
        "prunable_groups": prunable, "frozen_groups": frozen, "output_groups": feeding,
        "final_channels": final.get("channels"), "params_start": params(model), "params_final": params(result.model),
        "prune_seconds": prune_seconds, "wall_seconds": time.perf_counter() - wall0,
        "network_attempts": NETWORK_ATTEMPTS, "run_dir": str(result.run_dir)}
    (OUT / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))

    log("")
    log(f"== YOLOv8n ({args.image_size}x{args.image_size}, batch 1) pruned by netadapt on the CPU ==")
    log(f"base training: {base_info.get('steps')} steps, {base_info.get('seconds', float('nan')):.0f} s; "
        f"mAP@0.5:0.95 {before['score']:.4f}, mAP@0.5 {before['map50']:.4f}")
    log(f"start latency:  {start.measured_ms:.3f} ms")
    log(f"budget:         {args.budget} = {result.budget_ms:.3f} ms")
    log(f"final latency:  {result.measured_ms:.3f} ms  ({final.get('measurement')})")
    log(f"met:            {result.met}  (stopped: {result.stopped})")
    log(f"mAP@0.5:0.95:   start {start.score:.4f} -> final {result.score:.4f}   "
        f"(mAP@0.5 start {start.metrics.get('map50', float('nan')):.4f} -> final "
        f"{report['final_map50'] or float('nan'):.4f})")
    log(f"parameters:     {params(model)} -> {params(result.model)}")
    log(f"iterations:     {len(result.iterations) - 1}")
    for r in result.iterations[1:]:
        log(f"  {r.iteration}: cut {r.pruned_group} ({start.channels[r.pruned_group]} -> "
            f"{r.channels[r.pruned_group]}); predicted {r.predicted_ms:.3f} ms, measured {r.measured_ms:.3f} ms, "
            f"mAP {r.score:.4f}, mAP50 {r.metrics.get('map50', float('nan')):.4f}")
    log(f"wall time:      {prune_seconds:.0f} s in netadapt.prune; {report['wall_seconds']:.0f} s in all")
    log(f"prunable groups ({len(prunable)}): " + ", ".join(f"{k}={v}" for k, v in prunable.items()))
    log(f"frozen groups ({len(frozen)}):")
    for k, v in frozen.items():
        log(f"  {k}: {v}")
    log(f"groups feeding the outputs, never candidates ({len(feeding)}): {', '.join(feeding)}")
    log(f"network attempts refused by the guard: {len(NETWORK_ATTEMPTS)}")
    log(f"run folder: {result.run_dir}; summary {OUT / (name + '.json')}")


if __name__ == "__main__":
    sys.exit(main())
