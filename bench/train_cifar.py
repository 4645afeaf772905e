"""Benchmark: train a CIFAR-10 base model for NetAdapt on the shared JPEG copy of CIFAR-10.

Unpacks ../shared/data/cifar10-jpg.tar.gz into bench/out/ (git-ignored) once, decodes it once (the
decoded cache also lives in bench/out/), trains with the same holdout split that ``netadapt run``
carves by default (10% of the training images, seed 0) so the base model never sees the images
NetAdapt later ranks candidates on, then prints test accuracy, epochs and wall time and writes
bench/out/train_cifar-<model>/result.json beside a netadapt checkpoint (model.pt).

Budget: ResNet-20 took 141 s per epoch of 45,000 images with 2 threads on a quiet machine here, so
the default 15 epochs take about 37 minutes. VGG-11, ResNet-56 and MobileNetV2 cost about 3x, 3x
and 6x as much per image, and need a lower --lr with --warmup-epochs 1 (docs/benchmarks.md). Re-running the same
command resumes from the last finished epoch. ``--init model.pt --epochs 4 --lr 0.02`` continues a
trained model with a second, shorter cosine cycle (a warm restart). On a GPU, ``--device cuda
--time-budget 240`` times one epoch of a throw-away copy first and trains the most epochs that fit (a
full cosine schedule). A quick smoke run:

    python bench/train_cifar.py --epochs 1 --train-limit 2000 --test-limit 1000
"""

from __future__ import annotations

import argparse
import json
import os
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TAR = HERE.parent.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def unpack(tar_path: Path, dest: Path) -> Path:
    """Unpack the tarball into ``dest`` once; return the folder holding train/ and test/."""
    root = dest / "cifar10"
    if (root / "train").is_dir() and (root / "test").is_dir() and (dest / ".unpacked").exists():
        return root
    if not tar_path.is_file():
        raise SystemExit(f"CIFAR-10 tarball not found at {tar_path}; pass --tar")
    dest.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="data")
    (dest / ".unpacked").touch()
    print(f"unpacked {tar_path} in {time.perf_counter() - began:.1f} s", flush=True)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet20", help="zoo model (resnet20, mobilenet_v2, ...)")
    parser.add_argument("--width-mult", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--warmup-epochs", type=int, default=0,
                        help="linear learning-rate warm-up; VGG-11, ResNet-56 and MobileNetV2 did not learn "
                             "at lr 0.1 without one")
    parser.add_argument("--train-limit", type=int, default=None, help="training images (for smoke runs)")
    parser.add_argument("--test-limit", type=int, default=None, help="test images (for smoke runs)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu", help="where to train: cpu, cuda, cuda:1 (latency is not "
                        "measured here)")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds of training to fit: one epoch of a throw-away copy is timed first and "
                             "--epochs is lowered to what fits (a full cosine schedule, not a cut-off one)")
    parser.add_argument("--tar", type=Path, default=DEFAULT_TAR)
    parser.add_argument("--work", type=Path, default=HERE / "out", help="where data, cache and results go")
    parser.add_argument("--fresh", action="store_true", help="do not resume an earlier run")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this trained checkpoint's weights (a warm restart: a new cosine "
                             "schedule from --lr); its epochs count in the printed total")
    args = parser.parse_args(argv)

    # The decoded-image cache stays inside the benchmark's own output folder.
    os.environ.setdefault("NETADAPT_CACHE_DIR", str(args.work / "cache"))
    import torch

    from netadapt.checkpoint import save_checkpoint
    from netadapt.data import load_data
    from netadapt.models import ModelSpec
    from netadapt.training import TrainConfig, train

    torch.set_num_threads(args.threads)
    root = unpack(args.tar, args.work / "cifar10-jpg")
    began = time.perf_counter()
    data = load_data(f"imagefolder:{root}", holdout=0.1, seed=0, train_limit=args.train_limit,
                     test_limit=args.test_limit)
    load_seconds = time.perf_counter() - began
    print(f"loaded {len(data.train)} train / {len(data.holdout)} holdout / {len(data.test)} test images "
          f"in {load_seconds:.1f} s", flush=True)

    spec = ModelSpec(args.model, {"num_classes": data.num_classes, "in_channels": data.input_shape[0],
                                  "width_mult": args.width_mult})
    torch.manual_seed(0)
    earlier = {}
    if args.init is not None:
        from netadapt.checkpoint import load_checkpoint

        loaded = load_checkpoint(args.init)
        if loaded.spec.to_dict() != spec.to_dict():
            raise SystemExit(f"--init {args.init} holds {loaded.spec.to_dict()}, not {spec.to_dict()}")
        model = loaded.model
        result_file = args.init.parent / "result.json"
        earlier = json.loads(result_file.read_text()) if result_file.is_file() else {}
    else:
        model = spec.build()
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    probe_seconds = None
    if args.time_budget is not None:
        import copy

        probe = TrainConfig(epochs=max(2, args.warmup_epochs + 1), batch_size=args.batch_size, lr=args.lr,
                            weight_decay=args.weight_decay, label_smoothing=args.label_smoothing)
        # Two epochs of a copy: the first pays for start-up (cuDNN's algorithm search, caches), the second is timed.
        history = train(copy.deepcopy(model), data, probe, progress=False, device=args.device).history
        probe_seconds = history[-1]["seconds"]
        fits = int(args.time_budget // probe_seconds)
        print(f"one epoch takes {probe_seconds:.1f} s on {args.device}: {fits} epochs fit in "
              f"{args.time_budget:.0f} s", flush=True)
        args.epochs = max(args.warmup_epochs + 1, min(args.epochs, fits))
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
                         warmup_epochs=args.warmup_epochs)
    tag = f"{args.model}-w{args.width_mult:g}-e{args.epochs}"
    if args.train_limit:
        tag += f"-n{args.train_limit}"
    if args.init is not None:
        tag += f"-from-{args.init.parent.name}"
    out = args.work / f"train_cifar-{tag}"
    began = time.perf_counter()
    result = train(model, data, config, out_dir=out, resume=not args.fresh, device=args.device)
    wall = time.perf_counter() - began
    epoch_seconds = [h["seconds"] for h in result.history]
    summary = {
        "model": spec.to_dict(), "config": config.to_dict(), "epochs": len(result.history),
        "test_accuracy": result.test_accuracy, "holdout_accuracy": result.history[-1]["holdout_accuracy"],
        "train_seconds": result.seconds, "wall_seconds_this_call": wall, "load_seconds": load_seconds,
        "seconds_per_epoch_median": sorted(epoch_seconds)[len(epoch_seconds) // 2],
        "train_images": len(data.train), "threads": args.threads, "torch": torch.__version__,
        "device": args.device, "time_budget": args.time_budget, "probe_epoch_seconds": probe_seconds,
    }
    if args.init is not None:
        summary["init"] = {"checkpoint": str(args.init), "epochs": earlier.get("epochs"),
                           "test_accuracy": earlier.get("test_accuracy"),
                           "train_seconds": earlier.get("train_seconds")}
        summary["total_epochs"] = len(result.history) + (earlier.get("epochs") or 0)
    save_checkpoint(out / "model.pt", model, spec, (1, *data.input_shape),
                    extra={"input_shape": [1, *data.input_shape], "test_accuracy": result.test_accuracy,
                           "data": "cifar10 (imagefolder, holdout 0.1 seed 0)"})
    (out / "result.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.init is not None:
        print(f"started from {args.init} ({earlier.get('epochs')} epochs, test accuracy "
              f"{earlier.get('test_accuracy')}); total {summary['total_epochs']} epochs")
    print(f"{args.model}: test accuracy {result.test_accuracy:.4f} after {len(result.history)} epochs; "
          f"training {result.seconds:.0f} s ({summary['seconds_per_epoch_median']:.1f} s/epoch on "
          f"{len(data.train)} images), wall {wall:.0f} s this call; results in {out}")


if __name__ == "__main__":
    main()
