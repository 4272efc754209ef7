"""The stall benchmark (``benchmarks/chaos stall``): does a writer's memory stay bounded while
the link to one peer is stalled?

Three hosts: a writer node (writer.py, ``rate`` unique ORSet adds per second) and two
``convergent node`` processes. After ``warmup`` seconds both directions of the link between the
writer and n1 are held by the relay for ``stall`` seconds (TCP stays open and makes no progress),
then released; the writer goes on for 5 more seconds. The same run without the stall, measured
just before, is the baseline: the stalled run's extra memory is what the stalled peer costs the
writer. Convergence is timed from the writer's last update.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .network import Network
from .nodes import ChaosNode, new_authkey
from .relay import Relay


@dataclass
class Series:
    stalled: bool
    lines: list[dict[str, Any]] = field(default_factory=list)
    convergence: float | None = None
    relay_dropped: int = 0
    relay_held: int = 0  # packets held when the stall ended

    def rss_at(self, t: float) -> int:
        return min((ln for ln in self.lines), key=lambda ln: abs(ln["t"] - t))["rss"]

    def max_rss(self, t0: float, t1: float) -> int:
        return max(ln["rss"] for ln in self.lines if t0 <= ln["t"] <= t1)


def measure(stalled: bool, rate: float, warmup: float, stall: float) -> Series:
    series = Series(stalled)
    workdir = tempfile.mkdtemp(prefix="convergent-stall-")
    seconds = warmup + stall + 5.0
    with Network(3) as net:
        relay = Relay(net.namespaces, 1)
        nodes = [ChaosNode(net, i, workdir, new_authkey()) for i in (1, 2)]
        opts = {
            "listen": net.url(0),
            "seeds": [net.url(1), net.url(2)],
            "rate": rate,
            "seconds": seconds,
            "report": 0.5,
        }
        env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))}
        writer = subprocess.Popen(
            [*net.exec_prefix(0), sys.executable, "-m", "chaos_harness.writer", json.dumps(opts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "ready"
            for node in nodes:
                node.start()

            def read() -> None:
                assert writer.stdout is not None
                for line in writer.stdout:
                    series.lines.append(json.loads(line))

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            start = time.monotonic()
            time.sleep(warmup)
            links = [(0, 1), (1, 0)]
            if stalled:
                for a, b in links:
                    relay.set(a, b, stall=True)
                    net.relay(a, b, True)
            time.sleep(stall)
            if stalled:
                stats = [relay.stats(a, b) for a, b in links]
                series.relay_dropped = sum(st["dropped"] for st in stats)
                series.relay_held = sum(st["held"] for st in stats)
                for a, b in links:
                    relay.set(a, b)
                    net.relay(a, b, False)
            time.sleep(max(0.0, seconds - (time.monotonic() - start)))
            written = time.monotonic()
            deadline = time.monotonic() + 60.0
            while time.monotonic() < deadline:
                digests = {n.admin.digest() for n in nodes if n.admin is not None}
                if series.lines and digests == {series.lines[-1]["digest"]}:
                    series.convergence = time.monotonic() - written
                    break
                time.sleep(0.25)
        finally:
            for node in nodes:
                node.stop()
            if writer.stdin is not None:
                writer.stdin.close()
            writer.wait(timeout=30)
            relay.close()
    return series


def main(rate: float, warmup: float, stall: float) -> int:
    base = measure(False, rate, warmup, stall)
    held = measure(True, rate, warmup, stall)
    end = warmup + stall
    mib = 2**20
    rows = []
    for s in (base, held):
        at_start = s.rss_at(warmup)
        peak = s.max_rss(warmup, end)
        conv = "never" if s.convergence is None else f"{s.convergence:.2f} s"
        last = s.lines[-1]
        rate_done = last["written"] / min(last["t"], warmup + stall + 5.0)
        rows.append((s, at_start, peak))
        print(
            f"{'stalled' if s.stalled else 'baseline':>8}: RSS {at_start / mib:.1f} MiB at "
            f"{warmup:.0f} s, peak {peak / mib:.1f} MiB by {end:.0f} s "
            f"(+{(peak - at_start) / mib:.1f}), {rate_done:.0f} updates/s written, "
            f"writer's dropped sends {s.lines[-1]['dropped']:.0f}, packets held by the relay "
            f"{s.relay_held} (dropped {s.relay_dropped}), converged {conv} after the last write"
        )
    growth_base = rows[0][2] - rows[0][1]
    growth_held = rows[1][2] - rows[1][1]
    extra = growth_held - growth_base
    print(
        f"a {stall:.0f} s stall at {rate:.0f} updates/s cost the writer {extra / mib:+.1f} MiB "
        f"over the baseline's growth ({growth_held / mib:.1f} vs {growth_base / mib:.1f} MiB)"
    )
    return 0 if held.convergence is not None else 1
