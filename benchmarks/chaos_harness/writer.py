"""A node that writes at a fixed rate: the writer of the stall benchmark (stall.py), run on its
own network host as ``python -m chaos_harness.writer '<json options>'``.

It runs a cv.Node in this process, adds ``rate`` unique elements per second to 100 ORSet keys for
``seconds`` seconds, and prints one JSON line every ``report`` seconds: seconds since start, updates
written, its RSS, its digest and the transport's dropped sends. It stops when its standard input
closes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import convergent as cv

from .nodes import usage


def main() -> None:
    opts = json.loads(sys.argv[1])
    config = cv.Config(anti_entropy_interval=float(opts.get("anti_entropy_interval", 5.0)))
    node = cv.Node(
        opts["listen"],
        seeds=opts["seeds"],
        config=config,
        heartbeat_interval=0.1,
        failure_timeout=1.0,
    )
    r = node.replicator
    keys = [cv.ORSetKey(f"s{i}") for i in range(100)]
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    rate, seconds, report = float(opts["rate"]), float(opts["seconds"]), float(opts["report"])
    print("ready", flush=True)
    start = time.monotonic()
    written = 0
    next_report = 0.0
    pid = os.getpid()
    while not stop.is_set():
        now = time.monotonic() - start
        if now < seconds:
            due = int(now * rate)
            while written < due:
                i = written
                r.update(keys[i % 100], lambda s, i=i: s.add(i))
                written += 1
        if now >= next_report:
            u = usage(pid)
            m = node.metrics()
            line = {
                "t": round(now, 2),
                "written": written,
                "rss": u.rss_bytes if u else 0,
                "digest": node.digest(),
                "dropped": m.get("convergent.transport.send.dropped", 0),
            }
            print(json.dumps(line), flush=True)
            next_report += report
        time.sleep(0.005)
    node.stop()


if __name__ == "__main__":
    main()
