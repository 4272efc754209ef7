"""The `convergent node` processes of a chaos run, one per network host.

A node listens on ``tcp://<its address>:7000`` and is seeded with every other host, by address or
(every other node) by the name ``seeds.chaos``, which resolves to all of them. The harness drives
it through the control socket LocalCluster(processes=True) uses (a Unix socket: reachable from
every network namespace); each client thread opens a handle of its own, so calls to one node run
side by side. A node keeps a LevelDB snapshot in its own directory (on a tmpfs of its own, which a
fault fills up), which a restart keeps, removes or corrupts.

``crashed()`` tells a process that ended without the harness killing it. Not thread-safe except
``handle()`` and ``alive``, which client threads call.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from convergent._control import AUTH_ENV, RemoteNode
from convergent.cluster import _wait_for_ready_line

from .network import Network

# The options every node runs with: failures noticed within a second, anti-entropy every 5 s.
ANTI_ENTROPY_INTERVAL = 5.0
NODE_OPTIONS = {
    "heartbeat-interval": "0.1",
    "failure-timeout": "1.0",
    "anti-entropy-interval": str(ANTI_ENTROPY_INTERVAL),
    "snapshot-interval": "0.5",
}


@dataclass
class Usage:
    """What a node process holds, from /proc."""

    threads: int
    fds: int
    rss_bytes: int


def usage(pid: int) -> Usage | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss_kib = int(status["VmRSS"].split()[0]) if "VmRSS" in status else 0
    return Usage(int(status["Threads"]), fds, rss_kib * 1024)


class ChaosNode:
    def __init__(self, net: Network, i: int, workdir: str, authkey: str) -> None:
        self.i = i
        self._net = net
        self._authkey = authkey
        self.control = os.path.join(workdir, f"control-{i}")
        self.snapshot_dir = os.path.join(workdir, f"snapshot-{i}")
        self.log_path = os.path.join(workdir, f"node-{i}.log")
        self.core_dir = os.path.join(workdir, f"cores-{i}")  # the process's working directory
        os.makedirs(self.core_dir, exist_ok=True)
        self.proc: subprocess.Popen[str] | None = None
        self.admin: RemoteNode | None = None
        self.incarnation = 0
        self.baseline: Usage | None = None
        self._killed = False  # by the harness, since its start
        self._lock = threading.Lock()
        self._mounted = False
        self._filler = os.path.join(self.snapshot_dir, "filler")  # fill_disk() writes it

    def start(self, timeout: float = 30.0) -> None:
        net, i = self._net, self.i
        if os.path.exists(self.control):
            os.unlink(self.control)
        args = [*net.exec_prefix(i), sys.executable, "-m", "convergent", "node"]
        args += ["--listen", f"tcp://{net.addresses[i]}:7000", "--name", f"n{i}"]
        args += ["--control", self.control, "--exit-with-parent", "--log-level", "INFO"]
        args += ["--snapshot-dir", self.snapshot_dir]
        for name, value in NODE_OPTIONS.items():
            args += [f"--{name}", value]
        if i % 2:
            args += ["--seed", f"tcp://seeds.chaos:{7000}"]
        else:
            args += [a for j in range(net.n) if j != i for a in ("--seed", net.url(j))]
        self.incarnation += 1
        with open(self.log_path, "a") as log:
            log.write(f"=== incarnation {self.incarnation} at {time.time():.3f}\n")
            log.flush()
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, AUTH_ENV: self._authkey},
                cwd=self.core_dir,  # a crash leaves its core dump here
                preexec_fn=_allow_core_dumps,
            )
        if not _wait_for_ready_line(proc, time.monotonic() + timeout):
            proc.kill()
            proc.wait()
            raise RuntimeError(f"node {i} did not start:\n{self.log_tail()}")
        admin = RemoteNode(self.control, self._authkey.encode(), proc)
        with self._lock:
            self.proc, self.admin, self._killed = proc, admin, False
        self.baseline = None

    @property
    def alive(self) -> bool:
        proc = self.proc
        return proc is not None and proc.poll() is None

    def handle(self) -> RemoteNode:
        """A handle of its own on the running incarnation (ConnectionError if it is down; its
        calls raise NodeDownError once it goes)."""
        with self._lock:
            proc = self.proc
        if proc is None or proc.poll() is not None:
            raise ConnectionError(f"node {self.i} is down")
        return RemoteNode(self.control, self._authkey.encode(), proc)

    def kill(self) -> None:
        """kill -9 (also of a stopped process)."""
        with self._lock:
            proc, admin, self._killed = self.proc, self.admin, True
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if admin is not None:
            admin.close()

    def pause(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def mount_disk(self, size: str = "64m") -> None:
        """Puts the snapshot directory on a tmpfs of its own, which fill_disk() can fill."""
        os.makedirs(self.snapshot_dir, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", self.snapshot_dir], check=True
        )
        self._mounted = True

    def fill_disk(self) -> int:
        """Fills the snapshot's tmpfs to the last byte; returns the bytes it took."""
        filled = 0
        chunk = b"\0" * (1 << 20)
        with open(self._filler, "wb", buffering=0) as f:
            for size in (1 << 20, 4096, 1):
                while True:
                    try:
                        filled += f.write(chunk[:size])
                    except OSError:
                        break
        return filled

    def free_disk(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._filler)

    def unmount_disk(self) -> None:
        """Unmounts the tmpfs, keeping a copy of the snapshot beside it (<dir>-kept)."""
        if self._mounted:
            self.free_disk()
            with contextlib.suppress(OSError):
                shutil.copytree(self.snapshot_dir, self.snapshot_dir + "-kept")
            subprocess.run(["umount", "-l", self.snapshot_dir], check=False)
            self._mounted = False

    def wipe_snapshot(self) -> None:
        shutil.rmtree(self.snapshot_dir, ignore_errors=True)

    def corrupt_snapshot(self, rng: random.Random) -> str:
        """Overwrites bytes in the middle of the snapshot's table and log files; says which."""
        damaged = []
        if os.path.isdir(self.snapshot_dir):
            for name in sorted(os.listdir(self.snapshot_dir)):
                path = os.path.join(self.snapshot_dir, name)
                if not name.endswith((".ldb", ".log")) or os.path.getsize(path) < 64:
                    continue
                size = os.path.getsize(path)
                with open(path, "r+b") as f:
                    f.seek(rng.randrange(size // 4, size - 32))
                    f.write(rng.randbytes(32))
                damaged.append(name)
        return ",".join(damaged) or "nothing to damage"

    def crashed(self) -> bool:
        """Whether the process ended without the harness killing it."""
        proc = self.proc
        return proc is not None and proc.poll() is not None and not self._killed

    def exit_status(self) -> str:
        """How the process ended: its exit code, or the signal that ended it."""
        code = self.proc.returncode if self.proc is not None else None
        if code is None:
            return "running"
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"

    def usage(self) -> Usage | None:
        proc = self.proc
        return usage(proc.pid) if proc is not None and proc.poll() is None else None

    def describe_fds(self) -> str:
        """What the process's descriptors are: each socket by protocol and state (from the
        tables of its own network namespace), the rest by kind; and its TCP connections."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return "not running"
        pid = proc.pid
        sockets: dict[str, str] = {}  # inode -> description
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}") as f:
                for line in list(f)[1:]:
                    cols = line.split()
                    state = int(cols[3], 16)
                    sockets[cols[9]] = f"tcp {_TCP_STATES.get(state, state)}"
        for table, column in (("udp", 9), ("udp6", 9), ("netlink", 9)):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}") as f:
                for line in list(f)[1:]:
                    cols = line.split()
                    if len(cols) > column:
                        sockets[cols[column]] = table
        with contextlib.suppress(OSError), open(f"/proc/{pid}/net/unix") as f:
            for line in list(f)[1:]:
                cols = line.split()
                sockets[cols[6]] = "unix " + (os.path.basename(cols[7]) if len(cols) > 7 else "")
        kinds: dict[str, int] = {}
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                kind = sockets.get(target[8:-1]) or "no table: " + _probe_socket(pid, int(fd))
            else:
                kind = target.split(":")[0] if ":" in target else os.path.dirname(target)
            kinds[kind] = kinds.get(kind, 0) + 1
        ss = subprocess.run(
            [*self._net.exec_prefix(self.i), "ss", "-tanp"], capture_output=True, text=True
        ).stdout
        # The control socket's accepted connections belong to the drivers' namespace (this
        # one's), so they are in no table above: ss here finds them.
        unix = subprocess.run(["ss", "-xanp"], capture_output=True, text=True).stdout
        unix_lines = [line for line in unix.splitlines() if f"pid={pid}," in line]
        counts = "\n".join(f"{v:4} {k}" for k, v in sorted(kinds.items()))
        counts += f"\n{len(unix_lines):4} of them Unix sockets (ss -xanp)"
        return counts + "\n\n" + ss + "\n" + "\n".join(unix_lines)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Ends the process gracefully (SIGTERM, then -9 after 10 s)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._killed = True
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        if self.admin is not None:
            self.admin.close()


def new_authkey() -> str:
    return secrets.token_hex(16)


def formed(nodes: list[ChaosNode]) -> bool:
    """Whether every node sees every node reachable."""
    try:
        for node in nodes:
            assert node.admin is not None
            members: list[dict[str, Any]] = node.admin.members()
            if sum(1 for m in members if m["reachable"]) != len(nodes):
                return False
    except Exception:
        return False
    return True


def wait_formed(nodes: list[ChaosNode], timeout: float) -> float:
    start = time.monotonic()
    while not formed(nodes):
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"the nodes did not find each other within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


def _probe_socket(pid: int, fd: int) -> str:
    """What a socket the tables do not list is: a copy of the descriptor taken from the process
    (pidfd_getfd, Linux 5.6) says its family, its addresses, its pending error and its TCP state."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as e:
        return f"? ({e})"
    try:
        copy = ctypes.CDLL(None, use_errno=True).syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            return f"? (pidfd_getfd: {os.strerror(ctypes.get_errno())})"
        with socket.socket(fileno=copy) as s:
            parts = [s.family.name, s.type.name]
            with contextlib.suppress(OSError):
                parts.append(f"local {s.getsockname()}")
            try:
                parts.append(f"peer {s.getpeername()}")
            except OSError as e:
                parts.append(f"no peer ({e.strerror})")
            error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                parts.append(f"error {os.strerror(error)}")
            if s.family in (socket.AF_INET, socket.AF_INET6):
                info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
                parts.append(f"tcp state {_TCP_STATES.get(info[0], info[0])}")
            return " ".join(parts)
    finally:
        os.close(pidfd)


_SYS_PIDFD_GETFD = 438  # x86-64 and arm64 alike
# The kernel's TCP states (include/net/tcp_states.h), as /proc/net/tcp and TCP_INFO number them.
_TCP_STATES = {
    1: "established",
    2: "syn-sent",
    3: "syn-recv",
    4: "fin-wait1",
    5: "fin-wait2",
    6: "time-wait",
    7: "closed",
    8: "close-wait",
    9: "last-ack",
    10: "listen",
    11: "closing",
}


def _allow_core_dumps() -> None:
    """In the node's process before it runs: no limit on the size of its core dump."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
