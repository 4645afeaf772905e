"""The report of an AMC search folder: reward per episode, the best policy's keep ratio per group, and the
final network against the budget."""

from __future__ import annotations

import json
from pathlib import Path

from netadapt.errors import UserError
from netadapt.report.document import Figure, Heading, Paragraph, Table, to_html, to_markdown
from netadapt.runs import folder as rf


def is_amc_folder(path) -> bool:
    return (Path(path) / "episodes.jsonl").is_file()


def _plots(episodes: list[dict], ratios: dict[str, float], feeds: dict[str, str], out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    xs = [e["episode"] for e in episodes]
    ax.plot(xs, [e["reward"] for e in episodes], ".", color="tab:blue", alpha=0.6, label="episode reward")
    best, running = float("-inf"), []
    for e in episodes:
        best = max(best, e["reward"])
        running.append(best)
    ax.plot(xs, running, "-", color="tab:red", label="best so far")
    warm = [e["episode"] for e in episodes if e.get("warmup")]
    if warm:
        ax.axvspan(min(warm), max(warm), color="0.9", label="random warm-up")
    ax.set_xlabel("episode")
    ax.set_ylabel("reward (holdout score, no fine-tune)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    reward = out / "reward.png"
    fig.savefig(reward)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(ratios)), 4), dpi=100)
    kinds = sorted(set(feeds.get(g, "") for g in ratios))
    colours = dict(zip(kinds, plt.get_cmap("tab10").colors))
    for i, (g, r) in enumerate(ratios.items()):
        kind = feeds.get(g, "")
        ax.bar(i, r, color=colours[kind] if feeds else "tab:green", label=f"feeds {kind}" if kind else None)
    if feeds:
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=8)
    ax.set_xticks(range(len(ratios)), list(ratios), rotation=90, fontsize=7)
    ax.set_ylabel("keep ratio")
    ax.set_ylim(0, 1.05)
    ax.set_title("the best policy's keep ratio per group, in network order")
    fig.tight_layout()
    path = out / "ratios.png"
    fig.savefig(path)
    plt.close(fig)
    return {"reward.png": reward, "ratios.png": path}


LATE_EPISODES = 20


def keep_by_feeds(episodes: list[dict], ratios: dict[str, float], feeds: dict[str, str]) -> list[list]:
    """[kind, number of groups, mean keep ratio in ``ratios``, mean over the last agent episodes (None
    without any)] per kind of layer the groups feed, in order of the best policy's mean."""
    late = [e for e in episodes if not e.get("warmup")][-LATE_EPISODES:]
    rows = []
    for kind in sorted(set(feeds.get(g, "") for g in ratios)):
        groups = [g for g in ratios if feeds.get(g, "") == kind]
        mean_late = (sum(e["ratios"][g] for e in late for g in groups) / (len(late) * len(groups))) if late else None
        rows.append([kind, len(groups), sum(ratios[g] for g in groups) / len(groups), mean_late])
    return sorted(rows, key=lambda r: r[2])


def write_amc_report(folder, out_dir=None) -> dict[str, Path]:
    """Write ``reward.png``, ``ratios.png``, ``report.html`` and ``report.md`` for an AMC search folder."""
    folder = Path(folder)
    if not is_amc_folder(folder):
        raise UserError(f"{folder} is not an AMC search folder (no episodes.jsonl)")
    episodes = [json.loads(line) for line in (folder / "episodes.jsonl").read_text().splitlines() if line.strip()]
    final = rf.read_json(folder / "final" / "info.json") if (folder / "final" / "info.json").is_file() else None
    start = rf.read_json(folder / "start" / "info.json") if (folder / "start" / "info.json").is_file() else {}
    feeds = start.get("feeds", {})
    ratios = (final or {}).get("ratios") or max(episodes, key=lambda e: e["reward"])["ratios"]
    order = start.get("order", [])  # the network's order (JSON files keep the groups sorted by name)
    ratios = {**{g: ratios[g] for g in order if g in ratios}, **ratios}
    out = Path(out_dir) if out_dir is not None else folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    figures = _plots(episodes, ratios, feeds, out)
    blocks = [Heading("Result")]
    if final:
        blocks.append(Paragraph(f"Best policy from episode {final['episode']} (reward {final['reward']:.4f}): "
                                f"{final['measurement']}; test accuracy {final['test_accuracy']:.4f}."))
    else:
        blocks.append(Paragraph(f"{len(episodes)} episodes so far; no final network yet."))
    blocks += [Heading("Episodes"), Figure(figures["reward.png"], "Reward per episode and the best so far."),
               Heading("Keep ratios"), Figure(figures["ratios.png"], "The best policy's keep ratio per group."),
               Table(["group", "feeds", "keep ratio", "channels"],
                     [[g, feeds.get(g, ""), r, (final or {}).get("channels", {}).get(g)] for g, r in ratios.items()])]
    if feeds:
        blocks += [Heading("Keep ratio by what a group feeds"),
                   Paragraph(f"Mean keep ratio of the groups feeding each kind of layer: in the best policy, and "
                             f"over the agent's last {LATE_EPISODES} episodes (its learnt policy, warm-up "
                             f"excluded)."),
                   Table(["feeds", "groups", "best policy", f"agent's last {LATE_EPISODES}"],
                         [[k, n, best, late] for k, n, best, late in keep_by_feeds(episodes, ratios, feeds)])]
    title = f"AMC report: {folder.name}"
    written = dict(figures)
    written["report.html"] = out / "report.html"
    written["report.html"].write_text(to_html(title, blocks))
    written["report.md"] = out / "report.md"
    written["report.md"].write_text(to_markdown(title, blocks))
    return written
