"""The CRDT peer workloads W1-W5 (WORKLOADS.md) through convergent's Python API.

Peer name ``convergent-py``; same output as the other peers (see harness.py), so that
benchmarks/compare can set it side by side with pycrdt and loro-py as ratios. Everything is run at
the canonical sizes by default (each run takes seconds). Environment: RUNS, W1_N .. W5_N, ONLY.
Serializer: to_bytes() / from_bytes() (the protobuf envelope of the C++ codec). Each value is
created as its replica (cv.ORSet(replica="A")), so mutators take no replica argument.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

import convergent as cv  # noqa: E402

PEER = "convergent-py"


def w1(runs: int, n: int) -> None:
    nrm = n // 2
    e = h.elems(n)
    tot, adds, rms = [], [], []
    for _ in range(runs):
        a = cv.ORSet(replica="A")
        t0 = h.now()
        for i in range(n):
            a.add(e[i])
        t1 = h.now()
        for i in range(nrm):
            a.remove(e[i])
        t2 = h.now()
        h.check(len(a) == n - nrm, f"W1 |A| = {len(a)}, want {n - nrm}")
        tot.append((n + nrm) / (t2 - t0))
        adds.append(n / (t1 - t0))
        rms.append(nrm / (t2 - t1))
    p = f"adds={n},removes={nrm}"
    h.emit(PEER, "W1", "ops_per_s", "ops/s", tot, p)
    h.emit(PEER, "W1", "add_ops_per_s", "ops/s", adds, p)
    h.emit(PEER, "W1", "remove_ops_per_s", "ops/s", rms, p)


def w2(runs: int, n: int) -> None:
    hh, q, rq = n // 2, n // 10, n // 5
    e = h.elems(n + hh)
    mt, enc, by = [], [], []
    for _ in range(runs):
        a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
        for i in range(n):
            a.add(e[i])
        for i in range(hh, n + hh):
            b.add(e[i])
        for i in range(hh - q, hh - q + rq):
            a.remove(e[i])
        for i in range(n - q, n - q + rq):
            b.remove(e[i])
        t0 = h.now()
        state = a.to_bytes()
        t1 = h.now()
        b.merge(a)
        t2 = h.now()
        want = n + hh - 2 * q
        h.check(len(b) == want, f"W2 |B| = {len(b)}, want {want}")
        h.check(cv.ORSet.from_bytes(state) == a, "W2 from_bytes(to_bytes(A)) != A")
        enc.append((t1 - t0) * 1e3)
        mt.append((t2 - t1) * 1e3)
        by.append(len(state))
    p = f"n_per_replica={n},removes={rq},codec=protobuf"
    h.emit(PEER, "W2", "merge_ms", "ms", mt, p)
    h.emit(PEER, "W2", "encode_ms", "ms", enc, p)
    h.emit(PEER, "W2", "state_bytes_A", "bytes", by, p)


def w3(runs: int, n: int) -> None:
    ids = ["r" + str(k) for k in range(16)]
    ops, mt = [], []
    for _ in range(runs):
        reps = [cv.PNCounter(replica=r) for r in ids]
        t0 = h.now()
        for i in range(n):
            k = i % 16
            reps[k].increment(1)
        t1 = h.now()
        sink = cv.PNCounter(replica="sink")
        for rep in reps:
            sink.merge(rep)
        t2 = h.now()
        h.check(sink.value == n, f"W3 sink = {sink.value}, want {n}")
        ops.append(n / (t1 - t0))
        mt.append((t2 - t1) * 1e6)
    p = f"incs={n},replicas=16"
    h.emit(PEER, "W3", "inc_ops_per_s", "ops/s", ops, p)
    h.emit(PEER, "W3", "merge16_us", "us", mt, p)


def w4(runs: int, n: int) -> None:
    e = h.elems(n)
    tt, by = [], []
    for _ in range(runs):
        a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
        total = 0
        t0 = h.now()
        for i in range(n):
            d = a.add(e[i])
            s = d.to_bytes()
            total += len(s)
            b.merge(cv.ORSet.from_bytes(s))
        t1 = h.now()
        h.check(len(b) == n, f"W4 |B| = {len(b)}, want {n}")
        h.check(b.elements() == a.elements(), "W4 B.elements != A.elements")
        tt.append((t1 - t0) * 1e3)
        by.append(total)
    p = f"adds={n},codec=protobuf,delta=ORSet"
    h.emit(PEER, "W4", "total_ms", "ms", tt, p)
    h.emit(PEER, "W4", "delta_bytes_total", "bytes", by, p)


def w5(runs: int, n: int) -> None:
    lww, mv = [], []
    for _ in range(runs):
        a, b = cv.LWWRegister(replica="A"), cv.LWWRegister(replica="B")
        t0 = h.now()
        for i in range(n):
            a.set(i, timestamp=i + 1)
            b.merge(a)
        t1 = h.now()
        h.check(b.value == n - 1, f"W5 LWW B.value = {b.value!r}, want {n - 1}")
        lww.append(n / (t1 - t0))

        ma, mb = cv.MVRegister(replica="A"), cv.MVRegister(replica="B")
        t2 = h.now()
        for i in range(n):
            ma.set(i)
            mb.merge(ma)
        t3 = h.now()
        h.check(list(mb.values) == [n - 1], f"W5 MV B.values = {mb.values!r}, want [{n - 1}]")
        mv.append(n / (t3 - t2))
    p = f"iters={n}"
    h.emit(PEER, "W5", "lww_set_merge_per_s", "iters/s", lww, p)
    h.emit(PEER, "W5", "mv_set_merge_per_s", "iters/s", mv, p)


def main() -> None:
    runs = h.runs()
    if h.want("W1"):
        w1(runs, h.size("W1_N"))
    if h.want("W2"):
        w2(runs, h.size("W2_N"))
    if h.want("W3"):
        w3(runs, h.size("W3_N"))
    if h.want("W4"):
        w4(runs, h.size("W4_N"))
    if h.want("W5"):
        w5(runs, h.size("W5_N"))


if __name__ == "__main__":
    main()
