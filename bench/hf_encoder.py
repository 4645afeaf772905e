"""Benchmark: a Hugging Face ``transformers`` BERT encoder pruned by netadapt, its attention in whole heads.

Builds ``BertForSequenceClassification`` from a ``BertConfig`` (random weights, nothing downloaded: 18 token ids,
the 17 ink levels and an unused padding id; hidden size 128; 2 layers of 4 heads of 32; intermediate size 512;
64 positions; 10 labels), reads scikit-learn's digits as 64 tokens of ink levels 0..16
(``netadapt.tasks.text.data.digit_tokens``), trains it briefly with AdamW (1,000 steps of 32, about 2 minutes on
one core), then prunes it with ``netadapt.prune`` against a latency budget measured with ONNX Runtime on this CPU
at batch 1 (one thread), with this script's own fine-tuning loop (AdamW at a constant rate) and holdout accuracy
as the score.

transformers is installed in its own virtual environment beside the project's (it must not change torch; the
project is seen there through the system site-packages, where it is installed in editable mode):

    python3 -m venv --system-site-packages ../venvs/hf
    ../venvs/hf/bin/pip install transformers
    ../venvs/hf/bin/python -c "import torch, transformers; print(torch.__version__, transformers.__version__)"

Run (from the repository root, with HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1, which the script sets itself;
the base training takes about 2 minutes and netadapt.prune 2 (--budget 70%) to 3 (--budget 50%) minutes on a
shared two-core machine; a rerun with the same settings resumes the run folder and reuses the trained base model,
so its wall time is that of the resumed part only):

    ../venvs/hf/bin/python bench/hf_encoder.py --budget 70% --short-term-steps 20 --long-term-steps 200
    ../venvs/hf/bin/python bench/hf_encoder.py --budget 50%

Everything goes to --out (default bench/out/hf_encoder/): the base model, the lookup table and one run folder
per attention implementation, budget and step counts.

It prints:
  - the versions, the attention implementation, the base training (steps, seconds) and its holdout/test accuracy;
  - the channel groups netadapt's analysis finds (size, head size, attention layer, the layers in them), the
    frozen ones with their reasons, and the linear layers in no group (their outputs reach the logits);
  - every kept iteration (group cut, measured ms, holdout accuracy) with the candidates it chose from (each
    group's proposed channel count, predicted ms and holdout accuracy after the short-term fine-tune);
  - after the run: each layer's ``num_attention_heads``, ``attention_head_size``, ``all_head_size``, the
    query/key/value/output-dense weight shapes and the intermediate width; the measured latency against the
    budget, whether it was met, accuracy before/after, the wall time, the final ONNX file checked once more
    against PyTorch (netadapt already verifies every export it makes and raises on a mismatch), and the pruned
    model rebuilt with ``netadapt.load`` from a fresh instance.

``--attn`` picks the attention implementation: ``sdpa`` (transformers' default, ``scaled_dot_product_attention``;
used here, since it gave no trouble: the analysis, the head cuts and the ONNX export all go through it) or
``eager`` (explicit matmul and softmax; the same six groups and a verified export of a pruned copy were checked
with it too).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HERE = Path(__file__).resolve().parent

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def build_bert(attn: str, seed: int) -> nn.Module:
    """A randomly initialised BertForSequenceClassification for the 17 ink levels (ids 0..16) and 10 digits.

    Id 17 is the padding id and never occurs (no sequence is padded): BERT's word embedding keeps the padding
    id's row at zero and never trains it, so it must not be the blank ink level 0, the commonest token."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=18, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=512, max_position_embeddings=64, type_vocab_size=2, num_labels=10,
                        pad_token_id=17, attn_implementation=attn)
    torch.manual_seed(seed)
    return BertForSequenceClassification(config)


def logits_of(out) -> torch.Tensor:
    return out.logits if hasattr(out, "logits") else out


def train_steps(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor, steps: int, lr: float,
                batch_size: int, seed: int, warmup: int = 0, cosine: bool = False) -> float:
    """``steps`` AdamW steps of cross-entropy on random batches (drawn by ``seed``); mode restored; mean loss."""
    was_training = model.training
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    def factor(step):
        ramp = min(1.0, (step + 1) / warmup) if warmup else 1.0
        decay = 0.5 * (1 + torch.cos(torch.tensor(step / max(steps, 1) * torch.pi)).item()) if cosine else 1.0
        return ramp * decay

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    total = 0.0
    for _ in range(steps):
        rows = torch.randint(0, len(tokens), (batch_size,), generator=generator)
        loss = F.cross_entropy(logits_of(model(tokens[rows])), labels[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        total += float(loss.detach())
    model.train(was_training)
    return total / max(steps, 1)


def accuracy(model: nn.Module, tokens: torch.Tensor, labels: torch.Tensor) -> float:
    from netadapt.tasks.text.task import accuracy as token_accuracy

    return token_accuracy(model, tokens, labels, logits=logits_of)


class FineTune:
    """``train(model, steps)``: AdamW at a constant rate; batches drawn from a seed taken from torch's global
    generator (netadapt seeds it before every call, so a rerun gives the same run)."""

    def __init__(self, tokens, labels, lr: float, batch_size: int):
        self.tokens, self.labels, self.lr, self.batch_size = tokens, labels, lr, batch_size

    def __call__(self, model: nn.Module, steps: int) -> float:
        seed = int(torch.randint(0, 2**30, ()))
        return train_steps(model, self.tokens, self.labels, steps, self.lr, self.batch_size, seed)


class Evaluate:
    """``evaluate(model)``: top-1 accuracy on the holdout sequences."""

    def __init__(self, tokens, labels):
        self.tokens, self.labels = tokens, labels

    def __call__(self, model: nn.Module) -> float:
        return accuracy(model, self.tokens, self.labels)


def describe_layers(model: nn.Module) -> list[str]:
    lines = []
    for i, layer in enumerate(model.bert.encoder.layer):
        a = layer.attention.self
        shape = lambda m: "x".join(str(d) for d in m.weight.shape)  # noqa: E731
        lines.append(f"  layer {i}: num_attention_heads={a.num_attention_heads} attention_head_size="
                     f"{a.attention_head_size} all_head_size={a.all_head_size} | query {shape(a.query)} key "
                     f"{shape(a.key)} value {shape(a.value)} output.dense {shape(layer.attention.output.dense)} | "
                     f"intermediate {layer.intermediate.dense.out_features} (output.dense "
                     f"{shape(layer.output.dense)})")
    emb, pooler, head = model.bert.embeddings.word_embeddings, model.bert.pooler.dense, model.classifier
    lines.append(f"  hidden width (word embeddings {emb.weight.shape[1]}), pooler {pooler.weight.shape[0]}x"
                 f"{pooler.weight.shape[1]}, classifier {head.weight.shape[0]}x{head.weight.shape[1]} "
                 f"(config.hidden_size {model.config.hidden_size}, config.num_attention_heads "
                 f"{model.config.num_attention_heads})")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(HERE / "out" / "hf_encoder"), help="run folder (a rerun resumes)")
    p.add_argument("--attn", default="sdpa", choices=("sdpa", "eager"), help="attention implementation")
    p.add_argument("--budget", default="70%")
    p.add_argument("--short-term-steps", type=int, default=20)
    p.add_argument("--long-term-steps", type=int, default=200)
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--max-iterations", type=int, default=40)
    p.add_argument("--base-steps", type=int, default=1000, help="AdamW steps of the base training")
    p.add_argument("--base-lr", type=float, default=1e-3)
    p.add_argument("--finetune-lr", type=float, default=5e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (ONNX Runtime times on 1 thread)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    import transformers

    import netadapt
    from netadapt.export import verify_onnx
    from netadapt.inputs import ExampleInputs
    from netadapt.pruning import analyze
    from netadapt.runs import folder as rf
    from netadapt.tasks.text.data import digit_tokens

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, attention {args.attn}", flush=True)

    data = digit_tokens(args.seed)
    (tr_x, tr_y), (ho_x, ho_y), (te_x, te_y) = data.train, data.holdout, data.test
    example = ho_x[:1].clone()

    model = build_bert(args.attn, args.seed)
    print(f"model: {type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"attn_implementation={model.config._attn_implementation}", flush=True)
    base = out / f"base-v18-{args.attn}-s{args.base_steps}-lr{args.base_lr:g}-seed{args.seed}.pt"
    if base.is_file():
        model.load_state_dict(torch.load(base, map_location="cpu", weights_only=True))
        print(f"base model loaded from {base}")
    else:
        started = time.perf_counter()
        loss = train_steps(model, tr_x, tr_y, args.base_steps, args.base_lr, args.batch_size, args.seed,
                           warmup=args.base_steps // 10, cosine=True)
        print(f"base training: {args.base_steps} AdamW steps of {args.batch_size}, lr {args.base_lr:g} "
              f"(warm-up, cosine), mean loss {loss:.3f}, {time.perf_counter() - started:.0f} s", flush=True)
        torch.save(model.state_dict(), base)
    model.eval()
    acc_before = accuracy(model, ho_x, ho_y)
    test_before = accuracy(model, te_x, te_y)
    print(f"base accuracy: holdout {acc_before:.4f} ({len(ho_y)}), test {test_before:.4f} ({len(te_y)})")

    print("\nchannel groups (netadapt.pruning.analyze at the example input, batch 1):")
    graph = analyze(model, ExampleInputs.of(example, model))
    for name, g in graph.groups.items():
        kind = f"attention heads of {g.head_size} in {g.attention}" if g.attention else "any channel"
        print(f"  {name}: {g.size} channels, head_size {g.head_size} ({kind}), unit {g.unit}, min {g.min_size}")
        print(f"      producers {', '.join(g.producers)}")
        print(f"      consumers {', '.join(g.consumers)}")
        if g.norms:
            print(f"      norms {', '.join(g.norms)}")
    print(f"  frozen: {graph.frozen or 'none'}")
    for name, why in graph.frozen.items():
        print(f"    {name}: {why}")
    produced = {m.rsplit(":", 1)[0] for g in graph.groups.values() for m in g.members if m.endswith(":out")}
    produced |= {n for g in graph.groups.values() for n in g.producers}
    outside = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n not in produced
               and n not in graph.frozen]
    print(f"  linear layers whose outputs are in no group (they reach the network's output, never pruned): "
          f"{', '.join(outside) or 'none'}", flush=True)

    print(f"\nnetadapt.prune: budget {args.budget} at batch 1 on the CPU, short_term_steps "
          f"{args.short_term_steps}, long_term_steps {args.long_term_steps}, channel_step {args.channel_step}",
          flush=True)
    budget_tag = args.budget.replace("%", "pct").replace(".", "_")
    run_dir = out / f"run-{args.attn}-{budget_tag}-st{args.short_term_steps}-lt{args.long_term_steps}"
    started = time.perf_counter()
    error = None
    try:
        result = netadapt.prune(model, example, budget=args.budget,
                                train=FineTune(tr_x, tr_y, args.finetune_lr, args.batch_size),
                                evaluate=Evaluate(ho_x, ho_y), out=run_dir, device="cpu",
                                short_term_steps=args.short_term_steps, long_term_steps=args.long_term_steps,
                                lut=str(out / "lut.db"), channel_step=args.channel_step,
                                max_iterations=args.max_iterations, seed=args.seed, progress=False)
    except Exception as exc:  # report it whole: this benchmark is about whether BERT goes through
        error = exc
    wall = time.perf_counter() - started
    if error is not None:
        import traceback

        print(f"\nnetadapt.prune FAILED after {wall:.0f} s: {type(error).__name__}: {error}")
        traceback.print_exception(error)
        raise SystemExit(1)

    print("\niterations kept (group cut, measured ms, holdout accuracy) and the candidates each chose from "
          "(group -> channels, predicted ms, holdout accuracy after the short-term fine-tune):")
    for r in result.iterations:
        print(f"  {r.iteration:>3} {str(r.pruned_group):<45} {r.measured_ms:7.3f} ms  holdout {r.score:.4f}")
        info = rf.read_json(rf.iteration_dir(result.run_dir, r.iteration) / "info.json")
        for c in info.get("candidates", []):
            if c.get("feasible", True) and "channels" in c:
                print(f"        {c['group']:<45} -> {c['channels']:>4}  {c.get('predicted_ms', float('nan')):.3f} ms"
                      f"  {c.get('score', float('nan')):.4f}")
            else:
                print(f"        {c['group']:<45}    no count meets the iteration's target")
    print(f"  final channels: {result.iterations[-1].channels}")
    pruned = result.model.eval()
    print("\nbefore:")
    for line in describe_layers(model):
        print(line)
    print("after:")
    for line in describe_layers(pruned):
        print(line)
    start_ms = result.iterations[0].measured_ms
    acc_after = accuracy(pruned, ho_x, ho_y)
    test_after = accuracy(pruned, te_x, te_y)
    print(f"\nlatency (batch 1, ONNX Runtime, 1 thread): start {start_ms:.3f} ms, budget {result.budget_ms:.3f} ms, "
          f"final {result.measured_ms:.3f} ms ({result.measured_ms / start_ms:.1%} of the start), met {result.met}")
    interval = {k: v for k, v in result.final.items() if "ms" in k or "interval" in k or "ratio" in k}
    print(f"final measurement as recorded: {interval}")
    print(f"accuracy: holdout {acc_before:.4f} -> {acc_after:.4f} (result.score {result.score:.4f}), "
          f"test {test_before:.4f} -> {test_after:.4f}")
    print(f"stopped: {result.stopped}; wall time of netadapt.prune {wall:.0f} s ({wall / 60:.1f} min)")
    onnx = rf.final_dir(result.run_dir) / "model.onnx"
    if onnx.is_file():
        diff = verify_onnx(pruned, onnx, ExampleInputs.of(example, pruned))
        print(f"ONNX export of the final model ({onnx}) matches PyTorch: max |diff| {diff:.2e} "
              "(netadapt verified every export of the run; a mismatch would have raised OnnxMismatchError)")
    else:
        print(f"no {onnx} (every iteration's ONNX file was verified by netadapt while exporting)")
    rebuilt = netadapt.load(result.run_dir, build_bert(args.attn, args.seed + 1))
    with torch.no_grad():
        same = torch.allclose(logits_of(rebuilt(te_x[:16])), logits_of(pruned(te_x[:16])), atol=1e-5)
    print(f"netadapt.load(run_dir, fresh BertForSequenceClassification) gives the same logits: {same}; heads "
          f"{[lay.attention.self.num_attention_heads for lay in rebuilt.bert.encoder.layer]}")


if __name__ == "__main__":
    main()
