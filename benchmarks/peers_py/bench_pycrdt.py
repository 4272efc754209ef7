"""Peer benchmark: pycrdt (Python bindings of Yrs, the Rust port of Yjs), WORKLOADS.md W1-W5.

Mirrors ../shared/peers/node/bench_yjs.js. Yjs has no OR-Set, PN-Counter or MV-Register type;
the emulations are the same as there:
  set      -> Map[str, True]: add = m[e] = True, remove = del m[e] (NOT add-wins: a concurrent
              set/delete of one key is decided by YATA order, so W2 merges to another size)
  counter  -> Map with one key per replica holding that replica's count (a G-Counter emulation)
  LWW reg  -> one Map key; no MV register (nothing reported for it)
One implicit transaction per operation. Serializer/merge: Doc.get_update / Doc.apply_update (the
Yjs v1 update format); encoding the source is part of every merge time.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness as h  # noqa: E402
from pycrdt import Doc, Map  # noqa: E402

PEER = "pycrdt"


def doc(client: int) -> Doc:
    return Doc(client_id=client)


def w1(runs: int, n: int) -> None:
    nrm = n // 2
    e = h.elems(n)
    tot, adds, rms = [], [], []
    for _ in range(runs):
        m = doc(1).get("s", type=Map)
        t0 = h.now()
        for i in range(n):
            m[e[i]] = True
        t1 = h.now()
        for i in range(nrm):
            del m[e[i]]
        t2 = h.now()
        h.check(len(m) == n - nrm, f"W1 size {len(m)}")
        tot.append((n + nrm) / (t2 - t0))
        adds.append(n / (t1 - t0))
        rms.append(nrm / (t2 - t1))
    p = f"adds={n},removes={nrm},emulated=Map-as-set"
    h.emit(PEER, "W1", "ops_per_s", "ops/s", tot, p)
    h.emit(PEER, "W1", "add_ops_per_s", "ops/s", adds, p)
    h.emit(PEER, "W1", "remove_ops_per_s", "ops/s", rms, p)


def w2(runs: int, n: int) -> None:
    hh, q, rq = n // 2, n // 10, n // 5
    e = h.elems(n + hh)
    mt, by, enc = [], [], []
    final_size = -1
    for _ in range(runs):
        a, b = doc(1), doc(2)
        ma, mb = a.get("s", type=Map), b.get("s", type=Map)
        for i in range(n):
            ma[e[i]] = True
        for i in range(hh, n + hh):
            mb[e[i]] = True
        for i in range(hh - q, hh - q + rq):
            del ma[e[i]]
        for i in range(n - q, n - q + rq):
            del mb[e[i]]
        t0 = h.now()
        u = a.get_update()
        t1 = h.now()
        b.apply_update(u)
        t2 = h.now()
        final_size = len(mb)
        mt.append((t2 - t1) * 1e3)
        enc.append((t1 - t0) * 1e3)
        by.append(len(u))
    # add-wins would give n+h-2q; the Yjs map resolves concurrent set/delete keys by YATA order.
    p = (
        f"n_per_replica={n},removes={rq},codec=yjs-update-v1,"
        f"merged_size={final_size}(add-wins={n + hh - 2 * q})"
    )
    h.emit(PEER, "W2", "merge_ms", "ms", mt, p)
    h.emit(PEER, "W2", "encode_ms", "ms", enc, p)
    h.emit(PEER, "W2", "state_bytes_A", "bytes", by, p)


def w3(runs: int, n: int) -> None:
    keys = ["r" + str(k) for k in range(16)]
    ops, mt = [], []
    for _ in range(runs):
        reps = [doc(k + 1) for k in range(16)]
        maps = [r.get("c", type=Map) for r in reps]
        cnt = [0] * 16
        t0 = h.now()
        for i in range(n):
            k = i % 16
            cnt[k] += 1
            maps[k][keys[k]] = cnt[k]
        t1 = h.now()
        sink = doc(100)
        for k in range(16):
            sink.apply_update(reps[k].get_update())
        t2 = h.now()
        v = sum(sink.get("c", type=Map).values())
        h.check(v == n, f"W3 value {v}")
        ops.append(n / (t1 - t0))
        mt.append((t2 - t1) * 1e6)
    p = f"incs={n},replicas=16,emulated=Map-per-replica-count,merge=get_update+apply_update"
    h.emit(PEER, "W3", "inc_ops_per_s", "ops/s", ops, p)
    h.emit(PEER, "W3", "merge16_us", "us", mt, p)


def w4(runs: int, n: int) -> None:
    e = h.elems(n)
    tt, by = [], []
    for _ in range(runs):
        a, b = doc(1), doc(2)
        ma = a.get("s", type=Map)
        total = [0]

        def ship(ev, b=b, total=total):  # the update of this one transaction = the delta
            u = ev.update
            total[0] += len(u)
            b.apply_update(u)

        sub = a.observe(ship)
        t0 = h.now()
        for i in range(n):
            ma[e[i]] = True
        t1 = h.now()
        a.unobserve(sub)
        mb = b.get("s", type=Map)
        h.check(len(mb) == n and sorted(mb.keys()) == sorted(ma.keys()), f"W4 size {len(mb)}")
        tt.append((t1 - t0) * 1e3)
        by.append(total[0])
    p = f"adds={n},codec=yjs-update-v1,delta=transaction-event-update"
    h.emit(PEER, "W4", "total_ms", "ms", tt, p)
    h.emit(PEER, "W4", "delta_bytes_total", "bytes", by, p)


def w5(runs: int, n: int) -> None:
    lww = []
    for _ in range(runs):
        a, b = doc(1), doc(2)
        ma = a.get("r", type=Map)
        t0 = h.now()
        for i in range(n):
            ma["v"] = i
            b.apply_update(a.get_update(b.get_state()))
        t1 = h.now()
        got = b.get("r", type=Map)["v"]
        h.check(got == n - 1, f"W5 lww {got}")
        lww.append(n / (t1 - t0))
    p = f"iters={n},emulated=Map-key,merge=state-vector-diff"
    h.emit(PEER, "W5", "lww_set_merge_per_s", "iters/s", lww, p)


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
