"""Plots the results of benchmarks/scaling (lines "dimension x metric value") into one PNG: a
column per dimension (keys, elements per key, value size, nodes), a row per metric (updates/s,
bytes sent per update, resident bytes per item), x logarithmic, y too where it spans more than
a factor of 10, and prints them as a table.

    python benchmarks/scaling_plot.py RESULTS.tsv OUT.png
"""

from __future__ import annotations

import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

DIMENSIONS = [
    ("keys", "keys in the store"),
    ("elements", "elements of the key"),
    ("value", "value size (bytes)"),
    ("nodes", "nodes (simulated)"),
]
METRICS = [
    ("updates_per_s", "updates/s"),
    ("bytes_per_update", "bytes sent per update"),
    ("resident_bytes_per_item", "resident bytes per item"),
]


def main() -> int:
    results, out = sys.argv[1], sys.argv[2]
    data: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    with open(results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                dim, x, metric, value = parts
                data[(dim, metric)].append((float(x), float(value)))
    fig, axes = plt.subplots(len(METRICS), len(DIMENSIONS), figsize=(16, 10), squeeze=False)
    for col, (dim, xlabel) in enumerate(DIMENSIONS):
        for row, (metric, ylabel) in enumerate(METRICS):
            ax = axes[row][col]
            points = sorted(data.get((dim, metric), []))
            if not points:
                ax.set_visible(False)
                continue
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o")
            ax.set_xscale("log")
            ax.set_xticks(xs, [f"{x:g}" for x in xs], rotation=45)
            ax.xaxis.set_minor_locator(NullLocator())
            if max(ys) > 10 * min(ys):
                ax.set_yscale("log")
            else:  # a narrow range: linear from 0, so that a small change looks small
                ax.set_ylim(0, max(ys) * 1.1)
            ax.grid(True, which="both", alpha=0.3)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            print(f"{dim:9} {metric:24} " + "  ".join(f"{x:g}: {y:.4g}" for x, y in points))
    fig.suptitle("convergent: cost of replication as things grow (benchmarks/scaling)")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(f"plot: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
