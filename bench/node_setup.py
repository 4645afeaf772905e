"""Benchmark: what it costs to set a node up for timing (its one-node model built and serialized, and its
ONNX Runtime session made), through ``onnx.helper`` against the encoder the profilers use
(``profilers.node_graphs.node_model_bytes``), key by key, side by side.

The keys are those of each model at full width and with every channel group cut to half (what a search
times on the spot: a classifier's fully connected layers at new widths included). Per key the two ways take
turns, in alternating order, for ``--rounds`` rounds; the table gives per model the keys, the median seconds
summed over keys for each way, their ratio, and the costliest key's medians. Both ways give the same model
(``tests/profilers/test_node_graphs.py``); nothing here is timed but the setting up.

    python bench/node_setup.py --models resnet20 mobilenet_v1
    ../venvs/yolo/bin/python bench/node_setup.py --models torchvision.models:vgg11_bn --size 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def keys_of(name: str, size: int, batch: int, device) -> list:
    """The distinct node keys of ``name`` at full width and with every group cut to half, largest first."""
    from search_cost import build

    from netadapt.export import export_bytes
    from netadapt.pruning import analyze, keep_channels
    from profilers.units import model_units

    model, shape = build(name, size, batch)
    graph = analyze(model, shape)
    keys = {u.key for u in model_units(export_bytes(model, shape), device, shape)}
    keep_channels(model, graph, {g: list(range(max(1, grp.size // 2))) for g, grp in graph.groups.items()})
    keys |= {u.key for u in model_units(export_bytes(model, shape), device, shape)}
    return sorted(keys, key=_stored_bytes, reverse=True)


def _stored_bytes(key) -> int:
    import numpy as np

    return sum(int(np.prod(s.shape, dtype=np.int64)) * np.dtype(s.dtype).itemsize
               for s in key.inputs if s is not None and s.role != "data")


def setup_seconds(key, device, way: str) -> float:
    from profilers.node_graphs import build_node_model, node_model_bytes

    t0 = time.perf_counter()
    if way == "helper":
        data = build_node_model(key)[0].SerializeToString()
    else:
        data = node_model_bytes(key)[0]
    device.create_session(data, optimization="disable")
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["resnet20", "mobilenet_v1"])
    p.add_argument("--size", type=int, default=32, help="input height and width")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=HERE / "out" / "node_setup.json")
    args = p.parse_args()

    from devices import usable_device

    device = usable_device(args.device)
    ways = ("helper", "encoded")
    rows = []
    for name in args.models:
        keys = keys_of(name, args.size, args.batch, device)
        seconds = {w: [[] for _ in keys] for w in ways}
        for r in range(args.rounds):
            for i, key in enumerate(keys):
                for w in ways if (r + i) % 2 == 0 else ways[::-1]:
                    seconds[w][i].append(setup_seconds(key, device, w))
        med = {w: [statistics.median(s) for s in seconds[w]] for w in ways}
        row = {"model": name, "keys": len(keys), "largest_mb": _stored_bytes(keys[0]) / 1e6,
               **{f"{w}_s": sum(med[w]) for w in ways},
               **{f"largest_{w}_s": med[w][0] for w in ways}}
        row["ratio"] = row["helper_s"] / row["encoded_s"]
        rows.append(row)
        print(f"{name}: {row['keys']} keys, helper {row['helper_s']:.2f} s, encoded {row['encoded_s']:.2f} s "
              f"(x{row['ratio']:.2f}); largest key ({row['largest_mb']:.0f} MB stored) "
              f"{row['largest_helper_s']:.2f} s against {row['largest_encoded_s']:.2f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, "rows": rows},
                                   indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
