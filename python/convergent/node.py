"""cv.Node: one member of a real cluster, in this process.

A node listens on a URL (``tcp://host:port``, ``ipc:///path``, ``inproc://name`` or
``tls+tcp://host:port``), dials its seeds, finds the other members through heartbeats and
replicates with them over NNG. ``node.replicator`` is its :class:`convergent.Replicator`.
Subscription callbacks run on a Python thread of the node (never on a network thread). With
``metrics_listen="http://0.0.0.0:9100"`` it also serves its metrics in the Prometheus text
format at ``/metrics``.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from . import _core, _logging
from .config import Config

__all__ = ["Node"]

_PathLike = str | os.PathLike[str]
# Nodes not stopped yet: stopped (gracefully) at interpreter exit.
_running: weakref.WeakSet[Node] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for node in list(_running):
        node.stop()


class Node:
    """A running cluster member; stop it with :meth:`stop` (or use it as a context manager)."""

    def __init__(
        self,
        listen: str,
        *,
        seeds: Iterable[str] = (),
        name: str | None = None,
        config: Config | None = None,
        p2p_listen: str | None = None,
        advertise_host: str | None = None,
        heartbeat_interval: float = 0.5,
        failure_timeout: float = 3.0,
        tls_cert_file: _PathLike | None = None,
        tls_key_file: _PathLike | None = None,
        tls_ca_file: _PathLike | None = None,
        max_frame_size: int = 4 << 20,
        metrics_listen: str | None = None,
        datacenter: str | None = None,
        remote_seeds: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        if not isinstance(listen, str):
            raise TypeError(f"listen must be a URL string, got {type(listen).__name__}")
        seed_list = [seeds] if isinstance(seeds, str) else list(seeds)
        if not all(isinstance(s, str) for s in seed_list):
            raise TypeError("seeds must be URL strings")
        if datacenter is not None and not isinstance(datacenter, str):
            raise TypeError(f"datacenter must be a str or None, got {type(datacenter).__name__}")
        remote: dict[str, list[str]] = {}
        for dc, urls in (remote_seeds or {}).items():
            url_list = [urls] if isinstance(urls, str) else list(urls)
            if not isinstance(dc, str) or not all(isinstance(u, str) for u in url_list):
                raise TypeError("remote_seeds must map datacenter names to URL strings")
            remote[dc] = url_list
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"config must be a cv.Config, got {type(config).__name__}")
        _logging.capture()
        self._core = _core._Node(
            listen,
            seeds=seed_list,
            name=name,
            config=config,
            p2p_listen=p2p_listen,
            advertise_host=advertise_host,
            heartbeat_interval=heartbeat_interval,
            failure_timeout=failure_timeout,
            tls_cert_file=None if tls_cert_file is None else os.fspath(tls_cert_file),
            tls_key_file=None if tls_key_file is None else os.fspath(tls_key_file),
            tls_ca_file=None if tls_ca_file is None else os.fspath(tls_ca_file),
            max_frame_size=max_frame_size,
            metrics_listen=metrics_listen,
            datacenter=datacenter,
            remote_seeds=remote,
        )
        self.replicator: _core.Replicator = self._core.replicator
        self._stopping = threading.Event()
        self._events = threading.Thread(
            target=self._dispatch, name=f"convergent-events-{self._core.name}", daemon=True
        )
        self._events.start()
        _running.add(self)

    def _dispatch(self) -> None:
        while not self._stopping.is_set() and self._core.running:
            self._core.dispatch_events(0.1)

    @property
    def id(self) -> int:
        """The node id (a hash of its name: stable across restarts)."""
        return int(self._core.id)

    @property
    def name(self) -> str:
        """The node's name (its listen URL unless one was given)."""
        return str(self._core.name)

    @property
    def url(self) -> str:
        """The URL the node listens on (with the real port when it listened on port 0)."""
        return str(self._core.bus_url)

    @property
    def metrics_url(self) -> str | None:
        """The Prometheus endpoint (http://host:port/metrics) when metrics_listen was given."""
        return str(self._core.metrics_url) or None

    @property
    def running(self) -> bool:
        """False once the node is stopped."""
        return bool(self._core.running)

    @property
    def ready(self) -> bool:
        """True once the node has heard from every seed and ``Config.min_members`` replicas
        (itself included) are reachable."""
        return bool(self._core.ready)

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Returns once :attr:`ready`; ``TimeoutError`` (saying what is missing) after
        ``timeout`` seconds. Until then MAJORITY/ALL count the seeds not heard from, so they wait
        for them rather than succeed on too few replicas."""
        self._core.wait_ready(float(timeout))

    def members(self) -> list[dict[str, Any]]:
        """Every member this node knows (itself included): id, name, url, role, reachable and
        datacenter (None without datacenters); with datacenters, the other datacenters' members
        too (reachable when their datacenter is)."""
        return list(self._core.members())

    def leader(self) -> int:
        """The id of the reachable member (of this node's role) with the smallest id."""
        return int(self._core.leader())

    def _retire_writer(self, replica: int) -> None:
        """A writer replica other than this node's (a process-backed handle's) that will never
        write again: removed on every member, so that it is pruned."""
        self._core._retire_writer(replica)

    def _step_wall_clock(self, seconds: float) -> None:
        """For tests and chaos runs: steps this node's wall clock (LWW timestamps, tombstone
        ages, key expiry) by ``seconds``, either way, as NTP stepping the machine's would."""
        self._core._step_wall_clock(float(seconds))

    def metrics(self) -> dict[str, float]:
        """The replicator's metrics plus the transport's and the membership's."""
        return dict(self._core.metrics())

    def digest(self) -> int:
        """A digest of every key and tombstone: equal on nodes holding equal states."""
        return int(self._core.digest())

    def stop(self, *, graceful: bool = True) -> None:
        """Stops the node. ``graceful``: flush pending deltas and tell the peers first
        (``graceful=False`` behaves like a crash). Idempotent."""
        _running.discard(self)
        self._stopping.set()
        self._core.stop(graceful)
        if self._events is not threading.current_thread():
            self._events.join(timeout=5.0)

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Node {self.name} {state}>"
