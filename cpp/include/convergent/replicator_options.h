// ReplicatorOptions: every tunable of a replicator, with the seed system's defaults. Times are
// seconds (as in the Python Config); Validate rejects what cannot work, before anything starts.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "convergent/status.h"

namespace convergent {

struct ReplicatorOptions {
  // Seconds between anti-entropy rounds (digest exchange with one random peer of the role).
  double anti_entropy_interval = 30.0;
  // Bytes: a key's buffered delta that encodes larger than this is sent as its full state when
  // that encodes no larger (else as the delta: a large key's writes do not cost its whole size).
  size_t max_delta_size = 65536;
  // Seconds between tombstone collection passes.
  double prune_interval = 300.0;
  // Seconds a tombstone is kept, on this node's clock, after every member has it (see
  // docs/concepts.md, "Deletes and tombstones"); meanwhile updates of the key are rejected.
  double tombstone_ttl = 86400.0;
  // Seconds a Majority/All write or read waits for acks when the call gives no timeout.
  double coordination_timeout = 5.0;
  // Seconds after which a Majority/All request is sent again to the peers that have not answered
  // (then after twice that, and so on, until the timeout): requests survive a lost frame.
  double coordination_resend_interval = 0.1;
  // Only nodes with this role replicate with each other (none: every node).
  std::optional<std::string> role;
  // Seconds between flushes of the buffered local deltas (many keys per frame).
  double delta_flush_interval = 0.2;
  // Bytes: the largest frame the replicator builds; bigger batches and repairs are split.
  size_t max_frame_size = 1 << 20;
  // First depth of the anti-entropy digest tree (fan-out 16): 16^depth leaf buckets of keys. It
  // deepens as the store grows (replica/key_store.h), to at most 5.
  int digest_tree_depth = 3;
  // Seconds: when frames from a peer were lost on the way (a node finds gaps in each peer's
  // numbered bus frames), an anti-entropy round with that peer starts at once to repair them,
  // then at most once per this interval while the loss goes on.
  double loss_repair_interval = 1.0;
  // Removed-replica pruning (docs/concepts.md): seconds between pruning passes (the leader starts
  // prunings, owners perform them, obsolete markers go); seconds the leader waits after a replica
  // was removed before it starts pruning it (what the removed replica wrote spreads first);
  // seconds a performed pruning's marker lives (it must outlast any partition: a value that still
  // holds the removed replica when its marker is gone would count it again).
  double pruning_interval = 30.0;
  double max_pruning_dissemination = 60.0;
  double pruning_marker_ttl = 21600.0;
  // Seconds without an update (on any replica) after which a key expires: it leaves every
  // replica's store without a tombstone and subscribers see kExpired (Akka's
  // expire-keys-after-inactivity). 0: keys never expire.
  double expire_keys_after_inactivity = 0.0;
  // Bytes: a frame larger than max_frame_size (a key whose state alone is larger) travels in
  // pieces (replica/fragments.h); this bounds what a replicator holds of them, queued to one peer
  // or being joined from its peers: a larger key does not replicate.
  size_t max_reassembly_bytes = size_t{256} << 20;
  // Bytes: a key whose full state is sent larger than this is reported (a warning in the node's
  // log, once per key, and crdt.replicator.keys.large); Akka's log-data-size-exceeding. 0: never.
  size_t log_data_size_exceeding = size_t{1} << 20;
  // Multiple datacenters (replica/dc_replication.h): seconds between the batches of a
  // datacenter's changes its gateway sends to each other datacenter; seconds between
  // anti-entropy rounds with each other datacenter; seconds one attempt to send a batch lasts
  // before it is sent again; bytes a replica buffers for one other datacenter (its queue is
  // dropped past it, and anti-entropy repairs instead).
  double dc_replication_interval = 5.0;
  double dc_anti_entropy_interval = 120.0;
  double dc_send_timeout = 10.0;
  size_t max_dc_buffer_bytes = size_t{64} << 20;

  Status Validate() const;
};

}  // namespace convergent
