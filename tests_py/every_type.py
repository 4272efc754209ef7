"""One update of every CRDT type, shared by the replication tests (simulated and real clusters)."""

from __future__ import annotations

from typing import Any

import convergent as cv

# (key, update function), one per type; each keeps the value simple to check.
EVERY_TYPE_UPDATES: list[tuple[cv.Key[Any], Any]] = [
    (cv.GCounterKey("g"), lambda v: v.increment(2)),
    (cv.PNCounterKey("p"), lambda v: v.decrement(3)),
    (cv.LWWRegisterKey("r"), lambda v: v.set({"x": [1, 2]})),
    (cv.ORSetKey("s"), lambda v: v.add("milk")),
    (cv.FlagKey("f"), lambda v: v.enable()),
    (cv.MVRegisterKey("mv"), lambda v: v.set("m")),
    (cv.GSetKey("gs"), lambda v: v.add(7)),
    (cv.ORMapKey("om"), lambda v: v.update("n", cv.PNCounter, lambda e: e.increment(4))),
    (cv.LWWMapKey("lm"), lambda v: v.put("k", "v")),
    (cv.PNCounterMapKey("pm"), lambda v: v.increment("k", 5)),
    (cv.ORMultiMapKey("mm"), lambda v: v.add("k", 1)),
]
