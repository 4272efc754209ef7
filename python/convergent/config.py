"""Consistency levels and the replicator configuration.

``cv.Config`` holds every option of a replicator with the seed system's defaults. Types are
checked here; ranges by the C++ core (the same checks a node runs before it starts), so a bad
value raises ``ValueError`` when the Config is created, not later inside a cluster.
"""

from __future__ import annotations

import dataclasses
import enum
import os

from . import _core

__all__ = ["ALL", "DC_ALL", "DC_MAJORITY", "LOCAL", "MAJORITY", "Config", "Consistency", "To"]


class Consistency(enum.IntEnum):
    """How many replicas must take part in a write or a read before it returns."""

    #: This node only; replication happens in the background.
    LOCAL = 0
    #: floor(N/2)+1 of the N replicas (this one included) applied the write / answered the read.
    MAJORITY = 1
    #: Every replica.
    ALL = 2
    #: A majority of the replicas of this node's datacenter, and of each of a majority of all
    #: datacenters (this one counted). Without datacenters: MAJORITY.
    DC_MAJORITY = 3
    #: A majority of the replicas of every datacenter. Without datacenters: MAJORITY.
    DC_ALL = 4


LOCAL = Consistency.LOCAL
MAJORITY = Consistency.MAJORITY
ALL = Consistency.ALL
DC_MAJORITY = Consistency.DC_MAJORITY
DC_ALL = Consistency.DC_ALL


@dataclasses.dataclass(frozen=True)
class To:
    """A level of exactly ``n`` replicas, this one included: ``write=cv.To(2)`` returns once two
    replicas applied the write (``read=cv.To(2)``: once two answered). ``n`` above the number of
    replicas times out; ``cv.To(1)`` is ``cv.LOCAL``."""

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise TypeError(f"cv.To(n): n must be an int, got {type(self.n).__name__}")
        if not 1 <= self.n < 2**31:
            raise ValueError(f"cv.To(n): n must be >= 1, got {self.n}")

    def __repr__(self) -> str:
        return f"cv.To({self.n})"


@dataclasses.dataclass(frozen=True)
class Majority:
    """A majority with Akka's options: ``write=cv.Majority(plus=1)`` returns once a majority and one
    more replica applied the write (Akka's ``WriteMajorityPlus``); ``min_cap=4`` makes the majority
    at least four replicas (Akka's ``minCap``, for one call; ``Config.min_members`` sets N itself).
    Never more than the N replicas there are: ``cv.Majority(plus=99)`` is ``cv.ALL``.
    ``cv.Majority()`` is ``cv.MAJORITY``."""

    plus: int = 0
    min_cap: int = 0

    def __post_init__(self) -> None:
        for name in ("plus", "min_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(
                    f"cv.Majority({name}=...) must be an int, got {type(value).__name__}"
                )
            if not 0 <= value < 2**31:
                raise ValueError(f"cv.Majority({name}=...) must be >= 0, got {value}")

    def __repr__(self) -> str:
        return f"cv.Majority(plus={self.plus}, min_cap={self.min_cap})"


_Seconds = float | int


def _check_number(name: str, value: object, *, integer: bool = False) -> None:
    wanted: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        kind = "an int" if integer else "a number of seconds"
        raise TypeError(f"Config.{name} must be {kind}, got {type(value).__name__}")


@dataclasses.dataclass(frozen=True)
class Config:
    """The options of a replicator. Times are seconds; sizes are bytes.

    ``snapshot_interval`` and ``snapshot_dir`` configure LevelDB snapshots of real nodes; the
    simulator keeps each node's snapshots in memory when ``snapshot_interval`` is set (and rejects
    a ``snapshot_dir``). ``max_delta_flush_interval`` and ``down_after`` (back-pressure on the bus,
    membership) apply to real nodes and simulated ones alike.
    """

    #: Seconds between anti-entropy rounds (a digest exchange with one random peer).
    anti_entropy_interval: _Seconds = 30.0
    #: A key's buffered delta that encodes larger than this is sent as its full state when that
    #: encodes no larger.
    max_delta_size: int = 65536
    #: Seconds between tombstone collection passes.
    prune_interval: _Seconds = 300.0
    #: Seconds a tombstone is kept, on each node's own clock, after every member has it;
    #: meanwhile updates of the key are rejected.
    tombstone_ttl: _Seconds = 86400.0
    #: Seconds a MAJORITY/ALL call waits when it is given no timeout.
    coordination_timeout: _Seconds = 5.0
    #: Seconds before a MAJORITY/ALL request is resent to the peers that have not answered (the
    #: interval doubles at every resend).
    coordination_resend_interval: _Seconds = 0.1
    #: Only nodes with this role replicate with each other (None: every node).
    role: str | None = None
    #: Seconds between snapshots of changed keys (None: no snapshots).
    snapshot_interval: _Seconds | None = None
    #: The directory of the LevelDB snapshot (None: no snapshots).
    snapshot_dir: str | os.PathLike[str] | None = None
    #: Seconds between flushes of the buffered local deltas (many keys per frame).
    delta_flush_interval: _Seconds = 0.2
    #: The largest frame a replicator builds; bigger batches and repairs are split.
    max_frame_size: int = 1 << 20
    #: First depth of the anti-entropy digest tree (fan-out 16); it deepens as the store grows.
    digest_tree_depth: int = 3
    #: Seconds: when frames of a peer were lost on the way (a gap in its numbered bus frames), an
    #: anti-entropy round with it repairs them at once, then at most once per this interval.
    loss_repair_interval: _Seconds = 1.0
    #: Removed-replica pruning (Akka's names): seconds between pruning passes; seconds the leader
    #: waits after a replica incarnation is gone for good before it collapses its slots and dots;
    #: seconds the marker of a finished pruning lives (longer than any partition you expect).
    pruning_interval: _Seconds = 30.0
    max_pruning_dissemination: _Seconds = 60.0
    pruning_marker_ttl: _Seconds = 21600.0
    #: Back-pressure (real nodes): when peers report this node's bus frames lost, it flushes its
    #: deltas less often, up to once per this many seconds, so that its batches grow.
    max_delta_flush_interval: _Seconds = 1.0
    #: Seconds a member may stay silent before it is downed (real nodes): no longer a member, so
    #: no longer counted by MAJORITY/ALL; it rejoins if it comes back. None or 0: never (then a
    #: member gone without a goodbye stays counted, and every ALL call times out). During a
    #: partition longer than this each side counts only itself, which is why it is off by default.
    down_after: _Seconds | None = None
    #: Real nodes: MAJORITY/ALL count N = max(min_members, 1 + the members known + the seeds not
    #: heard from yet) replicas (Akka's minCap), and a node is ready (``Node.wait_ready``) once it
    #: has heard from every seed and min_members replicas are reachable.
    min_members: int = 1
    #: Seconds without an update on any replica after which a key expires: it leaves every
    #: replica without a tombstone and subscribers get ``cv.Expired(key)`` (Akka's
    #: expire-keys-after-inactivity). None: keys never expire.
    expire_keys_after_inactivity: _Seconds | None = None
    #: Bytes: a key whose state alone is larger than max_frame_size travels in pieces; this bounds
    #: what a node holds of them (queued to one peer, or being joined): a larger key does not
    #: replicate.
    max_reassembly_bytes: int = 256 << 20
    #: Bytes: a key whose full state is sent larger than this is reported once (a warning in the
    #: node's log, ``crdt.replicator.keys.large.count``); Akka's log-data-size-exceeding. 0: never.
    log_data_size_exceeding: int = 1 << 20
    #: Multiple datacenters: seconds between the batches of a datacenter's changes its gateway
    #: sends to each other datacenter; seconds between anti-entropy rounds with each other
    #: datacenter; seconds one attempt to send a batch lasts before it is sent again; bytes a node
    #: buffers for one other datacenter (past it the buffer is dropped, counted, and anti-entropy
    #: repairs instead).
    dc_replication_interval: _Seconds = 5.0
    dc_anti_entropy_interval: _Seconds = 120.0
    dc_send_timeout: _Seconds = 10.0
    max_dc_buffer_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        for name in (
            "anti_entropy_interval",
            "prune_interval",
            "tombstone_ttl",
            "coordination_timeout",
            "coordination_resend_interval",
            "delta_flush_interval",
            "loss_repair_interval",
            "max_delta_flush_interval",
            "pruning_interval",
            "max_pruning_dissemination",
            "pruning_marker_ttl",
            "dc_replication_interval",
            "dc_anti_entropy_interval",
            "dc_send_timeout",
        ):
            _check_number(name, getattr(self, name))
        for name in (
            "max_delta_size",
            "max_frame_size",
            "digest_tree_depth",
            "min_members",
            "max_reassembly_bytes",
            "log_data_size_exceeding",
            "max_dc_buffer_bytes",
        ):
            _check_number(name, getattr(self, name), integer=True)
        if self.role is not None and not isinstance(self.role, str):
            raise TypeError(f"Config.role must be a str or None, got {type(self.role).__name__}")
        if self.snapshot_interval is not None:
            _check_number("snapshot_interval", self.snapshot_interval)
            if not self.snapshot_interval > 0:
                raise ValueError("Config.snapshot_interval must be > 0 seconds (or None)")
        if self.snapshot_dir is not None and not isinstance(self.snapshot_dir, (str, os.PathLike)):
            raise TypeError(
                "Config.snapshot_dir must be a path or None, got "
                f"{type(self.snapshot_dir).__name__}"
            )
        if not 0 < self.max_delta_flush_interval < 86400:
            raise ValueError("Config.max_delta_flush_interval must be > 0 seconds")
        if not 1 <= self.min_members <= 100000:
            raise ValueError("Config.min_members must be in [1, 100000]")
        if self.down_after is not None:
            _check_number("down_after", self.down_after)
            if not 0 <= self.down_after < 1e9:
                raise ValueError("Config.down_after must be >= 0 seconds (or None: never)")
        if self.expire_keys_after_inactivity is not None:
            _check_number("expire_keys_after_inactivity", self.expire_keys_after_inactivity)
            if not 0 < self.expire_keys_after_inactivity < 1e9:
                raise ValueError(
                    "Config.expire_keys_after_inactivity must be > 0 seconds (or None: never)"
                )
        _core._check_config(self)  # the ranges, as the C++ core checks them (ValueError)
