"""The terminal demo: a real 3-process cluster converging and surviving kill -9, then the same
story under loss and a partition on the deterministic simulator.

Run it with ``python -m convergent.demo`` (or ``./scripts/demo``). Part 1 starts three
``convergent node`` processes on tcp loopback; part 2 runs in virtual time, so the same seed
prints the same story.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import convergent as cv

CART = cv.ORSetKey("cart")
STOCK = cv.PNCounterKey("stock")
NAMES = ("A", "B", "C")


def _row(name: str, node: Any) -> str:
    if not node.alive:
        return f"  node {name}:  (down)"
    cart, stock = node.get(CART), node.get(STOCK)
    items = cart.elements() if cart is not None else []
    return f"  node {name}:  cart={items!s:<46} stock={stock.value if stock else 0}"


def show(nodes: list[Any], title: str) -> None:
    print(f"\n{title}")
    for name, node in zip(NAMES, nodes, strict=True):
        print(_row(name, node))


class _Timeline:
    """Samples every node's stock counter over wall time, for the convergence plot."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.t0 = time.monotonic()
        self.times: list[float] = []
        self.values: list[list[float]] = [[] for _ in NAMES]
        self.marks: list[tuple[float, str]] = []

    def sample(self) -> None:
        self.times.append(time.monotonic() - self.t0)
        for i, node in enumerate(self.cluster.nodes):
            stock = node.get(STOCK) if node.alive else None
            self.values[i].append(float("nan") if not node.alive else stock.value if stock else 0)

    def mark(self, label: str) -> None:
        self.marks.append((time.monotonic() - self.t0, label))

    def save_plot(self, path: str) -> str | None:
        """Writes the plot as a PNG; None (and a note) when matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("\n(no plot: matplotlib is not installed; pip install 'convergent[notebooks]')")
            return None
        fig, ax = plt.subplots(figsize=(8, 4))
        for name, values in zip(NAMES, self.values, strict=True):
            ax.plot(self.times, values, label=f"node {name}", drawstyle="steps-post")
        for t, label in self.marks:
            ax.axvline(t, color="grey", linestyle=":")
            ax.annotate(
                label,
                (t, 0.3),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="bottom",
                ha="right",
                fontsize=8,
            )
        ax.set_xlabel("seconds")
        ax.set_ylabel("stock (PNCounter) on each node")
        ax.set_title("3 node processes: writes, kill -9 of B, restart, convergence")
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path


def real_cluster(plot: str | None = None) -> bool:
    """Part 1: three node processes on tcp loopback; one is killed with SIGKILL and restarted.

    With ``plot``, every node's stock counter is sampled throughout and plotted to that PNG.
    """
    print("part 1: three `convergent node` processes on tcp://127.0.0.1, replicating over NNG")
    config = cv.Config(anti_entropy_interval=1.0, delta_flush_interval=0.02)
    with cv.LocalCluster(3, transport="tcp", processes=True, config=config) as cluster:
        cluster.wait_members(timeout=30)
        timeline = _Timeline(cluster)
        a, b, c = cluster.nodes
        t0 = time.monotonic()
        for i in range(100):
            (a, b, c)[i % 3].update(STOCK, lambda n: n.increment())
            if i % 5 == 0:
                timeline.sample()
                time.sleep(0.005)
        a.update(CART, lambda s: s.add("milk"))
        b.update(CART, lambda s: s.add("eggs"))
        c.update(CART, lambda s: s.add("bread"), write=cv.ALL)
        took = cluster.wait_converged(timeout=30, poll=timeline.sample)
        show(
            cluster.nodes,
            f"1. 103 updates from all three nodes; converged {took * 1e3:.0f} ms "
            f"after the last one ({(time.monotonic() - t0) * 1e3:.0f} ms in all)",
        )

        cluster.kill(1)
        timeline.mark("B killed")
        a.update(CART, lambda s: s.remove("milk"))
        for _ in range(8):
            c.update(STOCK, lambda n: n.decrement(5), write=cv.MAJORITY)  # 2 of 3 are up
            timeline.sample()
            time.sleep(0.02)
        show(cluster.nodes, "2. B killed with SIGKILL; A and C keep writing (MAJORITY = 2 of 3)")

        started = time.monotonic()
        cluster.start(1)  # returns once B is ready and every node reaches the others
        timeline.mark("B restarted")
        formed = time.monotonic() - started
        took = cluster.wait_converged(timeout=30, poll=timeline.sample)
        show(
            cluster.nodes,
            f"3. B restarted empty (a new incarnation), met its peers in {formed * 1e3:.0f} ms "
            f"and caught up {took * 1e3:.0f} ms later",
        )
        for _ in range(5):
            timeline.sample()
            time.sleep(0.02)
        first = cluster.nodes[0]
        cart, stock = first.get(CART), first.get(STOCK)
        values = {(str(n.get(CART)), n.get(STOCK).value) for n in cluster.nodes}
        ok = len(values) == 1 and stock.value == 60
        verdict = "all three processes converged" if ok else "processes DIFFER"
        print(f"\n{verdict}: cart={cart.elements()}, stock={stock.value}")
        if plot is not None and timeline.save_plot(plot) is not None:
            print(f"convergence plot: {plot}")
        return ok


def simulated(seed: int) -> bool:
    """Part 2: the simulator, with 20% frame loss, a partition and a crash."""
    print(f"\npart 2: the deterministic simulator, 3 nodes, 20% frame loss, seed {seed}")
    config = cv.Config(anti_entropy_interval=2.0)
    sim = cv.Simulation(nodes=3, seed=seed, config=config, loss=0.2, latency=0.005)
    a, b, c = sim.nodes
    changes: list[Any] = []
    c.subscribe(CART, changes.append)

    def at(title: str) -> None:
        show(sim.nodes, f"[t={sim.now:7.3f}s] {title}")

    a.update(CART, lambda s: (s.add("milk"), s.add("eggs")))
    a.update(STOCK, lambda n: n.increment(10))
    sim.run_until_converged()
    at("1. A fills the cart; the deltas reach B and C despite the loss")

    sim.partition([a, b], [c])
    b.update(CART, lambda s: s.remove("milk"))  # removes the milk B has seen ...
    c.update(CART, lambda s: s.add("milk"))  # ... while C adds milk concurrently: add wins
    b.update(CART, lambda s: s.add("coffee"))
    c.update(CART, lambda s: s.add("bread"))
    b.update(STOCK, lambda n: n.decrement(3))
    c.update(STOCK, lambda n: n.decrement(2))
    try:
        c.update(STOCK, lambda n: n.decrement(1), write=cv.MAJORITY, timeout=0.5)
    except cv.WriteTimeout:
        print("\n  C's MAJORITY write timed out: C is alone in its partition (the write stays)")
    sim.run_for(1.0)
    at("2. Partition {A, B} | {C}: concurrent edits on both sides")

    sim.heal()
    took = sim.run_until_converged()
    at(f"3. Healed: anti-entropy repaired both sides in {took:.2f} virtual seconds")

    sim.crash(b)
    a.update(CART, lambda s: s.add("tea"))
    sim.restart(1)  # a new incarnation with an empty store and a new replica id
    at("4. B crashed and restarted empty; A added tea meanwhile")
    took = sim.run_until_converged()
    at(f"5. B caught up from its peers in {took:.2f} virtual seconds")

    nodes = sim.nodes
    converged = sim.converged() and all(n.get(CART) == nodes[0].get(CART) for n in nodes)
    cart, stock = nodes[0].get(CART), nodes[0].get(STOCK)
    assert cart is not None and stock is not None
    verdict = "all three nodes converged" if converged else "nodes DIFFER"
    print(f"\n{verdict}: cart={cart.elements()}, stock={stock.value}")
    print("(milk survives: C's add was concurrent with B's remove, and adds win)")
    stats = sim.network_stats()
    print(
        f"C saw {len(changes)} changes of the cart; the network delivered "
        f"{stats['delivered']} frames and lost {stats['lost']}"
    )
    return converged


def main(seed: int = 7, *, processes: bool = True, plot: str | None = None) -> bool:
    ok = real_cluster(plot) if processes else True
    return simulated(seed) and ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7, help="the simulation's seed")
    parser.add_argument("--simulated-only", action="store_true", help="skip the real cluster")
    parser.add_argument(
        "--plot",
        default="convergence.png",
        help="where to save the real cluster's convergence plot (PNG; '' for none)",
    )
    args = parser.parse_args()
    ok = main(args.seed, processes=not args.simulated_only, plot=args.plot or None)
    raise SystemExit(0 if ok else 1)
