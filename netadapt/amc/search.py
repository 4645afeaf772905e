"""An AMC search in a run folder: start measurement, per-group latency, episodes, the best policy's network.

    <out>/
      config.json         the settings (re-running with different ones is refused)
      start/              the start model's ONNX and info.json (measured ms, table ms, what each group feeds)
      latency.json        per-group table differences on the grid
      state.pt            the agent and every finished episode (written after each: a kill loses at most one)
      episodes.jsonl      one line per episode: counts, keep ratios, estimated ms, reward, noise
      final/              the best policy's network, fine-tuned: model.pt, model.onnx, info.json (verdict)

Each episode's reward is the holdout score of the pruned network with batch-norm statistics re-estimated
and no fine-tuning (as in AMC), on a fixed holdout subset. With ``reconstruct``, the layers the cuts feed are
first refit by least squares to the base network's outputs on that many training images (as the AMC reference
does; ``netadapt.pruning.reconstruct``), and so is the best policy's network before its fine-tune.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import torch

from netadapt.amc.config import AmcConfig
from netadapt.amc.config import upgrade as upgrade_settings
from netadapt.amc.ddpg import Agent
from netadapt.amc.env import GroupLatency, PruningEnv, group_feeds
from netadapt.errors import UserError
from netadapt.runs import folder as rf

# How many times the best policy's network is cut one step further when the table says it misses the budget.
MAX_SHRINK_STEPS = 20


class AmcSearch:
    """Runs (or resumes) an AMC search for ``config`` in folder ``out``.

    Args:
        config: the settings.
        out: the run folder.
        lut: lookup table path or SQLAlchemy URL.
        progress: show progress bars.
        log: where one-line messages go.
        reward_fn: counts -> reward, instead of pruning and scoring the network (for tests of the agent).
        train_device: where the rewards are scored and the result fine-tuned (a PyTorch device name); it
            does not change the search's settings, so a search may resume with another.
    """

    def __init__(self, config: AmcConfig, out, lut: str | None = None, progress: bool = True, log=print,
                 reward_fn=None, train_device: str = "cpu"):
        from netadapt.training.device import training_device

        self.config, self.out, self.lut = config, Path(out), lut
        self.progress, self.log, self.reward_fn = progress, log, reward_fn
        self.train_device = training_device(train_device)  # a GPU this torch cannot reach: one line, now

    # ---- set-up --------------------------------------------------------------------------------------
    def _setup(self):
        from devices import usable_device
        from lut.table import LatencyTable
        from netadapt.checkpoint import load_checkpoint
        from netadapt.config.budget import parse_budget
        from netadapt.criteria import create_criterion
        from netadapt.data import load_data
        from netadapt.data.splits import limit
        from netadapt.latency import LatencyEstimator
        from netadapt.pruning import analyze
        from profilers import ProfileConfig, get_profiler

        cfg = self.config
        if not cfg.checkpoint:
            raise UserError("AMC needs a trained --checkpoint (netadapt train)")
        if cfg.reward not in ("accuracy", "loss"):
            raise UserError(f"unknown reward {cfg.reward!r}; valid: accuracy, loss")
        if not 0 <= cfg.warmup_episodes < cfg.episodes:
            raise UserError(f"warm-up episodes must be in [0, episodes), got {cfg.warmup_episodes}")
        if not 0 < cfg.lowest_ratio < 1:
            raise UserError(f"the lowest keep ratio must be in (0, 1), got {cfg.lowest_ratio}")
        self.budget = parse_budget(cfg.budget)
        self.criterion = create_criterion(cfg.criterion, seed=cfg.seed)
        self.device = usable_device(cfg.device, threads=cfg.threads, gpu_id=cfg.gpu_id)
        self.data = load_data(cfg.data, holdout=cfg.holdout, seed=cfg.split_seed)
        loaded = load_checkpoint(cfg.checkpoint)
        self.base, self.spec = loaded.model.eval(), loaded.spec
        self.input_shape = (cfg.batch, *self.data.input_shape)
        self.graph = analyze(self.base, self.input_shape)
        for name, why in self.graph.frozen.items():
            self.log(f"Frozen (not pruned): {name}: {why}")
        holdout = self.data.holdout
        self.holdout = limit(holdout, cfg.eval_limit, cfg.seed) if cfg.eval_limit < len(holdout) else holdout
        if cfg.reconstruct:  # the images every cut's layers are refit on
            from netadapt.data.loader import first_batches

            self.samples = first_batches(self.data.train, 1, cfg.reconstruct, seed=cfg.seed)[0][0]
        rf.prepare_run_dir(self.out, cfg.to_dict(), upgrade=upgrade_settings)
        self.table = LatencyTable(self.lut)
        self.estimator = LatencyEstimator(self.table, self.device, get_profiler(
            self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.repeats)))
        self.model_profiler = get_profiler(self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.model_repeats))

    def _start(self) -> dict:
        from netadapt.export import export_onnx

        path = self.out / "start" / "info.json"
        if path.exists():
            return rf.read_json(path)
        folder = self.out / "start"
        onnx = export_onnx(self.base, folder / "model.onnx", self.input_shape, verify=True)
        rounds = [float(self.model_profiler.measure_model(str(onnx), self.input_shape).median) for _ in range(3)]
        info = {"measured_ms": min(rounds), "measured_rounds_ms": rounds,
                "table_ms": self.estimator.total(self.base, self.input_shape), "channels": self.graph.sizes(),
                "feeds": {g: group_feeds(self.base, group) for g, group in self.graph.groups.items()},
                "order": list(self.graph.groups),
                "frozen_groups": self.graph.frozen}
        rf.write_json(path, info)
        return info

    def _latency(self, start: dict) -> GroupLatency:
        from netadapt.algorithm.estimates import CandidateEstimates

        path = self.out / "latency.json"
        if path.exists():  # JSON sorts the groups by name: walk them in the network's order again
            d = rf.read_json(path)
            order = [g for g in self.graph.groups if g in d["deltas"]]
            return GroupLatency(d["start_ms"], d["table_ms"],
                                {g: {int(c): v for c, v in d["deltas"][g].items()} for g in order},
                                {g: d["features"][g] for g in order if g in d["features"]})
        from netadapt.latency.grid import probe_grids

        estimates = CandidateEstimates(self.estimator, self.base, self.graph, start["measured_ms"],
                                       grids=probe_grids(self.graph, self.graph.sizes(), self.config.channel_step))
        latency = GroupLatency.from_table(estimates, self.graph.sizes(), self.config.channel_step, self.progress)
        rf.write_json(path, {"start_ms": latency.start_ms, "table_ms": latency.table_ms,
                             "deltas": latency.deltas, "features": latency.features})
        return latency

    # ---- rewards -------------------------------------------------------------------------------------
    def _pruned(self, counts: dict[str, int]):
        """The base cut to ``counts``; with ``reconstruct``, the layers the cuts feed refit to the base's outputs
        (``netadapt.pruning.reconstruct``) on that many training images."""
        from netadapt.iterative.prune import channels_to_keep
        from netadapt.pruning import keep_channels
        from netadapt.pruning.reconstruct import reconstruct, refit_layers

        model = copy.deepcopy(self.base)
        keep = channels_to_keep(model, self.graph, counts, self.criterion)
        if keep:
            keep_channels(model, self.graph, keep)
            if self.config.reconstruct:
                reconstruct(self.base, model, refit_layers(self.graph, keep), self.samples, seed=self.config.seed)
        return model

    def reward(self, counts: dict[str, int]) -> float:
        """The holdout score of the base cut to ``counts``, batch-norm re-estimated, not fine-tuned."""
        if self.reward_fn is not None:
            return float(self.reward_fn(counts))
        from netadapt.training import recalibrate_batchnorm, score

        model = self._pruned(counts).to(self.train_device)  # a throw-away copy
        recalibrate_batchnorm(model, self.data.train, self.config.bn_batches, self.config.batch_size,
                              seed=self.config.seed)
        s = score(model, self.holdout)
        return s.accuracy if self.config.reward == "accuracy" else -s.loss

    # ---- the search ----------------------------------------------------------------------------------
    def search(self, env: PruningEnv, budget_ms: float) -> list[dict]:
        """Run (or resume) the episodes; returns every episode's record."""
        from tqdm.auto import tqdm

        cfg = self.config
        agent = Agent(env.state_dim, seed=cfg.seed)
        episodes: list[dict] = []
        state_path = self.out / "state.pt"
        if state_path.exists():
            saved = torch.load(state_path, map_location="cpu", weights_only=True)
            agent.load_state_dict(saved["agent"])
            episodes = [json.loads(e) for e in saved["episodes"]]
        explore = __import__("random").Random(cfg.seed)
        for _ in range(min(len(episodes), cfg.warmup_episodes) * len(env.groups)):
            explore.random()  # a resumed warm-up continues the same random actions
        bar = tqdm(total=cfg.episodes, initial=len(episodes), desc="AMC episodes", unit="ep",
                   disable=not self.progress)
        for ep in range(len(episodes), cfg.episodes):
            began = time.perf_counter()
            warm = ep < cfg.warmup_episodes
            sigma = 0.0 if warm else cfg.noise * cfg.noise_decay ** (ep - cfg.warmup_episodes)
            state, steps, done = env.reset(), [], False
            while not done:
                action = explore.random() if warm else agent.act(state, sigma)
                steps.append((state, action))
                state, _, done = env.step(action)
            counts = dict(env.counts)
            estimate = env.estimate()
            if estimate > budget_ms * (1 + 1e-9):
                raise RuntimeError(f"episode {ep} left the budget: {estimate:.4f} ms > {budget_ms:.4f} ms")
            value = self.reward(counts)
            agent.remember(steps, value)
            if not warm:
                agent.update(len(env.groups))
            record = {"episode": ep, "counts": counts, "ratios": {g: c / env.sizes[g] for g, c in counts.items()},
                      "estimate_ms": estimate, "reward": value, "sigma": sigma, "warmup": warm,
                      "seconds": time.perf_counter() - began}
            episodes.append(record)
            tmp = state_path.with_name(".state.pt.tmp")
            torch.save({"agent": agent.state_dict(), "episodes": [json.dumps(e) for e in episodes]}, tmp)
            tmp.replace(state_path)
            with open(self.out / "episodes.jsonl", "a") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
            bar.update(1)
            bar.set_postfix_str(f"reward {value:.4f}, best {max(e['reward'] for e in episodes):.4f}")
        bar.close()
        return episodes

    def _fits(self, counts: dict[str, int], start: dict, budget_ms: float) -> tuple[dict[str, int], float]:
        """The best policy's counts, cut further while the table (the whole network, not the per-group sum)
        says they miss the budget."""
        from netadapt.pruning import shrunk_copy

        latency = self._latency(start)
        counts = dict(counts)
        for _ in range(MAX_SHRINK_STEPS + 1):
            ms = start["measured_ms"] * self.estimator.total(shrunk_copy(self.base, self.graph, counts),
                                                             self.input_shape) / start["table_ms"]
            if ms <= budget_ms:
                return counts, ms
            smaller = {g: max(c2 for c2 in latency.grid(g) if c2 < c) for g, c in counts.items()
                       if any(c2 < c for c2 in latency.grid(g))}
            if not smaller:
                break
            g = min(smaller, key=lambda g: latency.deltas[g][smaller[g]] - latency.deltas[g][counts[g]])
            counts[g] = smaller[g]
        raise UserError(f"the best policy's network stays above the budget ({ms:.3f} ms > {budget_ms:.3f} ms)")

    def _final(self, best: dict, start: dict, budget_ms: float) -> dict:
        from netadapt.checkpoint import save_checkpoint
        from netadapt.export import export_onnx
        from netadapt.latency.paired import PairedConfig, compare_models, report_latency
        from netadapt.training import TrainConfig, evaluate, train

        done = rf.final_dir(self.out) / "info.json"
        if done.exists():
            return rf.read_json(done)
        cfg = self.config
        counts, table_estimate = self._fits(best["counts"], start, budget_ms)
        model = self._pruned(counts)
        tmp = rf.fresh_tmp_dir(self.out, "final")
        if cfg.finetune_epochs > 0:
            self.log(f"Fine-tuning the best policy's network: {cfg.finetune_epochs} epochs.")
            train(model, self.data, TrainConfig(epochs=cfg.finetune_epochs, lr=cfg.finetune_lr,
                                                batch_size=cfg.batch_size, seed=cfg.seed),
                  out_dir=self.out / "final_train", progress=self.progress, resume=True, device=self.train_device)
        onnx = export_onnx(model, tmp / "model.onnx", self.input_shape, verify=True)
        result = compare_models(self.device, str(onnx), str(self.out / "start" / "model.onnx"), self.input_shape,
                                threshold=budget_ms / start["measured_ms"],
                                config=PairedConfig(warmup=cfg.warmup, min_pairs=cfg.model_repeats))
        report = report_latency(result, start["measured_ms"], budget_ms)
        info = {"episode": best["episode"], "reward": best["reward"], "channels": counts,
                "ratios": {g: c / self.graph.groups[g].size for g, c in counts.items()},
                "table_estimate_ms": table_estimate, "measured_ms": report.ms, "measured_low_ms": report.low_ms,
                "measured_high_ms": report.high_ms, "pairs": report.pairs, "verdict": report.verdict,
                "measurement": str(report), "budget_ms": budget_ms, "budget_met": report.verdict == "met",
                "test_accuracy": evaluate(model, self.data.test), "holdout_accuracy": evaluate(model, self.holdout)}
        save_checkpoint(tmp / "model.pt", model, self.spec, self.input_shape, channels=counts, extra={"amc": True})
        rf.write_json(tmp / "info.json", info)
        rf.publish(tmp, rf.final_dir(self.out))
        shutil.rmtree(self.out / "final_train", ignore_errors=True)
        return info

    def run(self) -> dict:
        """The whole search; returns the final model's info."""
        self._setup()
        start = self._start()
        budget_ms = self.budget.resolve(start["measured_ms"])
        latency = self._latency(start)
        env = PruningEnv(latency, budget_ms, self.config.lowest_ratio)
        if latency.estimate({g: min(latency.grid(g)) for g in env.groups}) > budget_ms:
            raise UserError(f"budget {self.budget} ({budget_ms:.3f} ms) is below what the smallest network on the "
                            f"grid reaches; the start measured {start['measured_ms']:.3f} ms")
        self.log(f"Start: {start['measured_ms']:.3f} ms measured; budget {self.budget} = {budget_ms:.3f} ms; "
                 f"{len(env.groups)} groups.")
        episodes = self.search(env, budget_ms)
        best = max(episodes, key=lambda e: (e["reward"], -e["episode"]))
        self.log(f"Best policy: episode {best['episode']}, reward {best['reward']:.4f}, "
                 f"{best['estimate_ms']:.3f} ms estimated.")
        final = self._final(best, start, budget_ms)
        rf.write_json(self.out / "summary.json", {"budget_ms": budget_ms, "start_ms": start["measured_ms"],
                                                  "best_episode": best["episode"], "episodes": len(episodes),
                                                  "final": final})
        return final
