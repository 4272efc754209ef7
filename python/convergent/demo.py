"""A terminal demo: a simulated 3-node cluster that diverges, heals, loses a node and converges.

Run it with ``python -m convergent.demo`` (or ``./scripts/demo``). Everything runs in virtual time
on the deterministic simulator, so the same seed prints the same story.
"""

from __future__ import annotations

import argparse
from typing import Any

import convergent as cv

CART = cv.ORSetKey("cart")
STOCK = cv.PNCounterKey("stock")
NAMES = ("A", "B", "C")


def show(sim: cv.Simulation, title: str) -> None:
    print(f"\n[t={sim.now:7.3f}s] {title}")
    for name, node in zip(NAMES, sim.nodes, strict=True):
        if not node.alive:
            print(f"  node {name}:  (down)")
            continue
        cart, stock = node.get(CART), node.get(STOCK)
        items = cart.elements() if cart is not None else []
        print(f"  node {name}:  cart={items!s:<46} stock={stock.value if stock else 0}")


def main(seed: int = 7) -> bool:
    config = cv.Config(anti_entropy_interval=2.0)
    sim = cv.Simulation(nodes=3, seed=seed, config=config, loss=0.2, latency=0.005)
    a, b, c = sim.nodes
    print("convergent demo: a shopping cart (ORSet) and a stock counter (PNCounter) on a")
    print(f"simulated 3-node cluster with 20% frame loss, in virtual time (seed {seed})")
    changes: list[Any] = []
    c.subscribe(CART, changes.append)

    a.update(CART, lambda s: (s.add("milk"), s.add("eggs")))
    a.update(STOCK, lambda n: n.increment(10))
    sim.run_until_converged()
    show(sim, "1. A fills the cart; the deltas reach B and C despite the loss")

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
    show(sim, "2. Partition {A, B} | {C}: concurrent edits on both sides")

    sim.heal()
    took = sim.run_until_converged()
    show(sim, f"3. Healed: anti-entropy repaired both sides in {took:.2f} virtual seconds")

    sim.crash(b)
    a.update(CART, lambda s: s.add("tea"))
    b = sim.restart(1)  # a new incarnation with an empty store and a new replica id
    show(sim, "4. B crashed and restarted empty; A added tea meanwhile")
    took = sim.run_until_converged()
    show(sim, f"5. B caught up from its peers in {took:.2f} virtual seconds")

    nodes = sim.nodes
    converged = sim.converged() and all(n.get(CART) == nodes[0].get(CART) for n in nodes)
    cart, stock = nodes[0].get(CART), nodes[0].get(STOCK)
    assert cart is not None and stock is not None
    verdict = "all three nodes converged" if converged else "nodes DIFFER"
    print(f"\n{verdict}: cart={cart.elements()}, stock={stock.value}")
    print("(milk survives: C's add was concurrent with B's remove, and adds win)")
    print(
        f"C saw {len(changes)} changes of the cart; the network delivered "
        f"{sim.network_stats()['delivered']} frames and lost {sim.network_stats()['lost']}"
    )
    return converged


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7, help="the simulation's seed")
    raise SystemExit(0 if main(parser.parse_args().seed) else 1)
