"""A terminal demo of the CRDT core: three replicas diverge, exchange deltas, converge.

Run it with ``python -m convergent.demo`` (or ``./scripts/demo``).
"""

from __future__ import annotations

import random

import convergent as cv

NAMES = ("A", "B", "C")


def show(title: str, carts: dict[str, cv.ORSet], stock: dict[str, cv.PNCounter]) -> None:
    print(f"\n{title}")
    for n in NAMES:
        print(f"  replica {n}:  cart={carts[n].elements()!s:<32} stock={stock[n].value}")


def main(seed: int = 7) -> bool:
    carts = {n: cv.ORSet(replica=n) for n in NAMES}
    stock = {n: cv.PNCounter(replica=n) for n in NAMES}
    deltas: list[tuple[str, cv.ORSet | cv.PNCounter]] = []  # (origin, delta)

    def do(name: str, delta: cv.ORSet | cv.PNCounter) -> None:
        deltas.append((name, delta))

    print("convergent demo: a shopping cart (ORSet) and a stock counter (PNCounter), 3 replicas")
    do("A", carts["A"].add("milk"))
    do("A", carts["A"].add("eggs"))
    do("A", stock["A"].increment(10))
    carts["B"].merge(carts["A"])  # B has seen A's milk and eggs; C has not
    show("1. A fills the cart; only B syncs with A:", carts, stock)

    do("B", carts["B"].remove("milk"))  # removes the milk B has seen ...
    do("C", carts["C"].add("milk"))  # ... while C adds milk concurrently: add wins
    do("B", carts["B"].add("coffee"))
    do("C", carts["C"].add("bread"))
    do("A", carts["A"].remove("eggs"))
    do("B", stock["B"].decrement(3))
    do("C", stock["C"].decrement(2))
    show("2. Concurrent edits while the replicas cannot talk:", carts, stock)

    rng = random.Random(seed)
    inbox = deltas + [rng.choice(deltas)]  # one delta arrives twice
    rng.shuffle(inbox)
    for origin, delta in inbox:
        for n in (n for n in NAMES if n != origin):
            if isinstance(delta, cv.ORSet):
                carts[n].merge(delta)
            else:
                stock[n].merge(delta)
    show(f"3. {len(inbox)} deltas delivered in a shuffled order, one of them twice:", carts, stock)

    for a in NAMES:  # anti-entropy: full states, in both directions
        for b in NAMES:
            carts[a].merge(carts[b])
            stock[a].merge(stock[b])
    show("4. Full states merged as well:", carts, stock)

    converged = all(carts[n] == carts["A"] and stock[n] == stock["A"] for n in NAMES)
    verdict = "all three replicas converged" if converged else "replicas DIFFER"
    print(f"\n{verdict}: cart={carts['A'].elements()}, stock={stock['A'].value}")
    print("(milk survives: C's add was concurrent with B's remove, and adds win)")
    return converged


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
