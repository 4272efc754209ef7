"""The control channel of a node process: how LocalCluster(processes=True) drives real
``convergent node`` processes from the test or notebook process.

The node process serves requests on a Unix socket (multiprocessing.connection, authenticated
with a per-cluster key). The driver's RemoteReplicator runs the user's update function in the
driver on a recording handle (convergent._recording) and sends what it did, which the node
applies as a local update of its own and replicates before it answers: a call returns once its
update is applied, as on a node in the caller's process. A function that reads the value runs on
the key's state fetched from the node instead, as the handle's own writer replica (a fresh
replica id per handle, so no dot is ever reused), and the node merges the resulting delta. A
subscription is a connection of its own: the node streams the key's events over it (from a
sender thread, so a slow driver never blocks the node's events thread) until the driver cancels
or goes away. Private: not part of the public API.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from multiprocessing import AuthenticationError
from multiprocessing.connection import (
    Client,
    Connection,
    Listener,
    answer_challenge,
    deliver_challenge,
)
from typing import Any

from . import _core
from ._recording import NeedsState, Op, record, replay
from .config import LOCAL, Consistency, Majority, To
from .errors import NodeDownError
from .events import Changed, Deleted, Event, Expired
from .keys import Key, key_of_type
from .pipeline import CHUNK, Pipeline, apply_counted
from .watch import Watch

__all__ = ["ControlServer", "RemoteNode", "RemoteReplicator"]

AUTH_ENV = "CONVERGENT_CONTROL_KEY"
AUTH_TIMEOUT = 5.0  # seconds a new connection has to answer the key's challenge
log = logging.getLogger("convergent")


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _replayer(ops: list[Op]) -> Callable[[Any], object]:
    """A function that replays `ops` on a value."""
    return lambda value: replay(value, ops)


class ControlServer:
    """Serves the requests of a driver to one node (in the node process).

    Every connection must answer the challenge of the key in ``$CONVERGENT_CONTROL_KEY`` (there
    is no control socket without one) within AUTH_TIMEOUT seconds; a connection that does not is
    closed, logged and counted (``convergent.control.refused`` in the metrics the driver reads),
    and never holds up the others: the challenge runs on the connection's own thread.
    """

    def __init__(self, address: str, node: Any) -> None:
        self._node = node
        self._key = os.environ.get(AUTH_ENV, "").encode()
        if not self._key:
            raise ValueError(f"a control socket needs the driver's key in ${AUTH_ENV}")
        self._listener = Listener(address, family="AF_UNIX")
        os.chmod(address, 0o600)
        self._thread = threading.Thread(target=self._serve, name="convergent-control", daemon=True)
        self.refused = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _authenticate(self, conn: Connection) -> bool:
        # A peer that never answers is cut off (shutdown wakes the blocked receive).
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        timer = threading.Timer(AUTH_TIMEOUT, lambda: _shutdown(sock))
        timer.start()
        try:
            deliver_challenge(conn, self._key)
            answer_challenge(conn, self._key)
            return True
        except (AuthenticationError, EOFError, OSError) as e:
            self.refused += 1
            reason = str(e) or type(e).__name__
            if isinstance(e, EOFError | OSError):
                reason = f"no answer to the challenge within {AUTH_TIMEOUT:g} s, or it hung up"
            log.warning("control socket: refused a connection (%s)", reason)
            conn.close()
            return False
        finally:
            timer.cancel()
            sock.close()

    def _session(self, conn: Connection) -> None:
        if not self._authenticate(conn):
            return
        # The writer replicas of the driver's handles on this connection: when it closes they
        # never write again, and are retired so that the cluster prunes them.
        writers: set[int] = set()
        try:
            with conn:
                while True:
                    try:
                        op, args = conn.recv()
                    except (EOFError, OSError):
                        return
                    if op == "subscribe":  # the connection now carries this subscription only
                        self._stream(conn, *args)
                        return
                    if op == "writer":  # names the writer replica of the driver's handle
                        writers.add(int(args[0]))
                        conn.send(("ok", None))
                        continue
                    try:
                        conn.send(("ok", getattr(self, "_op_" + op)(*args)))
                    except Exception as e:  # the driver re-raises it
                        conn.send(("error", e))
        finally:
            for writer in writers:
                self._node._retire_writer(writer)

    def _op_step_wall_clock(self, seconds: float) -> None:
        self._node._step_wall_clock(float(seconds))

    def _op_retire_writer(self, replica: int) -> None:
        """A writer replica of an earlier handle, whose node process is gone."""
        self._node._retire_writer(int(replica))

    def _stream(self, conn: Connection, t: str, name: str) -> None:
        """Sends the events of one key to the driver until it sends "cancel" or goes away."""
        outbox: queue.SimpleQueue[tuple[str, bytes | None] | None] = queue.SimpleQueue()

        def on_event(event: Event) -> None:  # on the node's events thread: never blocks
            if isinstance(event, Changed):
                outbox.put(("changed", bytes(event.value.to_bytes())))
            elif isinstance(event, Expired):
                outbox.put(("expired", None))
            else:
                outbox.put(("deleted", None))

        try:
            subscription = self._node.replicator.subscribe(key_of_type(t, name), on_event)
        except Exception as e:  # the driver re-raises it
            with contextlib.suppress(OSError):
                conn.send(("error", e))
            return
        try:
            conn.send(("ok", None))
        except OSError:
            subscription.cancel()
            return

        def send_events() -> None:
            while (item := outbox.get()) is not None:
                try:
                    conn.send(item)
                except OSError:  # the driver is gone: the receive below ends too
                    return
            with contextlib.suppress(OSError):
                conn.send(("end", None))

        sender = threading.Thread(target=send_events, name="convergent-stream", daemon=True)
        sender.start()
        try:
            conn.recv()  # "cancel"
        except (EOFError, OSError):
            pass
        finally:
            subscription.cancel()
            outbox.put(None)
            sender.join()

    def _op_info(self) -> dict[str, Any]:
        n = self._node
        return {
            "id": n.id,
            "name": n.name,
            "url": n.url,
            "replica": n.replicator.id,
            "datacenter": n.replicator.datacenter,
        }

    def _op_update(self, t: str, name: str, delta: bytes, write: Any, timeout: Any) -> None:
        key = key_of_type(t, name)
        value = key.type.from_bytes(delta)
        self._node.replicator.update(key, lambda v: v.merge(value), write=write, timeout=timeout)

    def _op_apply(self, t: str, name: str, ops: list[Op], write: Any, timeout: Any) -> None:
        self._node.replicator.update(
            key_of_type(t, name), lambda v: replay(v, ops), write=write, timeout=timeout
        )

    def _op_apply_recorded(
        self, updates: list[tuple[str, str, list[Op]]], write: Any, timeout: Any
    ) -> tuple[int, BaseException] | None:
        """Recorded updates, in order (update_many): None, or where the first failure came and
        what it raised (at LOCAL, the index of the failed update)."""
        return apply_counted(
            lambda pairs: self._node.replicator.update_many(pairs, write=write, timeout=timeout),
            [(key_of_type(t, name), _replayer(ops)) for t, name, ops in updates],
        )

    def _op_get(self, t: str, name: str, read: Any, timeout: Any) -> bytes | None:
        v = self._node.replicator.get(key_of_type(t, name), read=read, timeout=timeout)
        return None if v is None else bytes(v.to_bytes())

    def _op_delete(self, t: str, name: str, write: Any, timeout: Any) -> None:
        self._node.replicator.delete(key_of_type(t, name), write=write, timeout=timeout)

    def _op_keys(self) -> list[tuple[str, str]]:
        keys = list(self._node.replicator.keys())
        return [(k.type_name, k.name) for k in keys]

    def _op_wait_ready(self, timeout: float) -> None:
        self._node.wait_ready(timeout)

    def _op_deleted(self, t: str, name: str) -> bool:
        return bool(self._node.replicator.deleted(key_of_type(t, name)))

    def _op_metrics(self) -> dict[str, float]:
        return {**self._node.metrics(), "convergent.control.refused": float(self.refused)}

    def _op_digest(self) -> int:
        return int(self._node.digest())

    def _op_members(self) -> list[dict[str, Any]]:
        return list(self._node.members())

    def _op_leader(self) -> int:
        return int(self._node.leader())


def _check_key(key: object, where: str) -> None:
    if not isinstance(key, Key):
        raise TypeError(
            f"Replicator.{where}(): key must be a convergent key such as cv.ORSetKey('cart'), "
            f"got {type(key).__name__}"
        )


def _level(level: Any) -> Any:
    """A consistency level as it crosses to the node process: an int, or a cv.To or cv.Majority
    (picklable)."""
    return level if isinstance(level, (To, Majority)) else int(level)


class _Channel:
    def __init__(self, address: str, authkey: bytes) -> None:
        self.address = address
        self.authkey = authkey
        self._conn = Client(address, family="AF_UNIX", authkey=authkey)
        self._lock = threading.Lock()

    def call(self, op: str, *args: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((op, args))
                status, value = self._conn.recv()
            except (EOFError, OSError):
                raise NodeDownError("the node process is gone") from None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        self._conn.close()


class RemoteSubscription:
    """A subscription to a key of a node process (RemoteReplicator.subscribe): the callback runs
    on a thread of this subscription, with the events the node streams over a connection of its
    own. ``cancel()`` ends it; so does the node process going away (``active`` is then False)."""

    def __init__(
        self, channel: _Channel, key: Key[Any], callback: Callable[[Event], object], node: str
    ) -> None:
        self._key = key
        self._callback = callback
        self._lock = threading.Lock()  # sending (cancel) against closing (the reader)
        self._active = True
        try:
            self._conn = Client(channel.address, family="AF_UNIX", authkey=channel.authkey)
            self._conn.send(("subscribe", (key.type_name, key.name)))
            status, value = self._conn.recv()
        except (EOFError, OSError):
            raise NodeDownError("the node process is gone") from None
        if status == "error":
            self._conn.close()
            raise value
        self._reader = threading.Thread(
            target=self._read, name=f"convergent-events-{node}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                try:
                    kind, data = self._conn.recv()
                except (EOFError, OSError):
                    return
                if kind == "end":
                    return
                if not self._active:
                    continue
                key = self._key
                event: Event = Deleted(key)
                if kind == "changed":
                    event = Changed(key, key.type.from_bytes(data))
                elif kind == "expired":
                    event = Expired(key)
                try:
                    self._callback(event)
                except Exception:  # as a local node does: report it, keep delivering
                    traceback.print_exc()
        finally:
            self._active = False
            with self._lock:
                self._conn.close()

    def cancel(self) -> None:
        """Stops the callbacks (cancelling twice does nothing)."""
        if not self._active:
            return
        self._active = False
        with self._lock:
            if not self._conn.closed:
                with contextlib.suppress(OSError):
                    self._conn.send(("cancel", ()))

    @property
    def active(self) -> bool:
        """False once cancelled (or once the node process is gone)."""
        return self._active

    @property
    def key(self) -> Key[Any]:
        return self._key

    def __enter__(self) -> RemoteSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<Subscription {self._key!r}{'' if self._active else ' cancelled'}>"


class RemoteNode:
    """The driver's view of one node process."""

    def __init__(self, address: str, authkey: bytes, process: Any) -> None:
        self._channel = _Channel(address, authkey)
        self._process = process
        info = self._channel.call("info")
        self.id: int = info["id"]
        self.name: str = info["name"]
        self.url: str = info["url"]
        self.datacenter: str | None = info.get("datacenter")
        self.replicator = RemoteReplicator(self._channel, self)

    @property
    def running(self) -> bool:
        return bool(self._process.poll() is None)

    def wait_ready(self, timeout: float = 10.0) -> None:
        self._channel.call("wait_ready", float(timeout))

    def members(self) -> list[dict[str, Any]]:
        return list(self._channel.call("members"))

    def retire_writer(self, replica: int) -> None:
        """Retires the writer replica of an earlier handle (see Node._retire_writer)."""
        self._channel.call("retire_writer", replica)

    def leader(self) -> int:
        return int(self._channel.call("leader"))

    def step_wall_clock(self, seconds: float) -> None:
        """Steps the node process's wall clock (see Node._step_wall_clock)."""
        self._channel.call("step_wall_clock", float(seconds))

    def metrics(self) -> dict[str, float]:
        return dict(self._channel.call("metrics"))

    def digest(self) -> int:
        return int(self._channel.call("digest"))

    def close(self) -> None:
        self._channel.close()


class RemoteReplicator:
    """The Replicator API of a node process."""

    def __init__(self, channel: _Channel, node: RemoteNode) -> None:
        self._channel = channel
        self._node = node
        self.id = random.getrandbits(64)  # this handle's own writer replica
        self.node = node.id
        self.datacenter = node.datacenter
        # Retired by the node process when this handle's connection closes (and by the next
        # process of a LocalCluster node, if this one dies first).
        channel.call("writer", self.id)

    @property
    def alive(self) -> bool:
        return self._node.running

    def update(
        self,
        key: Key[Any],
        fn: Callable[[Any], object],
        *,
        write: Consistency | To | Majority = LOCAL,
        timeout: Any = None,
    ) -> None:
        """As Replicator.update. fn runs here on a recording handle (convergent._recording) and
        the node applies what it did before it answers. A fn that reads the value runs again on
        the value fetched from the node."""
        _check_key(key, "update")
        if not callable(fn):
            raise TypeError("Replicator.update(): fn must be callable, got " + type(fn).__name__)
        t, name = key.type_name, key.name
        try:
            ops, raised = record(t, fn)
        except NeedsState:
            self._update_with_state(key, fn, write, timeout)
            return
        if raised is None or ops:  # what fn did before it raised stays applied, as in update()
            self._channel.call("apply", t, name, ops, _level(write), timeout)
        if raised is not None:
            raise raised

    def update_many(
        self,
        updates: Iterable[tuple[Key[Any], Callable[[Any], object]]],
        *,
        write: Consistency | To | Majority = LOCAL,
        timeout: Any = None,
    ) -> None:
        """As Replicator.update_many: the functions recorded here, applied by the node a message
        of up to 1,024 at a time."""
        chunk: list[tuple[Key[Any], Callable[[Any], object]]] = []

        def apply() -> None:
            failed = self._apply_recorded(chunk, write, timeout)
            chunk.clear()
            if failed is not None:
                raise failed[1]

        for item in updates:
            if not isinstance(item, tuple) or len(item) != 2:
                apply()
                raise TypeError(
                    "Replicator.update_many(): each update must be a (key, fn) pair, got "
                    + type(item).__name__
                )
            _check_key(item[0], "update_many")
            chunk.append(item)
            if len(chunk) >= CHUNK:
                apply()
        apply()

    def pipeline(self) -> Pipeline:
        """As Replicator.pipeline: the functions recorded here as they are given, sent to the
        node 1,024 to a message."""
        return Pipeline(lambda pairs: self._apply_recorded(pairs, LOCAL, None))

    def _apply_recorded(
        self, pairs: list[tuple[Key[Any], Callable[[Any], object]]], write: Any, timeout: Any
    ) -> tuple[int, BaseException] | None:
        """Records each fn here and has the node apply them in order, one message for all (a fn
        that reads runs on the node's value, after those before it). None, or the index of the
        first update that failed (that fn's own, or the node's refusal) and its error."""
        batch: list[tuple[str, str, list[Op]]] = []
        start = 0  # the index in pairs of batch[0]

        def send() -> tuple[int, BaseException] | None:
            nonlocal start
            failed = (
                self._channel.call("apply_recorded", batch[:], _level(write), timeout)
                if batch
                else None
            )
            if failed is not None:
                return start + failed[0], failed[1]
            start += len(batch)
            batch.clear()
            return None

        for i, (key, fn) in enumerate(pairs):
            try:
                ops, raised = record(key.type_name, fn)
            except NeedsState:
                failed = send()
                if failed is not None:
                    return failed
                try:
                    self._update_with_state(key, fn, write, timeout)
                except Exception as e:  # the update's own error
                    return i, e
                start = i + 1
                continue
            if raised is not None:  # what fn did before it raised is applied, as in update()
                if ops:
                    batch.append((key.type_name, key.name, ops))
                failed = send()
                return failed if failed is not None else (i, raised)
            batch.append((key.type_name, key.name, ops))
        return send()

    def _update_with_state(
        self, key: Key[Any], fn: Callable[[Any], object], write: Any, timeout: Any
    ) -> None:
        """fn on the key's value fetched from the node, as this handle's writer replica."""
        t, name = key.type_name, key.name
        state = self._channel.call("get", t, name, 0, None)
        delta = _core._mutate(key.type, state, fn, self.id)
        self._channel.call("update", t, name, delta, _level(write), timeout)

    def get(
        self, key: Key[Any], *, read: Consistency | To | Majority = LOCAL, timeout: Any = None
    ) -> Any:
        state = self._channel.call("get", key.type_name, key.name, _level(read), timeout)
        return None if state is None else key.type.from_bytes(state)

    def delete(
        self, key: Key[Any], *, write: Consistency | To | Majority = LOCAL, timeout: Any = None
    ) -> None:
        self._channel.call("delete", key.type_name, key.name, _level(write), timeout)

    def subscribe(self, key: Key[Any], callback: Callable[[Event], object]) -> RemoteSubscription:
        """As Replicator.subscribe; the callback runs on a thread of the subscription."""
        if not isinstance(key, Key):
            raise TypeError(
                "Replicator.subscribe(): key must be a convergent key such as "
                f"cv.ORSetKey('cart'), got {type(key).__name__}"
            )
        if not callable(callback):
            raise TypeError(
                "Replicator.subscribe(): callback must be callable, got " + type(callback).__name__
            )
        return RemoteSubscription(self._channel, key, callback, self._node.name)

    def watch(self, key: Key[Any], *, maxsize: int = 0) -> Watch:
        """As Replicator.watch (an async iterator of the key's events), built on subscribe()."""
        return Watch(self.subscribe, key, maxsize=maxsize)

    def keys(self) -> list[Key[Any]]:
        return [key_of_type(t, n) for t, n in self._channel.call("keys")]

    def deleted(self, key: Key[Any]) -> bool:
        return bool(self._channel.call("deleted", key.type_name, key.name))

    def metrics(self) -> dict[str, float]:
        return {k: v for k, v in self._node.metrics().items() if k.startswith("crdt.")}

    def __repr__(self) -> str:
        return f"<RemoteReplicator node {self._node.name}, writer {self.id:016x}>"
