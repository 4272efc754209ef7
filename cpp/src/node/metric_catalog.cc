// The catalogue of a node's metrics (convergent/metrics.h): one row per metric the replicator
// (replica/replicator.cc, replica/dc_replication.cc) and the node (node/node_core.cc,
// node/snapshot_keeper.cc) report. A test checks that every name a node reports has a row.
#include <array>

#include "convergent/metrics.h"

namespace convergent {

namespace {

constexpr MetricKind kC = MetricKind::kCounter;
constexpr MetricKind kG = MetricKind::kGauge;

constexpr auto kCatalog = std::to_array<MetricInfo>({
    // ---- the store ----
    {"crdt.replicator.store.size", "convergent_replicator_keys", kG, "", "Keys in the store."},
    {"crdt.replicator.tombstone.count", "convergent_replicator_tombstones", kG, "",
     "Tombstones of deleted keys held."},
    {"crdt.replicator.merge.count", "convergent_replicator_merges_total", kC, "",
     "Remote states and deltas joined into the store."},
    {"crdt.replicator.delta.publish.count", "convergent_replicator_deltas_published_total", kC, "",
     "Key deltas sent to the peers."},
    {"crdt.replicator.delta.receive.count", "convergent_replicator_deltas_received_total", kC, "",
     "Key deltas received from peers."},
    {"crdt.replicator.coordinated.write.count", "convergent_replicator_coordinated_writes_total",
     kC, "", "Writes coordinated at a level above LOCAL."},
    {"crdt.replicator.coordinated.read.count", "convergent_replicator_coordinated_reads_total", kC,
     "", "Reads coordinated at a level above LOCAL."},
    {"crdt.replicator.keys.expired.count", "convergent_replicator_keys_expired_total", kC, "",
     "Keys expired here after expire_keys_after_inactivity."},
    {"crdt.replicator.keys.large.count", "convergent_replicator_large_keys_total", kC, "",
     "Keys whose full state passed log_data_size_exceeding (each counted once)."},
    {"crdt.replicator.keys.large.max_bytes", "convergent_replicator_large_key_max_bytes", kG,
     "bytes", "The largest full state of a key that passed log_data_size_exceeding."},
    // ---- anti-entropy ----
    {"crdt.replicator.antientropy.count", "convergent_replicator_antientropy_rounds_total", kC, "",
     "Anti-entropy rounds started."},
    {"crdt.replicator.antientropy.loss_repair.count",
     "convergent_replicator_antientropy_loss_repairs_total", kC, "",
     "Anti-entropy rounds started because frames from the peer were lost."},
    {"crdt.replicator.antientropy.meeting.count",
     "convergent_replicator_antientropy_meetings_total", kC, "",
     "Anti-entropy rounds started because the peer was just met."},
    {"crdt.replicator.antientropy.repairs.partial",
     "convergent_replicator_antientropy_partial_repairs_total", kC, "",
     "Keys repaired with the part the peer lacked, computed from its causal context."},
    {"crdt.replicator.antientropy.repairs.whole",
     "convergent_replicator_antientropy_whole_repairs_total", kC, "",
     "Keys repaired with their whole state (the peer lacked the key, or the type has no part)."},
    {"crdt.replicator.antientropy.tree_depth", "convergent_replicator_digest_tree_depth", kG, "",
     "Depth of the anti-entropy digest tree (16^depth leaves); it deepens as the store grows."},
    // ---- frames and key states dropped or set aside ----
    {"crdt.replicator.frames.dropped.malformed", "convergent_replicator_frames_malformed_total", kC,
     "", "Frames dropped because they did not decode."},
    {"crdt.replicator.frames.dropped.foreign", "convergent_replicator_frames_foreign_total", kC, "",
     "Frames dropped because their sender is not a peer (another role)."},
    {"crdt.replicator.frames.dropped.removed", "convergent_replicator_frames_from_removed_total",
     kC, "", "Frames dropped because their sender's replica is pruned or being pruned."},
    {"crdt.replicator.frames.fragmented.count", "convergent_replicator_fragmented_frames_total", kC,
     "", "Frames larger than max_frame_size sent in pieces."},
    {"crdt.replicator.frames.dropped.fragmented",
     "convergent_replicator_fragmented_frames_lost_total", kC, "",
     "Frames in pieces lost: a piece lost, not joined in time, or over max_reassembly_bytes."},
    {"crdt.replicator.fragments.held_bytes", "convergent_replicator_fragments_held_bytes", kG,
     "bytes", "Bytes of pieces of frames waiting to be joined."},
    {"crdt.replicator.entries.dropped.mistyped", "convergent_replicator_entries_mistyped_total", kC,
     "", "Key states dropped because the key has another type here."},
    {"crdt.replicator.entries.skipped.held", "convergent_replicator_entries_held_total", kC, "",
     "Large full states not decoded because this replica held the same already."},
    {"crdt.replicator.entries.dropped.stale", "convergent_replicator_entries_from_stale_total", kC,
     "", "Key states refused from a replica that missed collected deletes (or may have)."},
    {"crdt.replicator.coordinated.deferred", "convergent_replicator_coordinated_deferred_total", kC,
     "",
     "Peers' coordinated requests left unanswered while this replica, restored from a snapshot, "
     "had not yet heard every member."},
    {"crdt.replicator.entries.withheld", "convergent_replicator_entries_withheld_total", kC, "",
     "Key states not repaired into a peer that started empty, while this replica, restored from a "
     "snapshot, had not yet heard every member."},
    {"crdt.replicator.entries.dropped.expired", "convergent_replicator_entries_expired_total", kC,
     "", "States of keys not held here that arrived already expired."},
    // ---- deletes and tombstones ----
    {"crdt.replicator.tombstone.collected.count",
     "convergent_replicator_tombstones_collected_total", kC, "", "Tombstones collected here."},
    {"crdt.replicator.tombstones.dropped.collected", "convergent_replicator_tombstones_late_total",
     kC, "", "Tombstones that arrived after they were collected here (ignored)."},
    {"crdt.replicator.stale.catch_up.count", "convergent_replicator_stale_catch_ups_total", kC, "",
     "Catch-ups of this replica after it missed collected deletes."},
    {"crdt.replicator.stale.keys.quarantined", "convergent_replicator_stale_keys_set_aside_total",
     kC, "", "Keys set aside because this replica missed collected deletes."},
    {"crdt.replicator.stale.keys.restored", "convergent_replicator_stale_keys_restored_total", kC,
     "", "Keys set aside that were taken back because a peer still held them."},
    {"crdt.replicator.stale.keys.dropped", "convergent_replicator_stale_keys_dropped_total", kC, "",
     "Keys set aside that were dropped because no peer held them."},
    {"crdt.replicator.deletes.split_brain.count", "convergent_replicator_deletes_split_brain_total",
     kC, "",
     "Collected-delete floors adopted from a peer that also missed this replica's (keys kept)."},
    {"crdt.replicator.deletes.lost.count", "convergent_replicator_deletes_lost_total", kC, "",
     "Deletes of gone replicas that no member had seen, passed over so later ones can go."},
    {"crdt.replicator.deletes.retired.replicas", "convergent_replicator_deletes_retired_replicas",
     kG, "", "Replicas whose delete entries are left out of adverts."},
    {"crdt.replicator.deletes.adverts.dropped.unreadable",
     "convergent_replicator_delete_adverts_unreadable_total", kC, "",
     "Delete adverts ignored because they left out retired entries this replica lacks."},
    // ---- pruning of removed replicas ----
    {"crdt.replicator.pruning.started.count", "convergent_pruning_started_total", kC, "",
     "Keys this node (the leader) started pruning a removed replica from."},
    {"crdt.replicator.pruning.performed.count", "convergent_pruning_performed_total", kC, "",
     "Keys this node pruned a removed replica from."},
    {"crdt.replicator.pruning.removed", "convergent_pruning_removed_replicas", kG, "",
     "Replicas known removed, with their pruning targets."},
    {"crdt.replicator.pruning.marked.keys", "convergent_pruning_marked_keys", kG, "",
     "Keys that hold pruning markers."},
    {"crdt.replicator.pruning.members", "convergent_pruning_members", kG, "",
     "Members whose replica is known (0: one is not, and nothing is pruned)."},
    {"crdt.replicator.pruning.leader", "convergent_pruning_leader", kG, "",
     "1 when this node starts prunings, else 0."},
    // ---- restored snapshots too old to trust ----
    {"crdt.replicator.stale_snapshot.keys.set_aside",
     "convergent_snapshot_stale_keys_set_aside_total", kC, "",
     "Keys of a stale snapshot set aside until the peers' states are seen."},
    {"crdt.replicator.stale_snapshot.keys.cleaned", "convergent_snapshot_stale_keys_cleaned_total",
     kC, "", "Keys of a stale snapshot taken back against the peers' states."},
    {"crdt.replicator.stale_snapshot.keys.whole", "convergent_snapshot_stale_keys_whole_total", kC,
     "", "Keys of a stale snapshot taken back whole because no peer held them."},
    {"crdt.replicator.stale_snapshot.replicas.forgotten",
     "convergent_snapshot_stale_replicas_forgotten_total", kC, "",
     "Replicas the stale snapshot's keys had forgotten (once per key)."},
    // ---- frames by kind ----
    {"crdt.replicator.bytes.sent.{kind}", "convergent_replicator_sent_bytes_total", kC, "bytes",
     "Bytes of the replicator's frames sent, by frame kind."},
    {"crdt.replicator.bytes.received.{kind}", "convergent_replicator_received_bytes_total", kC,
     "bytes", "Bytes of the replicator's frames received, by frame kind."},
    {"crdt.replicator.frames.sent.{kind}", "convergent_replicator_sent_frames_total", kC, "",
     "The replicator's frames sent, by frame kind."},
    {"crdt.replicator.frames.received.{kind}", "convergent_replicator_received_frames_total", kC,
     "", "The replicator's frames received, by frame kind."},
    // ---- other datacenters ----
    {"crdt.replicator.crossdc.send.count", "convergent_crossdc_batches_sent_total", kC, "",
     "Batches of updates sent to other datacenters."},
    {"crdt.replicator.crossdc.receive.count", "convergent_crossdc_batches_received_total", kC, "",
     "Batches of updates received from other datacenters."},
    {"crdt.replicator.crossdc.replication.lag", "convergent_crossdc_replication_lag_seconds", kG,
     "seconds", "Time since the newest batch from any datacenter arrived (0: none yet).", 1e-9},
    {"crdt.replicator.crossdc.stale.skip.count", "convergent_crossdc_batches_skipped_total", kC, "",
     "Batches due to a datacenter that had no member to send to."},
    {"crdt.replicator.crossdc.buffer.dropped.count", "convergent_crossdc_buffers_dropped_total", kC,
     "", "Buffers of updates for other datacenters dropped over their bound."},
    {"crdt.replicator.crossdc.buffer.bytes", "convergent_crossdc_buffered_bytes", kG, "bytes",
     "Bytes of updates buffered for other datacenters."},
    {"crdt.replicator.crossdc.antientropy.count", "convergent_crossdc_antientropy_rounds_total", kC,
     "", "Anti-entropy rounds with other datacenters."},
    {"crdt.replicator.crossdc.gateway", "convergent_crossdc_gateway", kG, "",
     "1 when this node sends its datacenter's batches, else 0."},
    {"crdt.replicator.crossdc.dc.{dc}.reachable", "convergent_crossdc_remote_reachable", kG, "",
     "1 when the datacenter has a member to send to, else 0."},
    {"crdt.replicator.crossdc.dc.{dc}.batches.sent", "convergent_crossdc_remote_sent_batches_total",
     kC, "", "Batches sent to the datacenter."},
    {"crdt.replicator.crossdc.dc.{dc}.bytes.sent", "convergent_crossdc_remote_sent_bytes_total", kC,
     "bytes", "Bytes of batches sent to the datacenter."},
    {"crdt.replicator.crossdc.dc.{dc}.batches.received",
     "convergent_crossdc_remote_received_batches_total", kC, "",
     "Batches received from the datacenter."},
    {"crdt.replicator.crossdc.dc.{dc}.bytes.received",
     "convergent_crossdc_remote_received_bytes_total", kC, "bytes",
     "Bytes of batches received from the datacenter."},
    {"crdt.replicator.crossdc.dc.{dc}.queue.batches", "convergent_crossdc_remote_queued_batches",
     kG, "", "Batches queued for the datacenter."},
    {"crdt.replicator.crossdc.dc.{dc}.queue.bytes", "convergent_crossdc_remote_queued_bytes", kG,
     "bytes", "Bytes of batches queued for the datacenter."},
    {"crdt.replicator.crossdc.dc.{dc}.buffer.dropped.count",
     "convergent_crossdc_remote_buffers_dropped_total", kC, "",
     "Queues for the datacenter dropped over their bound."},
    {"crdt.replicator.crossdc.dc.{dc}.lag.seconds", "convergent_crossdc_remote_lag_seconds", kG,
     "seconds",
     "From the oldest change of the last batch received from the datacenter to its arrival."},
    // ---- the transport ----
    {"convergent.transport.frames.sent", "convergent_transport_sent_frames_total", kC, "",
     "Frames sent."},
    {"convergent.transport.frames.received", "convergent_transport_received_frames_total", kC, "",
     "Frames received."},
    {"convergent.transport.bytes.sent", "convergent_transport_sent_bytes_total", kC, "bytes",
     "Bytes of frames sent."},
    {"convergent.transport.bytes.received", "convergent_transport_received_bytes_total", kC,
     "bytes", "Bytes of frames received."},
    {"convergent.transport.send.dropped", "convergent_transport_sends_dropped_total", kC, "",
     "Frames that could not be queued (a full queue or no connection)."},
    {"convergent.transport.frames.oversized", "convergent_transport_oversized_frames_total", kC, "",
     "Frames received larger than max_frame_size (dropped)."},
    {"convergent.transport.bus.connections", "convergent_transport_bus_connections", kG, "",
     "Bus connections up."},
    {"convergent.transport.handshakes.refused", "convergent_transport_handshakes_refused_total", kC,
     "", "Connections to this node that failed their handshake (TLS or protocol)."},
    {"convergent.transport.dials.refused", "convergent_transport_dials_refused_total", kC, "",
     "Connections this node made that failed their handshake (TLS or protocol)."},
    {"convergent.transport.bus.duplicates.closed",
     "convergent_transport_duplicate_connections_closed_total", kC, "",
     "Second bus connections to the same member closed."},
    {"convergent.transport.bus.frames.lost", "convergent_transport_bus_frames_lost_total", kC, "",
     "Bus frames from peers found missing by their sequence numbers."},
    {"convergent.transport.bus.frames.duplicate", "convergent_transport_bus_frames_duplicate_total",
     kC, "", "Bus frames from peers received twice."},
    // ---- the node ----
    {"convergent.node.ready", "convergent_node_ready", kG, "",
     "1 once the node has heard from every seed and min_members are reachable, else 0."},
    {"convergent.node.frames.malformed", "convergent_node_frames_malformed_total", kC, "",
     "Frames from peers dropped because they did not decode."},
    {"convergent.node.frames.forged", "convergent_node_frames_forged_total", kC, "",
     "Frames dropped because they claimed a sender they cannot be from."},
    {"convergent.node.heartbeats.foreign", "convergent_node_heartbeats_foreign_total", kC, "",
     "Heartbeats from another datacenter while this node has none."},
    {"convergent.backpressure.congestion.count", "convergent_backpressure_congestion_signals_total",
     kC, "", "Times a full send queue slowed the delta flush down."},
    {"convergent.backpressure.flush.interval.seconds",
     "convergent_backpressure_flush_interval_seconds", kG, "seconds",
     "The delta flush interval now (longer under congestion)."},
    // ---- membership ----
    {"convergent.membership.members", "convergent_membership_members", kG, "",
     "Members known, this node included."},
    {"convergent.membership.reachable", "convergent_membership_reachable_members", kG, "",
     "Members reachable, this node included."},
    {"convergent.membership.downed", "convergent_membership_downed_total", kC, "",
     "Members downed after they were unreachable too long."},
    {"convergent.membership.replicas.counted", "convergent_membership_replicas_counted", kG, "",
     "N of MAJORITY and ALL: the replicas this node counts."},
    {"convergent.membership.seeds.unheard", "convergent_membership_seeds_unheard", kG, "",
     "Seeds not heard from yet."},
    {"convergent.datacenters.remote", "convergent_datacenters_remote", kG, "",
     "Other datacenters known."},
    {"convergent.datacenters.reachable", "convergent_datacenters_reachable", kG, "",
     "Other datacenters reachable."},
    {"convergent.datacenters.hellos.sent", "convergent_datacenters_hellos_sent_total", kC, "",
     "Hellos sent to other datacenters' seeds."},
    {"convergent.datacenters.hellos.received", "convergent_datacenters_hellos_received_total", kC,
     "", "Hellos received from other datacenters."},
    {"convergent.datacenters.probes", "convergent_datacenters_probes", kG, "",
     "Other datacenters' seeds being probed."},
    // ---- snapshots ----
    {"convergent.snapshot.available", "convergent_snapshot_available", kG, "",
     "1 when the snapshot store is open, else 0."},
    {"convergent.snapshot.count", "convergent_snapshot_writes_total", kC, "", "Snapshots written."},
    {"convergent.snapshot.records.written", "convergent_snapshot_records_written_total", kC, "",
     "Records written to snapshots."},
    {"convergent.snapshot.failures", "convergent_snapshot_failures_total", kC, "",
     "Snapshots that failed to write."},
    {"convergent.snapshot.corrupt", "convergent_snapshot_damage_total", kC, "",
     "Damage found in the snapshot store (a damaged store, records that do not decode)."},
    {"convergent.snapshot.records.dropped", "convergent_snapshot_records_dropped_total", kC, "",
     "Snapshot records lost to damage."},
    {"convergent.snapshot.restored.keys", "convergent_snapshot_restored_keys", kG, "",
     "Keys restored from the snapshot at the node's start."},
    {"convergent.snapshot.stale", "convergent_snapshot_stale", kG, "",
     "1 when the restored snapshot was too old to trust as it was, else 0."},
    // ---- a process node's control socket (Python) ----
    {"convergent.control.refused", "convergent_control_refused_total", kC, "",
     "Connections to the control socket refused (a wrong authkey or a bad message)."},
});

// "a.{x}.b" -> ("a.", "x", ".b"); a name without a placeholder has an empty label name.
struct Pattern {
  std::string_view prefix, label, suffix;
};

constexpr Pattern Split(std::string_view source) {
  const size_t open = source.find('{');
  if (open == std::string_view::npos) return {source, {}, {}};
  const size_t close = source.find('}', open);
  return {source.substr(0, open), source.substr(open + 1, close - open - 1),
          source.substr(close + 1)};
}

}  // namespace

std::span<const MetricInfo> MetricCatalog() { return kCatalog; }

std::optional<MetricMatch> FindMetric(std::string_view name) {
  for (const MetricInfo& info : kCatalog) {
    const Pattern p = Split(info.source);
    if (p.label.empty()) {
      if (name == info.source) return MetricMatch{&info, {}};
      continue;
    }
    if (name.size() > p.prefix.size() + p.suffix.size() && name.starts_with(p.prefix) &&
        name.ends_with(p.suffix)) {
      return MetricMatch{&info,
                         std::string(name.substr(p.prefix.size(),
                                                 name.size() - p.prefix.size() - p.suffix.size()))};
    }
  }
  return std::nullopt;
}

std::string_view MetricLabel(const MetricInfo& info) { return Split(info.source).label; }

}  // namespace convergent
