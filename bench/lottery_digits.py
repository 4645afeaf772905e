"""Benchmark: lottery tickets on scikit-learn's digits (netadapt's ``digits`` source).

Iterative magnitude pruning (global by default) of --rate per round for --rounds rounds, survivors
rewound to iteration --rewind-iter, against a random re-initialisation under the same mask and
against the dense network. 0.8^8 = 16.8% of the weights remain after the default 8 rounds.
Prints a table and the time of every round; results in bench/out/lottery_digits-<settings>/.

Smoke run (seconds):  python bench/lottery_digits.py --tiny
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="digits_cnn")
    p.add_argument("--width-mult", type=float, default=0.25, help="digits_cnn width (1.0: the zoo's full width)")
    p.add_argument("--image-size", type=int, default=16, help="digits are 8x8 upsampled to this size")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--rewind-iter", type=int, default=20, help="iteration the survivors are reset to (0: init)")
    p.add_argument("--scope", choices=["global", "layer"], default="global")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", type=Path, default=HERE / "out")
    p.add_argument("--tiny", action="store_true", help="smoke run: 2 rounds of 1 epoch at width 0.125")
    args = p.parse_args(argv)
    if args.tiny:
        args.rounds, args.epochs, args.width_mult, args.rewind_iter, args.rate = 2, 1, 0.125, 5, 0.5

    import torch

    from netadapt.data import load_data
    from netadapt.lottery import LotteryConfig, run_lottery
    from netadapt.models.spec import ModelSpec
    from netadapt.training import TrainConfig

    torch.set_num_threads(args.threads)
    data = load_data("digits", image_size=args.image_size, holdout=0, seed=args.seed)
    spec = ModelSpec(args.model, {"num_classes": data.num_classes, "in_channels": data.input_shape[0],
                                  "width_mult": args.width_mult})
    config = LotteryConfig(rounds=args.rounds, rate=args.rate, rewind_iteration=args.rewind_iter, scope=args.scope,
                           train=TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                             seed=args.seed))
    out = args.work / (f"lottery_digits-{args.model}-w{args.width_mult:g}-s{args.image_size}-e{args.epochs}"
                       f"-k{args.rewind_iter}-p{args.rate:g}-{args.scope}")
    began = time.perf_counter()
    rows = run_lottery(spec, data, config, out, log=lambda line: print(line, flush=True))
    params = sum(p.numel() for p in spec.build().parameters())
    print(f"\n{args.model} (width {args.width_mult:g}, {params:,} parameters) on digits {args.image_size}x"
          f"{args.image_size}: {len(data.train)} train / {len(data.test)} test; {args.epochs} epochs per "
          f"training, rewind to iteration {args.rewind_iter}, {args.scope} pruning of {args.rate:.0%} per round")
    print(f"{'round':>5} {'weights left':>12} {'ticket acc':>10} {'random re-init':>14} {'seconds':>8}")
    for r in rows:
        ctrl = "-" if math.isnan(r["control_accuracy"]) else f"{r['control_accuracy']:.4f}"
        print(f"{r['round']:>5} {100 * r['remaining']:>11.1f}% {r['test_accuracy']:>10.4f} {ctrl:>14} "
              f"{r['seconds']:>8.1f}")
    print(f"dense: {rows[0]['test_accuracy']:.4f}; total {time.perf_counter() - began:.1f} s "
          f"(rounds resumed from {out} count 0 s here); files in {out}")


if __name__ == "__main__":
    main()
