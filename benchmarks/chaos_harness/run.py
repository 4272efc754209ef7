"""One chaos run, start to verdict: hosts and nodes up, clients and faults for ``duration``
seconds, the final heal, convergence, the checker, and what each process holds.

The nemesis (this module's ``_Nemesis``) applies the schedule's faults at their times on its own
thread; the final heal ends every fault: links back, paused nodes resumed, killed ones restarted
with their snapshots. Convergence is timed from there: the moment every node's digest is the same.
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import schedule
from .checker import DELETED, Anomaly, check
from .clients import Client, key_types, make_key, plain
from .history import Fault, History
from .network import Network
from .nodes import ANTI_ENTROPY_INTERVAL, ChaosNode, Usage, new_authkey, wait_formed
from .relay import Relay

CONVERGENCE_LIMIT = 60.0  # seconds after the final heal before a run is called divergent
# The target: converged within two anti-entropy rounds of the final heal. A slower run is not an
# anomaly (nothing is lost), but its working directory is kept with a trace of the convergence.
SLOW_CONVERGENCE = 2 * ANTI_ENTROPY_INTERVAL
# Log lines that are anomalies, by kind: a crash, or NNG wedged (its sockets could not close).
_LOG_ALARMS = {
    "panic": "crash",
    "Traceback": "crash",
    "Segmentation": "crash",
    "AddressSanitizer": "crash",
    "terminate called": "crash",
    "did not close within": "wedge",
}


@dataclass
class Result:
    seed: int
    nodes: int
    duration: float
    faults: collections.Counter[str]
    outcomes: collections.Counter[str]
    anomalies: list[Anomaly]
    convergence: float | None  # seconds after the final heal; None: not within the limit
    usage: list[Usage | None]
    history: History
    heal_at: float
    workdir: str | None = None  # kept when something went wrong
    notes: list[str] = field(default_factory=list)


class _Nemesis(threading.Thread):
    def __init__(
        self,
        faults: list[Fault],
        net: Network,
        relay: Relay,
        nodes: list[ChaosNode],
        history: History,
        t0: float,
        seed: int,
    ) -> None:
        super().__init__(name="chaos-nemesis", daemon=True)
        self._events = sorted(
            [(f.start, 0, i, f) for i, f in enumerate(faults)]
            + [(f.end, 1, i, f) for i, f in enumerate(faults)],
            key=lambda e: (e[0], -e[1], e[2]),  # at one instant, ends before begins
        )
        self._net, self._relay, self._nodes = net, relay, nodes
        self._history, self._t0 = history, t0
        self._rng = random.Random(seed ^ 0x5EED)
        self.stop = threading.Event()
        self.crashes: list[str] = []
        self.failure: BaseException | None = None
        self._stepped: list[Fault] = []  # clock steps in force

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def run(self) -> None:
        try:
            for when, is_end, _, fault in self._events:
                if self.stop.wait(max(0.0, when - self._now())):
                    return
                self._watch_crashes()
                (self._end if is_end else self._begin)(fault)
                if not is_end:
                    self._history.fault(fault)
        except BaseException as e:  # reported by the run, which then fails
            self.failure = e

    def _watch_crashes(self) -> None:
        for node in self._nodes:
            if node.crashed():
                self.crashes.append(
                    f"n{node.i} exited by itself ({node.exit_status()}; a core dump, if any, is in"
                    f" {node.core_dir}):\n{node.log_tail()}"
                )
                self._history.kill(self._now(), node.i)
                node.start()

    def _links(self, i: int) -> list[tuple[int, int]]:
        others = [j for j in range(len(self._nodes)) if j != i]
        return [(i, j) for j in others] + [(j, i) for j in others]

    def _begin(self, f: Fault) -> None:
        kind, p = f.kind, f.params
        if "pairs" in p:
            self._net.cut(p["pairs"])
        elif kind == "link-down":
            self._net.link_down(f.nodes[0])
        elif kind in ("stall", "latency", "loss"):
            for a, b in self._links(f.nodes[0]):
                self._relay.set(a, b, **p)
                self._net.relay(a, b, True)
        elif kind == "reset":
            self._net.reset(f.nodes[0])
        elif kind == "kill":
            self._history.kill(self._now(), f.nodes[0])
            self._nodes[f.nodes[0]].kill()
        elif kind == "pause":
            self._nodes[f.nodes[0]].pause()
        elif kind == "disk-full":
            self._nodes[f.nodes[0]].fill_disk()
        elif kind == "clock-step":
            node = self._nodes[f.nodes[0]]
            if node.admin is not None and node.alive:
                node.admin.step_wall_clock(p["seconds"])
                p["incarnation"] = node.incarnation
                self._stepped.append(f)

    def _end(self, f: Fault) -> None:
        kind, p = f.kind, f.params
        if "pairs" in p:
            self._net.heal(p["pairs"])
        elif kind == "link-down":
            self._net.link_up(f.nodes[0])
        elif kind in ("stall", "latency", "loss"):
            for a, b in self._links(f.nodes[0]):
                self._relay.set(a, b)  # a stall's held packets go on first
                self._net.relay(a, b, False)
        elif kind == "kill":
            node = self._nodes[f.nodes[0]]
            if p["snapshot"] == "wipe":
                node.wipe_snapshot()
            elif p["snapshot"] == "corrupt":
                f.detail += f" ({node.corrupt_snapshot(self._rng)})"
            node.start()
        elif kind == "pause":
            self._nodes[f.nodes[0]].resume()
        elif kind == "disk-full":
            self._nodes[f.nodes[0]].free_disk()
        elif kind == "clock-step":  # back, as NTP would (not on a process started since)
            node = self._nodes[f.nodes[0]]
            if f in self._stepped:
                self._stepped.remove(f)
                if node.admin is not None and node.alive and p["incarnation"] == node.incarnation:
                    node.admin.step_wall_clock(-p["seconds"])

    def heal_all(self) -> None:
        """Ends every fault still in force (after stop)."""
        self._net.heal_all()
        for f in list(self._stepped):
            self._end(f)
        for node in self._nodes:
            node.resume()
            node.free_disk()
        self._watch_crashes()
        for node in self._nodes:
            if not node.alive:
                node.start()


def _sample_usage(
    nodes: list[ChaosNode],
    t0: float,
    stop: threading.Event,
    out: list[tuple[float, int, int, Usage]],
) -> None:
    """Every second until the clients stop: what each node process holds."""
    while not stop.wait(1.0):
        for node in nodes:
            u = node.usage()
            if u is not None:
                out.append((time.monotonic() - t0, node.i, node.incarnation, u))


def _digests(nodes: list[ChaosNode]) -> list[int | None]:
    """Each node's store digest (None: the node did not answer)."""
    out: list[int | None] = []
    for node in nodes:
        try:
            assert node.admin is not None
            out.append(node.admin.digest())
        except Exception:
            out.append(None)
    return out


def _converge(nodes: list[ChaosNode], since: float, trace: list[str]) -> float | None:
    """Seconds from ``since`` (monotonic) until every node's digest is the same; None when not
    within CONVERGENCE_LIMIT. Each change of the nodes' digests is noted in ``trace``."""
    last: list[int | None] | None = None
    while (elapsed := time.monotonic() - since) < CONVERGENCE_LIMIT:
        digests = _digests(nodes)
        if digests != last:
            names = {d: chr(ord("A") + i) for i, d in enumerate(dict.fromkeys(digests))}
            trace.append(
                f"+{elapsed:6.2f} s  "
                + " ".join(f"n{i}:{'-' if d is None else names[d]}" for i, d in enumerate(digests))
            )
            last = digests
        if None not in digests and len(set(digests)) == 1:
            return elapsed
        time.sleep(0.05)
    return None


def _finals(nodes: list[ChaosNode]) -> list[dict[str, Any]]:
    types = key_types()
    finals = []
    for node in nodes:
        assert node.admin is not None
        r = node.admin.replicator
        values: dict[str, Any] = {}
        for name, t in types.items():
            key = make_key(t, name)
            values[name] = DELETED if r.deleted(key) else plain(t, r.get(key))
        finals.append(values)
    return finals


def _scan_logs(nodes: list[ChaosNode]) -> list[Anomaly]:
    out = []
    for node in nodes:
        tail = node.log_tail(10_000_000)
        for alarm, kind in _LOG_ALARMS.items():
            if alarm in tail:
                line = next(ln for ln in tail.splitlines() if alarm in ln)
                out.append(Anomaly(kind, f"n{node.i}", f"log: {line.strip()[:200]}"))
    return out


def _leaks(before: Usage | None, after: Usage | None, n: int, incarnation: int) -> bool:
    """Whether a node holds clearly more threads or descriptors than once formed (a restarted
    node's first sample was of another process: not compared)."""
    if before is None or after is None or incarnation > 1:
        return False
    return after.threads > before.threads + 4 or after.fds > before.fds + 4 * n


def _settled_usage(
    nodes: list[ChaosNode], baseline: list[Usage | None], n: int, wait: float = 5.0
) -> list[Usage | None]:
    """The nodes' usage once connections torn down by the faults are gone (at most ``wait``
    seconds later), so that a descriptor still closing is not called a leak."""
    deadline = time.monotonic() + wait
    while True:
        usage = [node.usage() for node in nodes]
        over = any(
            _leaks(b, u, n, node.incarnation)
            for b, u, node in zip(baseline, usage, nodes, strict=True)
        )
        if not over or time.monotonic() > deadline:
            return usage
        time.sleep(0.25)


def run(seed: int, n: int = 3, duration: float = 60.0, *, clients_per_node: int = 2) -> Result:
    """One schedule; the working directory (logs, snapshots) is kept when anything is wrong."""
    workdir = tempfile.mkdtemp(prefix=f"convergent-chaos-{seed}-")
    faults, crashable = schedule.generate(seed, n, duration)
    history = History(n)
    authkey = new_authkey()
    notes = ["crashable: " + ", ".join(f"n{i}" for i in crashable)]
    anomalies: list[Anomaly] = []
    nodes: list[ChaosNode] = []
    samples: list[tuple[float, int, int, Usage]] = []  # (time, node, incarnation, usage)
    with Network(n) as net:
        relay = Relay(net.namespaces, seed)
        try:
            nodes = [ChaosNode(net, i, workdir, authkey) for i in range(n)]
            for node in nodes:
                node.mount_disk()
                node.start()
            notes.append(f"formed in {wait_formed(nodes, 30.0):.1f} s")
            baseline = [node.usage() for node in nodes]
            t0 = time.monotonic()
            stop = threading.Event()
            clients = [
                Client(c, nodes[c % n], history, t0, duration, seed * 1000 + c, stop)
                for c in range(n * clients_per_node)
            ]
            nemesis = _Nemesis(faults, net, relay, nodes, history, t0, seed)
            sampler = threading.Thread(
                target=_sample_usage, args=(nodes, t0, stop, samples), daemon=True
            )
            sampler.start()
            nemesis.start()
            for c in clients:
                c.start()
            time.sleep(max(0.0, duration - (time.monotonic() - t0)))
            nemesis.stop.set()
            nemesis.join()
            if nemesis.failure is not None:
                raise nemesis.failure
            stop.set()
            nemesis.heal_all()
            heal_at = time.monotonic() - t0
            for c in clients:
                c.join(timeout=2 * 5.0 + 5.0)
                if c.is_alive():
                    anomalies.append(Anomaly("stuck", f"client {c.cid}", "still in a call"))
                for error in sorted(set(c.errors)):
                    anomalies.append(Anomaly("client-error", f"client {c.cid}", error))
            trace = [f"+{time.monotonic() - t0 - heal_at:6.2f} s  the clients' last calls ended"]
            convergence = _converge(nodes, t0 + heal_at, trace)
            slow = convergence is None or convergence > SLOW_CONVERGENCE
            if slow:
                notes.append(f"converged slower than {SLOW_CONVERGENCE:.0f} s: convergence.txt")
            if convergence is None:
                anomalies.append(
                    Anomaly(
                        "divergence", "*", f"digests differ {CONVERGENCE_LIMIT:.0f} s after heal"
                    )
                )
            anomalies += check(history, _finals(nodes), key_types())
            anomalies += [Anomaly("crash", "*", c[:2000]) for c in nemesis.crashes]
            usage = _settled_usage(nodes, baseline, n)
            for i, (before, after) in enumerate(zip(baseline, usage, strict=True)):
                if _leaks(before, after, n, nodes[i].incarnation):
                    assert before is not None and after is not None
                    detail = f"threads {before.threads} -> {after.threads}, "
                    detail += f"fds {before.fds} -> {after.fds}"
                    anomalies.append(Anomaly("leak", f"n{i}", detail))
                    with open(os.path.join(workdir, f"fds-{i}.txt"), "w") as f:
                        f.write(nodes[i].describe_fds())
            if anomalies or slow:  # what each node counted and held, beside the logs
                with open(os.path.join(workdir, "convergence.txt"), "w") as f:
                    f.write("seconds after the final heal; digests by letter\n")
                    f.writelines(f"{line}\n" for line in trace)
                with open(os.path.join(workdir, "usage.txt"), "w") as f:
                    f.writelines(
                        f"{t:7.2f} n{i} incarnation {inc}: threads {u.threads} fds {u.fds} "
                        f"rss {u.rss_bytes >> 20} MiB\n"
                        for t, i, inc, u in samples
                    )
                with open(os.path.join(workdir, "metrics.txt"), "w") as f:
                    for node in nodes:
                        if node.admin is not None and node.alive:
                            metrics = node.admin.metrics().items()
                            f.writelines(f"n{node.i} {k} {v}\n" for k, v in metrics)
        finally:
            for node in nodes:
                node.stop()
                node.unmount_disk()
            relay.close()
    anomalies += _scan_logs(nodes)
    kept = None
    if anomalies or slow:
        kept = workdir
        with open(os.path.join(workdir, "anomalies.txt"), "w") as f:
            f.writelines(f"{a.kind} {a.key}: {a.detail}\n" for a in anomalies)
        with open(os.path.join(workdir, "history.txt"), "w") as f:
            f.writelines(f"{x}\n" for x in sorted(history.faults, key=lambda x: x.start))
            f.writelines(f"kill {t:.3f} n{i}\n" for t, i in history.kills)
            f.writelines(f"{x}\n" for x in sorted(history.ops, key=lambda x: x.start))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return Result(
        seed=seed,
        nodes=n,
        duration=duration,
        faults=collections.Counter(f.kind for f in history.faults),
        outcomes=collections.Counter(
            f"{op.kind if op.kind == 'read' else 'write'} {op.level} {op.outcome}"
            for op in history.ops
        ),
        anomalies=anomalies,
        convergence=convergence,
        usage=usage,
        history=history,
        heal_at=heal_at,
        workdir=kept,
        notes=notes,
    )
