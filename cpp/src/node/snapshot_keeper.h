// SnapshotKeeper: a node's snapshots. It opens the store through the Env, restores what it can
// read into a fresh Replicator, and writes the keys and tombstones changed since the last write
// every `interval`. Damage is never silent: a store LevelDB finds damaged is repaired (what can
// still be read is kept), records that do not decode are dropped, and each is counted
// (convergent.snapshot.corrupt) and logged once with the path and what was lost; the node's
// peers repair the rest through anti-entropy. A failed write gives its records back to the
// Replicator, is counted and logged, and is retried at the next interval; replication never
// waits for it. A store that cannot be opened in a directory that exists and is writable (a
// full disk, an I/O error) does not stop the node: it starts empty and takes its keys from its
// peers (logged, convergent.snapshot.available 0), and opening is retried every interval; once
// open, every key changed since the start (all it holds) is written.
//
// Thread safety: none; the node core owns it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "convergent/env.h"
#include "convergent/replicator.h"
#include "convergent/snapshot_store.h"

namespace convergent::internal {

class SnapshotKeeper {
 public:
  // Opens (creating) the store in `dir`; errors: a directory that does not exist and cannot be
  // made, or that this process may not write (a configuration error).
  static Result<std::unique_ptr<SnapshotKeeper>> Open(Env& env, std::string dir,
                                                      std::string node_name, TimeMicros interval);

  // Loads what the store holds into `r` (an empty Replicator), then tracks its changes.
  void Restore(Replicator& r, TimeMicros now);
  // When the next write is due (monotonic).
  TimeMicros next_due() const { return next_due_; }
  // Writes the changes since the last write when due (or at once when `now_anyway`).
  void MaybeWrite(Replicator& r, TimeMicros now, bool now_anyway = false);
  void AddMetrics(std::map<std::string, double>& m) const;
  // Releases the store (its directory may be opened again). Idempotent.
  void Close() {
    store_.reset();
    closed_ = true;
  }

 private:
  SnapshotKeeper(Env& env, std::string dir, std::string node_name, TimeMicros interval);
  void ReportDamage(const std::string& what);
  // Opens the store (at start, or again while it was unavailable); the failure, if any (its
  // reason kept for the log).
  Status OpenStore();

  Env& env_;
  std::string dir_;
  std::string node_name_;
  TimeMicros interval_;
  std::unique_ptr<SnapshotStore> store_;  // null: unavailable (or closed)
  bool closed_ = false;
  std::string unavailable_reason_;  // why the store could not be opened (empty: it is open)
  TimeMicros next_due_ = 0;
  uint64_t writes_ = 0;
  uint64_t records_written_ = 0;
  uint64_t failures_ = 0;
  uint64_t corrupt_ = 0;          // damage found (a damaged store, records that do not decode)
  uint64_t records_dropped_ = 0;  // records lost to damage
  size_t restored_keys_ = 0;
  bool stale_ = false;  // restored too old to trust as it was (replica/stale_restore.h)
};

}  // namespace convergent::internal
