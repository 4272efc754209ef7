"""A userspace link between hosts: packets delayed, held (a stall) or dropped, per direction.

There is no ``tc netem`` on these machines, so the harness routes a directed link ``a -> b``
through TUN devices: ``r<b>`` in a's namespace (a's packets to b come out of it here) and ``r<a>``
in b's namespace (where they are written back, as if they had arrived). A stalled direction holds
its packets, up to a bound, and delivers them in order when it resumes: the TCP connection stays
open and makes no progress, as behind a stalled switch or a frozen VM.

``Relay`` is the harness's side: it runs this module as a child process (root; one thread reads
and writes every device) and sends it one JSON command per line. Not thread-safe: one thread
(the schedule's) drives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import heapq
import json
import os
import random
import selectors
import struct
import subprocess
import sys
import time
from typing import Any

_TUNSETIFF = 0x400454CA
_IFF_TUN, _IFF_NO_PI = 0x0001, 0x1000
_CLONE_NEWNET = 0x40000000
MAX_HELD = 10_000  # packets a stalled direction holds; more are dropped, as a full queue would


def _open_tun(namespace: str, name: str) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(there, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {namespace}")
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
    finally:
        libc.setns(here, _CLONE_NEWNET)
        os.close(here)
        os.close(there)
    return fd


class _Direction:
    def __init__(self) -> None:
        self.delay = 0.0
        self.jitter = 0.0
        self.loss = 0.0
        self.stalled = False
        self.held: list[bytes] = []
        self.forwarded = self.dropped = 0


def serve(namespaces: list[str], seed: int) -> None:
    """The relay process: reads commands on stdin, answers each with one JSON line."""
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, None)
    devices: dict[tuple[int, int], int] = {}  # (host, peer): fd of r<peer> in host's namespace
    directions: dict[tuple[int, int], _Direction] = {}
    due: list[tuple[float, int, int, bytes]] = []  # (time, sequence, out fd, packet)
    seq = 0
    pending = b""

    def device(host: int, peer: int) -> int:
        if (host, peer) not in devices:
            fd = _open_tun(namespaces[host], f"r{peer}")
            devices[(host, peer)] = fd
            sel.register(fd, selectors.EVENT_READ, (host, peer))
        return devices[(host, peer)]

    def send(a: int, b: int, packet: bytes) -> None:
        nonlocal seq
        d = directions[(a, b)]
        if d.loss and rng.random() < d.loss:
            d.dropped += 1
            return
        if d.stalled:
            if len(d.held) >= MAX_HELD:
                d.dropped += 1
            else:
                d.held.append(packet)
            return
        wait = d.delay + (rng.uniform(-d.jitter, d.jitter) if d.jitter else 0.0)
        seq += 1
        heapq.heappush(due, (time.monotonic() + max(0.0, wait), seq, devices[(b, a)], packet))
        d.forwarded += 1

    def command(msg: dict[str, Any]) -> Any:
        a, b = int(msg["a"]), int(msg["b"])
        if msg["op"] == "open":  # both devices of the pair, before a route points at them
            device(a, b)
            device(b, a)
            for key in ((a, b), (b, a)):
                directions.setdefault(key, _Direction())
            return None
        d = directions[(a, b)]
        if msg["op"] == "set":
            d.delay = float(msg.get("delay", 0.0))
            d.jitter = float(msg.get("jitter", 0.0))
            d.loss = float(msg.get("loss", 0.0))
            d.stalled = bool(msg.get("stall", False))
            if not d.stalled:
                held, d.held = d.held, []
                for packet in held:
                    send(a, b, packet)
            return None
        if msg["op"] == "stats":
            return {"forwarded": d.forwarded, "dropped": d.dropped, "held": len(d.held)}
        raise ValueError(f"unknown op {msg['op']!r}")

    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        for key, _ in sel.select(timeout):
            if key.data is None:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    return  # the harness is gone
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    try:
                        reply = {"ok": command(json.loads(line))}
                    except Exception as e:  # reported to the harness, which raises it
                        reply = {"error": f"{type(e).__name__}: {e}"}
                    sys.stdout.write(json.dumps(reply) + "\n")
                    sys.stdout.flush()
                continue
            host, peer = key.data
            for _ in range(64):
                try:
                    packet = os.read(key.fd, 65536)
                except BlockingIOError:
                    break
                if (host, peer) in directions:
                    send(host, peer, packet)
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, fd, packet = heapq.heappop(due)
            with contextlib.suppress(OSError):  # the device's namespace is going away
                os.write(fd, packet)


class Relay:
    """The harness's handle on the relay process."""

    def __init__(self, namespaces: list[str], seed: int) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, json.dumps({"namespaces": namespaces, "seed": seed})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._open: set[tuple[int, int]] = set()

    def _call(self, **msg: Any) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(msg) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the relay process is gone")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError("relay: " + reply["error"])
        return reply["ok"]

    def open(self, a: int, b: int) -> None:
        """Creates the devices of the pair {a, b} (idempotent)."""
        pair = (min(a, b), max(a, b))
        if pair not in self._open:
            self._call(op="open", a=a, b=b)
            self._open.add(pair)

    def set(
        self,
        a: int,
        b: int,
        *,
        delay: float = 0.0,
        jitter: float = 0.0,
        loss: float = 0.0,
        stall: bool = False,
    ) -> None:
        """The behaviour of direction a -> b (a stall's held packets go on when it ends)."""
        self.open(a, b)
        self._call(op="set", a=a, b=b, delay=delay, jitter=jitter, loss=loss, stall=stall)

    def stats(self, a: int, b: int) -> dict[str, int]:
        return dict(self._call(op="stats", a=a, b=b))

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    serve(args["namespaces"], args["seed"])
