"""What chaos runs found: a table for the terminal and a timeline plot (PNG) of one run."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from .nodes import ANTI_ENTROPY_INTERVAL
from .run import Result

_COLORS = {
    "partition": "#d62728",
    "isolate": "#ff7f0e",
    "bridge": "#9467bd",
    "asymmetric": "#e377c2",
    "flap": "#bcbd22",
    "link-down": "#8c564b",
    "stall": "#17becf",
    "latency": "#7f7f7f",
    "loss": "#aec7e8",
    "reset": "#e7ba52",
    "kill": "#000000",
    "pause": "#2ca02c",
    "disk-full": "#9edae5",
    "clock-step": "#c49c94",
}


def _acked(r: Result) -> int:
    return sum(v for k, v in r.outcomes.items() if k.startswith("write") and k.endswith(" ok"))


def table(results: Sequence[Result]) -> str:
    """One line per run, then the totals: faults by kind, operations, anomalies by kind."""
    lines = [
        f"{'seed':>6} {'nodes':>5} {'secs':>5} {'faults':>6} {'ops':>6} {'acked':>6} "
        f"{'anomalies':>9} {'converged':>9} {'max RSS':>8}"
    ]
    faults: collections.Counter[str] = collections.Counter()
    anomalies: collections.Counter[str] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    worst = 0.0
    for r in results:
        faults += r.faults
        outcomes += r.outcomes
        anomalies += collections.Counter(a.kind for a in r.anomalies)
        conv = "never" if r.convergence is None else f"{r.convergence:.2f} s"
        if r.convergence is not None:
            worst = max(worst, r.convergence)
        rss = max((u.rss_bytes for u in r.usage if u is not None), default=0) / 2**20
        lines.append(
            f"{r.seed:>6} {r.nodes:>5} {r.duration:>5.0f} {sum(r.faults.values()):>6} "
            f"{len(r.history.ops):>6} {_acked(r):>6} {len(r.anomalies):>9} {conv:>9} "
            f"{rss:>6.0f} MB"
        )
    lines.append("")
    lines.append(f"schedules: {len(results)}")
    lines.append("faults injected: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
    lines.append(f"operations: {sum(outcomes.values())}")
    for k, v in sorted(outcomes.items()):
        lines.append(f"  {k:<24} {v:>8}")
    lines.append(
        "anomalies: "
        + (", ".join(f"{k} {v}" for k, v in sorted(anomalies.items())) if anomalies else "none")
    )
    never = sum(1 for r in results if r.convergence is None)
    target = 2 * ANTI_ENTROPY_INTERVAL
    slow = sum(1 for r in results if r.convergence is not None and r.convergence >= target)
    lines.append(
        f"worst convergence after the final heal: {worst:.2f} s"
        + (f" ({never} never converged)" if never else "")
        + f"; target under 2 anti-entropy intervals ({target:.0f} s): "
        + (f"missed in {slow} of {len(results)} runs" if slow else "met")
    )
    for r in results:
        for a in r.anomalies:
            lines.append(f"  seed {r.seed}: {a.kind} {a.key}: {a.detail}")
        if r.workdir:
            lines.append(f"  seed {r.seed}: logs and snapshots kept in {r.workdir}")
    return "\n".join(lines)


def plot(result: Result, path: str) -> None:
    """The run's timeline: faults per node, every call as a tick by outcome, heal, convergence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = result.history
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.9 * h.nodes))
    seen: set[str] = set()
    for f in h.faults:
        lanes = f.nodes if len(f.nodes) < h.nodes else range(h.nodes)
        for i in lanes:
            width = max(f.end - f.start, 0.08)
            label = None if f.kind in seen else f.kind
            seen.add(f.kind)
            ax.broken_barh(
                [(f.start, width)],
                (i - 0.4, 0.35),
                color=_COLORS.get(f.kind, "grey"),
                label=label,
                alpha=0.8,
            )
    marks = {
        "ok": ("#2ca02c", "acknowledged"),
        "timeout": ("#ff7f0e", "timed out"),
        "unknown": ("#d62728", "unknown"),
        "rejected": ("#7f7f7f", "rejected"),
    }
    for outcome, (color, label) in marks.items():
        ops = [op for op in h.ops if op.outcome == outcome]
        ax.scatter(
            [op.end for op in ops],
            [op.node + 0.05 + 0.3 * ((op.client // h.nodes) % 2) for op in ops],
            s=4,
            color=color,
            label=label,
            marker="|",
        )
    ax.axvline(result.heal_at, color="black", linestyle="--", linewidth=1, label="final heal")
    if result.convergence is not None:
        ax.axvline(
            result.heal_at + result.convergence,
            color="blue",
            linewidth=1,
            label=f"converged (+{result.convergence:.2f} s)",
        )
    ax.set_yticks(range(h.nodes), [f"n{i}" for i in range(h.nodes)])
    ax.set_xlabel("seconds")
    ax.set_title(
        f"chaos run, seed {result.seed}: {len(h.ops)} calls, {sum(result.faults.values())} "
        f"faults, {len(result.anomalies)} anomalies"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
