"""cv.LocalCluster: a cluster of real nodes on this machine, for development and tests.

``transport`` picks the URLs: ``"inproc"`` (in this process only), ``"ipc"`` (Unix sockets in a
temporary directory) or ``"tcp"`` (127.0.0.1 on ports the system picks). With ``processes=True``
every node is a ``convergent node`` process (ipc or tcp) that this process drives through a
control socket; ``kill(i)`` is then a real kill -9. Without it the nodes run in this process and
``kill(i)`` stops a node abruptly (no goodbye, no flush). ``start(i)`` starts node ``i`` again on
the same URL as a new incarnation, which catches up from its peers. With ``snapshots=True`` every
node keeps a LevelDB snapshot in a temporary directory and restores it when it starts again.

With ``datacenters={"eu": 2, "us": 2}`` (instead of ``nodes``) the nodes form datacenters, numbered
datacenter by datacenter: each has the nodes of its own as seeds and those of the others as remote
seeds, and ``datacenter(name)`` gives one datacenter's handles.

The constructor (and ``start(i)``) returns only once every running node is ready and reaches every
other one, so a MAJORITY write issued at once counts the whole cluster; a node that does not get
there within ``start_timeout`` seconds raises ``TimeoutError`` (a node process that does not even
report that it listens raises ``RuntimeError``), never hangs.

Node processes never outlive this process: ``close()`` (or interpreter exit) stops them, and if
this process is killed outright (SIGKILL, no exit handlers), each node process sees the pipe this
process held to its standard input close, and stops within a second or so.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import itertools
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ._control import AUTH_ENV, RemoteNode
from ._progress import Progress, reporter
from .config import Config
from .errors import NotConverged
from .node import Node

__all__ = ["LocalCluster"]

_TRANSPORTS = ("inproc", "ipc", "tcp")
_counter = itertools.count()
# Clusters not closed yet: closed at interpreter exit, so that no node process outlives its driver.
_open: weakref.WeakSet[LocalCluster] = weakref.WeakSet()


@atexit.register
def _close_leftovers() -> None:
    for cluster in list(_open):
        cluster.close()


def _reap(proc: subprocess.Popen[str]) -> None:
    """Waits for a node process that was told to end, and closes our ends of its pipes."""
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def _wait_for_ready_line(proc: subprocess.Popen[str], deadline: float) -> bool:
    """Reads the node process's standard output until its "ready <url>" line (True), its end,
    or the deadline (False); it never blocks past the deadline, even on a silent child."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            return False
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if any(line.startswith(b"ready ") for line in lines):
            return True
    return False


class LocalCluster:
    """``nodes`` real nodes replicating with each other; use it as a context manager."""

    def __init__(
        self,
        nodes: int | None = None,
        *,
        datacenters: Mapping[str, int] | None = None,
        transport: str = "inproc",
        processes: bool = False,
        config: Config | None = None,
        snapshots: bool = False,
        heartbeat_interval: float = 0.1,
        failure_timeout: float = 1.0,
        start_timeout: float = 30.0,
    ) -> None:
        if transport not in _TRANSPORTS:
            names = ", ".join(_TRANSPORTS)
            raise ValueError(f"transport must be one of {names}; got {transport!r}")
        self._dc_of: list[str | None] = []
        if datacenters is not None:
            if nodes is not None:
                raise ValueError("give nodes or datacenters, not both")
            for name, count in dict(datacenters).items():
                if not isinstance(name, str) or not name:
                    raise ValueError("datacenters: names must be non-empty strings")
                if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                    raise ValueError(f"datacenters: {name!r} needs an int count >= 1")
                self._dc_of += [name] * count
            nodes = len(self._dc_of)
        elif nodes is None:
            nodes = 3
        if not isinstance(nodes, int) or isinstance(nodes, bool) or not 1 <= nodes <= 64:
            raise ValueError("nodes must be an int in [1, 64]")
        if not self._dc_of:
            self._dc_of = [None] * nodes
        if processes and transport == "inproc":
            raise ValueError("inproc:// reaches only this process: use ipc or tcp with processes")
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"config must be a cv.Config, got {type(config).__name__}")
        self._transport = transport
        self._processes = processes
        self._config = config
        self._snapshots = snapshots
        self._heartbeat_interval = heartbeat_interval
        self._failure_timeout = failure_timeout
        self._start_timeout = float(start_timeout)
        self._tmp = tempfile.mkdtemp(prefix="convergent-")
        self._authkey = secrets.token_hex(16)
        tag = f"{os.getpid()}-{next(_counter)}"
        self._urls = [self._url(tag, i) for i in range(nodes)]
        self._nodes: list[Node | RemoteNode | None] = [None] * nodes
        self._procs: list[subprocess.Popen[str] | None] = [None] * nodes
        _open.add(self)
        try:
            for i in range(nodes):
                self._start(i)
            self._wait_formed()
        except BaseException:
            self.close()
            raise

    def _url(self, tag: str, i: int) -> str:
        if self._transport == "inproc":
            return f"inproc://convergent-{tag}-{i}"
        if self._transport == "ipc":
            return f"ipc://{self._tmp}/node-{i}"
        return "tcp://127.0.0.1:0"  # the node reports the port it got

    @property
    def nodes(self) -> list[Any]:
        """The Replicator handles of the nodes (a killed node's handle raises NodeDownError)."""
        return [self.node(i).replicator for i in range(len(self._nodes))]

    @property
    def datacenters(self) -> list[str]:
        """The names of the datacenters, in order (empty without datacenters)."""
        return list(dict.fromkeys(dc for dc in self._dc_of if dc is not None))

    def datacenter(self, name: str) -> list[Any]:
        """The Replicator handles of one datacenter's nodes."""
        if name not in self._dc_of:
            raise ValueError(f"no datacenter {name!r} in this cluster")
        return [self.node(i).replicator for i, dc in enumerate(self._dc_of) if dc == name]

    def node(self, i: int) -> Any:
        """Node ``i`` (its latest incarnation): a :class:`Node`, or the view of its process."""
        node = self._nodes[i]
        if node is None:
            raise IndexError(f"node {i} was never started")
        return node

    def _config_for(self, i: int) -> Config | None:
        config = self._config
        if self._snapshots:
            config = dataclasses.replace(
                config or Config(),
                snapshot_dir=os.path.join(self._tmp, f"snapshot-{i}"),
                snapshot_interval=(config.snapshot_interval if config else None) or 0.2,
            )
        return config

    def start(self, i: int) -> Any:
        """Starts node ``i`` (again), on its URL; returns its new Replicator handle once every
        running node is ready and reaches every other one (``TimeoutError`` otherwise)."""
        handle = self._start(i)
        self._wait_formed()
        return handle

    def _wait_formed(self) -> None:
        """Waits until every running node is ready and sees every running node reachable."""
        deadline = time.monotonic() + self._start_timeout
        for i, n in enumerate(self._nodes):
            if n is not None and n.running:
                try:
                    n.wait_ready(max(0.0, deadline - time.monotonic()))
                except TimeoutError as e:
                    raise TimeoutError(f"node {i} did not get ready: {e}") from None
        self.wait_members(max(0.0, deadline - time.monotonic()))

    def _start(self, i: int) -> Any:
        old = self._nodes[i]
        if old is not None and old.running:
            raise RuntimeError(f"node {i} is running; kill(i) or stop it first")
        known = [(j, u) for j, u in enumerate(self._urls) if j != i and not u.endswith(":0")]
        dc = self._dc_of[i]
        seeds = [u for j, u in known if self._dc_of[j] == dc]
        remote_seeds: dict[str, list[str]] = {}
        for j, u in known:
            other = self._dc_of[j]
            if other is not None and other != dc:
                remote_seeds.setdefault(other, []).append(u)
        config = self._config_for(i)
        node: Node | RemoteNode
        if self._processes:
            node = self._spawn(i, seeds, remote_seeds, config)
        else:
            node = Node(
                self._urls[i],
                seeds=seeds,
                datacenter=dc,
                remote_seeds=remote_seeds,
                config=config,
                heartbeat_interval=self._heartbeat_interval,
                failure_timeout=self._failure_timeout,
            )
        if isinstance(old, RemoteNode) and isinstance(node, RemoteNode):
            # The earlier process's handle wrote as a replica of its own, which that process
            # would have retired had it closed the handle itself.
            node.retire_writer(old.replicator.id)
        self._urls[i] = node.url
        self._nodes[i] = node
        return node.replicator

    def _spawn(
        self, i: int, seeds: list[str], remote_seeds: dict[str, list[str]], config: Config | None
    ) -> RemoteNode:
        control = os.path.join(self._tmp, f"control-{i}")
        if os.path.exists(control):
            os.unlink(control)
        args = [sys.executable, "-m", "convergent", "node", "--listen", self._urls[i]]
        args += ["--control", control, "--log-level", "WARNING"]
        # The node process watches its standard input, whose other end only this process holds:
        # when this process dies (even by SIGKILL, when no atexit handler runs), the pipe closes
        # and the node stops. The write end is not inheritable, so no other child keeps it open.
        args += ["--exit-with-parent"]
        args += ["--heartbeat-interval", str(self._heartbeat_interval)]
        args += ["--failure-timeout", str(self._failure_timeout)]
        for seed in seeds:
            args += ["--seed", seed]
        if self._dc_of[i] is not None:
            args += ["--datacenter", str(self._dc_of[i])]
        for dc, urls in remote_seeds.items():
            for url in urls:
                args += ["--dc-seed", f"{dc}={url}"]
        if config is not None:
            for field in dataclasses.fields(config):
                value = getattr(config, field.name)
                if isinstance(value, os.PathLike):
                    value = os.fspath(value)
                if value is None and field.name == "down_after":
                    value = 0  # never (a flag cannot say None)
                if value is not None:
                    args += ["--" + field.name.replace("_", "-"), str(value)]
        log = open(os.path.join(self._tmp, f"node-{i}.log"), "a")  # noqa: SIM115
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, AUTH_ENV: self._authkey},
        )
        log.close()
        self._procs[i] = proc
        assert proc.stdout is not None
        if not _wait_for_ready_line(proc, time.monotonic() + self._start_timeout):
            proc.kill()
            _reap(proc)
            with open(os.path.join(self._tmp, f"node-{i}.log")) as f:
                raise RuntimeError(
                    f"node {i} did not report that it listens within {self._start_timeout} s:\n"
                    f"{f.read()[-2000:]}"
                )
        return RemoteNode(control, self._authkey.encode(), proc)

    def kill(self, i: int) -> None:
        """Stops node ``i`` abruptly (a node process gets kill -9): no goodbye, no flush."""
        node = self.node(i)
        proc = self._procs[i]
        if proc is not None:
            proc.kill()
            _reap(proc)
        else:
            node.stop(graceful=False)

    def stop(self, i: int) -> None:
        """Stops node ``i`` gracefully (a node process gets SIGTERM)."""
        node = self.node(i)
        proc = self._procs[i]
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            _reap(proc)
        else:
            node.stop()

    def converged(self) -> bool:
        """Whether every running node holds the same state for every key."""
        agreeing, running = self._agreeing()
        return agreeing == running

    def _agreeing(self) -> tuple[int, int]:
        """(running nodes holding the state most of them hold, running nodes)."""
        digests = [n.digest() for n in self._nodes if n is not None and n.running]
        most = max(collections.Counter(digests).values(), default=0)
        return most, len(digests)

    def wait_converged(
        self,
        timeout: float = 10.0,
        *,
        poll: Callable[[], object] | None = None,
        progress: Progress = None,
    ) -> float:
        """Waits until converged(); returns the seconds it took. NotConverged after timeout.

        ``poll``, if given, is called between the checks (every 10 ms) and once at the end, for
        instance to sample the nodes' values for a plot. ``progress`` (None, True for a tqdm bar,
        or a callable(done, total)) follows the running nodes that hold the state most of them
        hold: a node catching up after a restart counts once it has caught up.
        """
        start = time.monotonic()
        report = reporter(progress, self._agreeing()[1], "nodes", "converged")
        outcome = "not converged"
        try:
            while True:
                agreeing, running = self._agreeing()
                if report:
                    report(agreeing)
                if agreeing == running:
                    if poll is not None:
                        poll()
                    outcome = "converged"
                    return time.monotonic() - start
                if time.monotonic() - start > timeout:
                    raise NotConverged(f"the cluster did not converge within {timeout} s")
                if poll is not None:
                    poll()
                time.sleep(0.01)
        finally:
            if report:
                report.close(outcome)

    def wait_members(self, timeout: float = 10.0) -> None:
        """Waits until every running node sees every running node as reachable."""
        start = time.monotonic()
        while True:
            running = [n for n in self._nodes if n is not None and n.running]
            if all(sum(m["reachable"] for m in n.members()) == len(running) for n in running):
                return
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"the members did not find each other within {timeout} s")
            time.sleep(0.01)

    def close(self) -> None:
        """Stops every node and removes temporary files (at interpreter exit at the latest)."""
        _open.discard(self)
        for i, n in enumerate(self._nodes):
            if n is not None and n.running:
                self.stop(i)
            if isinstance(n, RemoteNode):
                n.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        up = sum(1 for n in self._nodes if n is not None and n.running)
        kind = " processes" if self._processes else ""
        return f"<LocalCluster {self._transport}{kind} nodes={len(self._nodes)} running={up}>"
