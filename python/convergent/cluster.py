"""cv.LocalCluster: a cluster of real nodes on this machine, for development and tests.

``transport`` picks the URLs: ``"inproc"`` (in this process only), ``"ipc"`` (Unix sockets in a
temporary directory) or ``"tcp"`` (127.0.0.1 on ports the system picks). ``kill(i)`` stops a node
abruptly (no goodbye, no flush: like kill -9) and ``start(i)`` starts it again on the same URL as
a new incarnation, which catches up from its peers. With ``snapshots=True`` every node keeps a
LevelDB snapshot in a temporary directory and restores it when it starts again.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import tempfile
import time
from typing import Any

from . import _core
from .config import Config
from .errors import NotConverged
from .node import Node

__all__ = ["LocalCluster"]

_TRANSPORTS = ("inproc", "ipc", "tcp")
_counter = itertools.count()


class LocalCluster:
    """``nodes`` real nodes replicating with each other; use it as a context manager."""

    def __init__(
        self,
        nodes: int = 3,
        *,
        transport: str = "inproc",
        processes: bool = False,
        config: Config | None = None,
        snapshots: bool = False,
        heartbeat_interval: float = 0.1,
        failure_timeout: float = 1.0,
    ) -> None:
        if transport not in _TRANSPORTS:
            names = ", ".join(_TRANSPORTS)
            raise ValueError(f"transport must be one of {names}; got {transport!r}")
        if not isinstance(nodes, int) or isinstance(nodes, bool) or not 1 <= nodes <= 64:
            raise ValueError("nodes must be an int in [1, 64]")
        if processes:
            raise NotImplementedError(
                "LocalCluster(processes=True) is not available yet: nodes run in this process "
                "(processes=False)"
            )
        self._transport = transport
        self._config = config
        self._heartbeat_interval = heartbeat_interval
        self._failure_timeout = failure_timeout
        self._snapshots = snapshots
        self._tmp = (
            tempfile.mkdtemp(prefix="convergent-") if transport == "ipc" or snapshots else None
        )
        tag = f"{os.getpid()}-{next(_counter)}"
        self._urls = [self._url(tag, i) for i in range(nodes)]
        self._nodes: list[Node | None] = [None] * nodes
        try:
            for i in range(nodes):
                self.start(i)
        except BaseException:
            self.close()
            raise

    def _url(self, tag: str, i: int) -> str:
        if self._transport == "inproc":
            return f"inproc://convergent-{tag}-{i}"
        if self._transport == "ipc":
            assert self._tmp is not None
            return f"ipc://{self._tmp}/node-{i}"
        return "tcp://127.0.0.1:0"  # the node reports the port it got

    @property
    def nodes(self) -> list[_core.Replicator]:
        """The Replicator handles of the nodes (a killed node's handle raises NodeDownError)."""
        return [self.node(i).replicator for i in range(len(self._nodes))]

    def node(self, i: int) -> Node:
        """The :class:`Node` object of node ``i`` (its latest incarnation)."""
        node = self._nodes[i]
        if node is None:
            raise IndexError(f"node {i} was never started")
        return node

    def start(self, i: int) -> _core.Replicator:
        """Starts node ``i`` (again), on its URL; returns its new Replicator handle."""
        old = self._nodes[i]
        if old is not None and old.running:
            raise RuntimeError(f"node {i} is running; kill(i) or stop it first")
        seeds = [u for j, u in enumerate(self._urls) if j != i and not u.endswith(":0")]
        config = self._config
        if self._snapshots:
            assert self._tmp is not None
            config = dataclasses.replace(
                config or Config(),
                snapshot_dir=os.path.join(self._tmp, f"snapshot-{i}"),
                snapshot_interval=(config.snapshot_interval if config else None) or 0.2,
            )
        node = Node(
            self._urls[i],
            seeds=seeds,
            config=config,
            heartbeat_interval=self._heartbeat_interval,
            failure_timeout=self._failure_timeout,
        )
        self._urls[i] = node.url
        self._nodes[i] = node
        return node.replicator

    def kill(self, i: int) -> None:
        """Stops node ``i`` abruptly: no goodbye to the peers, buffered deltas are lost."""
        self.node(i).stop(graceful=False)

    def stop(self, i: int) -> None:
        """Stops node ``i`` gracefully."""
        self.node(i).stop()

    def converged(self) -> bool:
        """Whether every running node holds the same state for every key."""
        digests = {n.digest() for n in self._nodes if n is not None and n.running}
        return len(digests) <= 1

    def wait_converged(self, timeout: float = 10.0) -> float:
        """Waits until converged(); returns the seconds it took. NotConverged after timeout."""
        start = time.monotonic()
        while True:
            if self.converged():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise NotConverged(f"the cluster did not converge within {timeout} s")
            time.sleep(0.01)

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
        """Stops every node and removes temporary files."""
        for n in self._nodes:
            if n is not None:
                n.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        up = sum(1 for n in self._nodes if n is not None and n.running)
        return f"<LocalCluster {self._transport} nodes={len(self._nodes)} running={up}>"
