"""Peer benchmark: loro (Python bindings of the Loro Rust core), WORKLOADS.md W1-W5.

Mirrors ../shared/peers/node/bench_loro.js. Loro has no OR-Set type: the set is emulated as
LoroMap keys (insert(e, True) / delete(e)); LoroMap is a LWW map (Lamport timestamp, then peer id),
so a concurrent add/remove is NOT add-wins and W2 merges to another size. Counter = LoroCounter (a
real PN counter). LWW register = one LoroMap key; no MV register (nothing reported for it).
One doc.commit() per operation. Serializer: export(Snapshot) / export(Updates); import_ merges.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness as h  # noqa: E402
from loro import ExportMode, LoroDoc, VersionVector  # noqa: E402

PEER = "loro-py"


def doc(peer: int) -> LoroDoc:
    d = LoroDoc()
    d.peer_id = peer
    return d


def w1(runs: int, n: int) -> None:
    nrm = n // 2
    e = h.elems(n)
    tot, adds, rms = [], [], []
    for _ in range(runs):
        a = doc(1)
        m = a.get_map("s")
        t0 = h.now()
        for i in range(n):
            m.insert(e[i], True)
            a.commit()
        t1 = h.now()
        for i in range(nrm):
            m.delete(e[i])
            a.commit()
        t2 = h.now()
        h.check(len(m) == n - nrm, f"W1 size {len(m)}")
        tot.append((n + nrm) / (t2 - t0))
        adds.append(n / (t1 - t0))
        rms.append(nrm / (t2 - t1))
    p = f"adds={n},removes={nrm},emulated=LoroMap-as-set,commit-per-op"
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
        ma, mb = a.get_map("s"), b.get_map("s")
        for i in range(n):
            ma.insert(e[i], True)
            a.commit()
        for i in range(hh, n + hh):
            mb.insert(e[i], True)
            b.commit()
        for i in range(hh - q, hh - q + rq):
            ma.delete(e[i])
            a.commit()
        for i in range(n - q, n - q + rq):
            mb.delete(e[i])
            b.commit()
        t0 = h.now()
        data = a.export(ExportMode.Snapshot())
        t1 = h.now()
        b.import_(data)
        t2 = h.now()
        final_size = len(mb)
        mt.append((t2 - t1) * 1e3)
        enc.append((t1 - t0) * 1e3)
        by.append(len(data))
    p = (
        f"n_per_replica={n},removes={rq},codec=snapshot,merge=import(snapshot),"
        f"merged_size={final_size}(add-wins={n + hh - 2 * q})"
    )
    h.emit(PEER, "W2", "merge_ms", "ms", mt, p)
    h.emit(PEER, "W2", "encode_ms", "ms", enc, p)
    h.emit(PEER, "W2", "state_bytes_A", "bytes", by, p)


def w3(runs: int, n: int) -> None:
    ops, mt = [], []
    for _ in range(runs):
        reps = [doc(k + 1) for k in range(16)]
        cs = [r.get_counter("c") for r in reps]
        t0 = h.now()
        for i in range(n):
            k = i % 16
            cs[k].increment(1)
            reps[k].commit()
        t1 = h.now()
        sink = doc(100)
        for k in range(16):
            sink.import_(reps[k].export(ExportMode.Updates(VersionVector())))  # all updates
        t2 = h.now()
        v = sink.get_counter("c").value
        h.check(v == n, f"W3 value {v}")
        ops.append(n / (t1 - t0))
        mt.append((t2 - t1) * 1e6)
    p = f"incs={n},replicas=16,type=LoroCounter,commit-per-op,merge=export(update)+import"
    h.emit(PEER, "W3", "inc_ops_per_s", "ops/s", ops, p)
    h.emit(PEER, "W3", "merge16_us", "us", mt, p)


def w4(runs: int, n: int) -> None:
    e = h.elems(n)
    tt, by = [], []
    for _ in range(runs):
        a, b = doc(1), doc(2)
        ma = a.get_map("s")
        total = [0]

        def ship(u: bytes, b: LoroDoc = b, total: list[int] = total) -> bool:
            total[0] += len(u)
            b.import_(u)
            return True  # stay subscribed

        sub = a.subscribe_local_update(ship)
        t0 = h.now()
        for i in range(n):
            ma.insert(e[i], True)  # the delta = the local update of this commit
            a.commit()
        t1 = h.now()
        sub.unsubscribe()
        mb = b.get_map("s")
        h.check(len(mb) == n and sorted(mb.keys()) == sorted(ma.keys()), f"W4 size {len(mb)}")
        tt.append((t1 - t0) * 1e3)
        by.append(total[0])
    p = f"adds={n},codec=loro-update,delta=subscribe_local_update"
    h.emit(PEER, "W4", "total_ms", "ms", tt, p)
    h.emit(PEER, "W4", "delta_bytes_total", "bytes", by, p)


def w5(runs: int, n: int) -> None:
    lww = []
    for _ in range(runs):
        a, b = doc(1), doc(2)
        ma = a.get_map("r")
        t0 = h.now()
        for i in range(n):
            ma.insert("v", i)
            a.commit()
            b.import_(a.export(ExportMode.Updates(b.oplog_vv)))
        t1 = h.now()
        got = b.get_map("r").get("v").value
        h.check(got == n - 1, f"W5 lww {got}")
        lww.append(n / (t1 - t0))
    p = f"iters={n},emulated=LoroMap-key,merge=export(update,from=B.version)+import"
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
