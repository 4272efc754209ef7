"""Network hosts and the links between them: one Linux network namespace per node, all on one
bridge, and faults as routes.

Every host has its own address on ``eth0`` (a veth into the bridge) and a ``sink``: a TUN device
that nobody reads, so a packet routed into it vanishes without an error, as on a real network
that drops it. A directed cut ``a -> b`` is a /32 route to b's address through a's sink: a's
packets to b are lost, b's to a still arrive (one direction: an asymmetric partition; both: a
full one). A link taken down (``ip link set eth0 down``) is the other kind of failure: the host
sees its own interface go, and its sends fail at once. A directed link can also be routed through
a userspace relay (relay.py), which delays, stalls or drops its packets.

Host names: ``/etc/netns/<namespace>/hosts`` (which ``ip netns exec`` mounts over /etc/hosts)
names every host ``n<i>.chaos`` and all of them ``seeds.chaos``, for the DNS seed path.

Not thread-safe: one thread (the schedule's) changes the network.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Iterable

PORT = 7000
_PREFIX = "cvc"  # every interface and namespace of the harness starts with it, then its pid
_networks = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def permitted() -> str | None:
    """None if this process may create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    if shutil.which("ip") is None or shutil.which("ss") is None:
        return "the iproute2 tools (ip, ss) are not installed"
    name = f"{_PREFIX}probe{os.getpid()}"
    r = _ip("netns", "add", name, check=False)
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (no TUN devices)"
    return None


def remove_stale() -> None:
    """Removes the namespaces and bridges of harness runs whose process is gone."""
    names = _ip("netns", "list", check=False).stdout.split()
    links = _ip("-o", "link", "show", check=False).stdout.splitlines()
    bridges = [line.split(":")[1].strip().split("@")[0] for line in links]
    for name in set(names) | set(bridges):
        if not name.startswith(_PREFIX) or "probe" in name:
            continue
        match = re.match(_PREFIX + r"(\d+)", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            if name in names:
                _ip("netns", "del", name, check=False)
                shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
            else:
                _ip("link", "del", name, check=False)


class Network:
    """``n`` hosts on one bridge. Use as a context manager (``close()`` removes everything)."""

    def __init__(self, n: int) -> None:
        pid = os.getpid()
        self.n = n
        self._tag = f"{_PREFIX}{pid}x{next(_networks) % 100}"
        self.bridge = f"{self._tag}b"
        # 10.<200..249>.<pid>.<host>: parallel runs of the harness take different subnets.
        self._subnet = f"10.{200 + pid % 50}.{(pid // 50) % 250}"
        self._host_ends = [f"{self._tag}h{i}" for i in range(n)]
        self.namespaces = [f"{self._tag}n{i}" for i in range(n)]
        self.addresses = [f"{self._subnet}.{i + 1}" for i in range(n)]
        self.names = [f"n{i}.chaos" for i in range(n)]
        self._cuts: set[tuple[int, int]] = set()
        self._relayed: set[tuple[int, int]] = set()
        self._down: set[int] = set()
        self._created: list[str] = []
        try:
            self._create()
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        remove_stale()
        _ip("link", "add", self.bridge, "type", "bridge")
        self._created.append(self.bridge)
        _ip("link", "set", self.bridge, "up")
        hosts = "".join(f"{a} {nm}\n" for a, nm in zip(self.addresses, self.names, strict=True))
        hosts += "".join(f"{a} seeds.chaos\n" for a in self.addresses)
        hosts = "127.0.0.1 localhost\n" + hosts
        for i, ns in enumerate(self.namespaces):
            _ip("netns", "add", ns)
            self._created.append(ns)
            os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
            with open(f"/etc/netns/{ns}/hosts", "w") as f:
                f.write(hosts)
            for key in ("all", "default"):  # relayed packets arrive on a device of their own
                self.sysctl(i, f"net.ipv4.conf.{key}.rp_filter", "0")
            host_end = self._host_ends[i]
            _ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", host_end, "master", self.bridge, "up")
            _ip("-n", ns, "addr", "add", f"{self.addresses[i]}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "tuntap", "add", "dev", "sink", "mode", "tun")
            _ip("-n", ns, "link", "set", "sink", "up")

    def sysctl(self, i: int, name: str, value: str) -> None:
        path = "/proc/sys/" + name.replace(".", "/")
        subprocess.run(
            ["ip", "netns", "exec", self.namespaces[i], "sh", "-c", f"echo {value} > {path}"],
            check=True,
            capture_output=True,
        )

    def url(self, i: int, *, by_name: bool = False) -> str:
        return f"tcp://{self.names[i] if by_name else self.addresses[i]}:{PORT}"

    def exec_prefix(self, i: int) -> list[str]:
        """The command prefix that runs a program on host ``i``."""
        return ["ip", "netns", "exec", self.namespaces[i]]

    # Faults -------------------------------------------------------------------------------------

    def _route(self, a: int, b: int) -> None:
        """Sets a's route to b from what is in force: cut, relayed, or the bridge."""
        ns, dst = self.namespaces[a], f"{self.addresses[b]}/32"
        if (a, b) in self._cuts:
            _ip("-n", ns, "route", "replace", dst, "dev", "sink")
        elif (a, b) in self._relayed:
            _ip("-n", ns, "route", "replace", dst, "dev", f"r{b}", "src", self.addresses[a])
        else:
            _ip("-n", ns, "route", "del", dst, check=False)

    def cut(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Drops every packet a sends to b, for each directed pair (a, b)."""
        for a, b in pairs:
            if a != b and (a, b) not in self._cuts:
                self._cuts.add((a, b))
                self._route(a, b)

    def heal(self, pairs: Iterable[tuple[int, int]] | None = None) -> None:
        """Ends the cuts of the pairs given (every cut without them)."""
        for a, b in list(self._cuts if pairs is None else pairs):
            if (a, b) in self._cuts:
                self._cuts.discard((a, b))
                self._route(a, b)

    def relay(self, a: int, b: int, on: bool) -> None:
        """Routes a's packets to b through the relay's device ``r<b>`` in a's namespace (which the
        relay must have opened), or back over the bridge."""
        if on:
            self._relayed.add((a, b))
        else:
            self._relayed.discard((a, b))
        self._route(a, b)

    def link_down(self, i: int) -> None:
        self._down.add(i)
        _ip("-n", self.namespaces[i], "link", "set", "eth0", "down")

    def link_up(self, i: int) -> None:
        self._down.discard(i)
        _ip("-n", self.namespaces[i], "link", "set", "eth0", "up")
        for b in range(self.n):  # going down removed the routes through eth0
            if (i, b) in self._cuts or (i, b) in self._relayed:
                self._route(i, b)

    def reset(self, i: int) -> int:
        """Aborts every TCP connection of host ``i`` (``ss -K``); returns how many there were."""
        r = subprocess.run(
            [*self.exec_prefix(i), "ss", "-K", "-t", "-n", "-H", "state", "established"],
            capture_output=True,
            text=True,
            check=False,
        )
        return len([line for line in r.stdout.splitlines() if line.strip()])

    def heal_all(self) -> None:
        self.heal()
        for i in list(self._down):
            self.link_up(i)
        for a, b in list(self._relayed):
            self.relay(a, b, False)

    def close(self) -> None:
        # A namespace goes once its last process has; its veth pair with it. Deleting the host's
        # ends first frees the names at once.
        for host_end in self._host_ends:
            _ip("link", "del", host_end, check=False)
        for name in reversed(self._created):
            if name == self.bridge:
                _ip("link", "del", name, check=False)
            else:
                _ip("netns", "del", name, check=False)
                with contextlib.suppress(OSError):
                    shutil.rmtree(f"/etc/netns/{name}")
        self._created.clear()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
