// DeltaFlush: the local changes a replicator publishes, batched. Each local update joins the
// key's delta since the last flush (one delta per key and flush, however many updates), each
// local delete queues its tombstone; every flush interval they go out, in update order, as delta
// batches that each fit a frame (a delta larger than max_delta_size goes as the key's full state).
// The interval is delta_flush_interval, or what back-pressure sets (SetInterval).
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "convergent/replicator.h"
#include "replica/key_store.h"
#include "replica/messages.h"

namespace convergent::internal {

class DeltaFlush {
 public:
  DeltaFlush(KeyStore& store, const ReplicatorOptions& options, ReplicatorMetrics& metrics);

  // A local update of key `name` (entry `e`) made `delta`.
  void AddDelta(const std::string& name, KeyEntry& e, AnyCrdt&& delta, TimeMicros now);
  // A local delete of `name` (its tombstone is in the store, marked pending).
  void AddTombstone(const std::string& name, TimeMicros now);
  // The first Tick, and each one after: publishes what is pending when the flush is due, in
  // batches handed to `send` (none without peers: then pending deltas are only dropped).
  void Start(TimeMicros now) { next_flush_ = now + interval_; }
  // `whole(name)`: the key's change must go out as its full state with its pruning markers.
  void Tick(TimeMicros now, bool have_peers, const std::function<bool(const std::string&)>& whole,
            const std::function<void(DeltaBatchMsg)>& send);
  // The next flush, when anything is pending (max otherwise).
  TimeMicros NextDeadline() const;
  void SetInterval(TimeMicros interval) { interval_ = interval; }
  TimeMicros interval() const { return interval_; }

 private:
  // A key (or tombstone) to publish at the next flush, in update order.
  struct Pending {
    std::string name;
    std::optional<AnyCrdt> delta;  // nullopt: a tombstone
  };

  KeyStore& store_;
  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::vector<Pending> pending_;  // released after each flush (see ReleaseIfLarge)
  TimeMicros interval_;
  TimeMicros next_flush_ = 0;
};

}  // namespace convergent::internal
