"""Benchmark: train the base detector of ``netadapt.tasks.detection`` from scratch on digit canvases.

AdamW with a linear warm-up and a cosine decay over --steps (or until --seconds have passed), printing
the elapsed time, the training loss and mAP@0.5 / mAP@0.5:0.95 on the held-out canvases (digits never
seen in training) every --every steps. The state dict is saved to --out after every evaluation (the file
``make_task(checkpoint=...)`` loads), the curve beside it as CSV.

Smoke run (seconds):  python bench/train_detector.py --steps 20 --every 10 --holdout 32
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--seconds", type=float, default=1800.0,
                   help="stop at the first evaluation after this much training time (evaluations not counted)")
    p.add_argument("--out", type=Path, default=HERE / "out" / "detector" / "yolo_tiny.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--depth", type=float, default=0.33)
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--holdout", type=int, default=300, help="held-out canvases scored")
    p.add_argument("--every", type=int, default=250, help="steps between evaluations")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch

    from netadapt.tasks.detection.data import make_splits
    from netadapt.tasks.detection.model import YoloTiny
    from netadapt.tasks.detection.train import evaluate_detector, train_detector

    torch.set_num_threads(args.threads)
    data = make_splits(args.seed, sizes=(100_000, args.holdout, 0), image_size=args.image_size)
    torch.manual_seed(args.seed)
    model = YoloTiny(num_classes=10, in_channels=1, width=args.width, depth=args.depth)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    curve_path = args.out.with_suffix(".csv")
    rows = []
    print(f"{sum(p.numel() for p in model.parameters())} parameters; {args.steps} steps of {args.batch_size}",
          flush=True)
    print(f"{'train s':>8} {'wall s':>7} {'step':>6} {'loss':>7} {'mAP50':>7} {'mAP':>7} {'eval s':>7}", flush=True)
    start = time.perf_counter()
    paused = 0.0  # evaluation time, not counted as training time

    def report(step: int, loss: float) -> bool:
        nonlocal paused
        trained = time.perf_counter() - start - paused
        begun = time.perf_counter()
        scores = evaluate_detector(model, data["holdout"])
        took = time.perf_counter() - begun
        paused += took
        wall = time.perf_counter() - start
        rows.append({"train_seconds": round(trained, 1), "wall_seconds": round(wall, 1), "step": step,
                     "loss": round(loss, 4), "map50": round(scores["map50"], 4), "map": round(scores["score"], 4)})
        print(f"{trained:8.1f} {wall:7.1f} {step:6d} {loss:7.3f} {scores['map50']:7.3f} {scores['score']:7.3f} "
              f"{took:7.1f}", flush=True)
        torch.save(model.state_dict(), args.out)
        with curve_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return trained >= args.seconds

    train_detector(model, data["train"], args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                   schedule="cosine", warmup=args.warmup, callback=report, every=args.every)
    print(f"saved {args.out} and {curve_path}; wall time {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
