"""Benchmark: what each zoo model reaches on the built-in digits data (1x32x32, 1,438 train / 359 test).

Trains every model (or --models) from scratch with the same settings and prints test accuracy,
parameters, epochs and wall time. Results go to bench/out/zoo_digits/<model>-<settings>/ (a rerun resumes).

    python bench/zoo_digits.py --models digits_cnn,resnet20 --epochs 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="digits_cnn,vgg11,resnet20,resnet56,mobilenet_v1,mobilenet_v2")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import torch

    from netadapt.data import load_data
    from netadapt.models import create_model
    from netadapt.training import TrainConfig, train

    torch.set_num_threads(args.threads)
    data = load_data("digits", seed=args.seed)
    rows = []
    for name in args.models.split(","):
        torch.manual_seed(args.seed)
        model = create_model(name, num_classes=data.num_classes, in_channels=data.input_shape[0])
        params = sum(p.numel() for p in model.parameters())
        started = time.perf_counter()
        result = train(model, data, TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                                seed=args.seed),
                       out_dir=HERE / "out" / "zoo_digits" / f"{name}-e{args.epochs}-b{args.batch_size}-lr{args.lr:g}",
                       progress=False, resume=True)
        seconds = time.perf_counter() - started
        rows.append((name, params, result.test_accuracy, seconds))
        print(f"{name}: test accuracy {result.test_accuracy:.4f} ({seconds:.0f} s)", flush=True)
    print(f"\ndigits (32x32), {args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, "
          f"{args.threads} torch thread(s)")
    print(f"{'model':<14}{'params':>10}{'test acc':>10}{'wall s':>8}")
    for name, params, acc, seconds in rows:
        print(f"{name:<14}{params:>10,}{acc:>10.4f}{seconds:>8.0f}")


if __name__ == "__main__":
    main()
