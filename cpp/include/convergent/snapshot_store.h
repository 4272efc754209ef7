// SnapshotStore: durable records by name for a node's snapshots (see Node), with a LevelDB and
// an in-memory implementation. It moves bytes and knows nothing of CRDTs.
//
// Thread safety: none; the node's loop owns its store.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convergent/status.h"

namespace convergent {

class SnapshotStore {
 public:
  using Record = std::pair<std::string, std::string>;  // (name, bytes)

  virtual ~SnapshotStore() = default;
  // Applies every change in one atomic batch: a record with bytes is written, one without
  // bytes is erased.
  virtual Status Write(const std::vector<Record>& changes) = 0;
  // Every record, checksums verified; Corruption when the store cannot be read completely.
  virtual Result<std::vector<Record>> ReadAll() = 0;
  // Erases every record (after a corrupt snapshot, before the node rebuilds from its peers).
  virtual Status Clear() = 0;
  // After ReadAll found damage: makes the store usable again, dropping what is damaged (the
  // LevelDB store drops everything: a table cannot be read past a failed checksum).
  virtual Status Repair() = 0;
};

// Opens (creating if needed) the LevelDB store in `dir`, checksums verified (paranoid checks).
// A store that LevelDB reports damaged is opened again skipping the log records whose checksums
// fail (or, when that fails too, created empty), and `*damage` says what was wrong (empty:
// nothing); the caller reports it. Other failures are errors: Unavailable for an I/O error that
// may pass (a full disk), InvalidArgument for a store another node holds (its lock).
Result<std::unique_ptr<SnapshotStore>> OpenLevelDbSnapshotStore(const std::string& dir,
                                                                std::string* damage);
std::unique_ptr<SnapshotStore> NewMemorySnapshotStore();

}  // namespace convergent
