#include "node/snapshot_keeper.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace convergent::internal {

Result<std::unique_ptr<SnapshotKeeper>> SnapshotKeeper::Open(Env& env, std::string dir,
                                                             std::string node_name,
                                                             TimeMicros interval) {
  std::unique_ptr<SnapshotKeeper> k(
      new SnapshotKeeper(env, std::move(dir), std::move(node_name), interval));
  const Status s = k->OpenStore();
  if (s.ok()) return k;
  // A directory this process cannot use, or another node's store, is a configuration error;
  // a failure that may pass (a full disk, an I/O error) lets the node run without the store
  // meanwhile.
  std::error_code ec;
  std::filesystem::create_directories(k->dir_, ec);
  if (s.code() != StatusCode::kUnavailable || !std::filesystem::is_directory(k->dir_, ec) ||
      access(k->dir_.c_str(), W_OK) != 0) {
    return Status::InvalidArgument("snapshot directory " + k->dir_ +
                                   " cannot be used: " + s.message());
  }
  return k;
}

SnapshotKeeper::SnapshotKeeper(Env& env, std::string dir, std::string node_name,
                               TimeMicros interval)
    : env_(env), dir_(std::move(dir)), node_name_(std::move(node_name)), interval_(interval) {}

Status SnapshotKeeper::OpenStore() {
  std::string damage;
  auto store = env_.OpenSnapshotStore(dir_, &damage);
  if (!store.ok()) {
    ++failures_;
    unavailable_reason_ = store.status().message();
    return store.status();
  }
  store_ = std::move(store).value();
  unavailable_reason_.clear();
  if (!damage.empty()) ReportDamage(damage);
  return Status::Ok();
}

void SnapshotKeeper::ReportDamage(const std::string& what) {
  ++corrupt_;
  env_.Log(LogLevel::kError, node_name_,
           "the snapshot in " + dir_ + " is damaged: " + what +
               "; the node starts from what it could read and repairs the rest from its peers");
}

void SnapshotKeeper::Restore(Replicator& r, TimeMicros now) {
  next_due_ = now + interval_;
  if (store_ == nullptr) {
    env_.Log(LogLevel::kError, node_name_,
             "the snapshot store in " + dir_ + " cannot be opened (" + unavailable_reason_ +
                 "): the node starts empty and takes its keys from its peers; opening is "
                 "retried every snapshot interval");
    r.TrackChanges();
    return;
  }
  auto records = store_->ReadAll();
  if (!records.ok()) {
    ReportDamage(records.status().message() +
                 "; the store was repaired, dropping what was damaged");
    if (Status s = store_->Repair(); s.ok()) records = store_->ReadAll();
    if (!records.ok()) {
      ReportDamage("still unreadable after a repair (" + records.status().message() +
                   "); every record is lost");
      if (Status c = store_->Clear(); !c.ok()) {
        env_.Log(LogLevel::kError, node_name_, "clearing the snapshot failed: " + c.message());
      }
      records = std::vector<SnapshotStore::Record>{};
    }
  }
  if (!r.Restore(*records).ok()) {
    // Some records do not decode: keep every one that does, erase the others.
    std::vector<SnapshotStore::Record> bad;
    for (const SnapshotStore::Record& rec : *records) {
      if (r.Restore({rec}).ok()) {
        if (!rec.first.empty()) ++restored_keys_;  // "" is the deletes record, not a key
      } else {
        bad.emplace_back(rec.first, std::string());
      }
    }
    records_dropped_ += bad.size();
    std::string names;
    for (size_t i = 0; i < bad.size() && i < 5; ++i) {
      names += (i ? ", " : "") + (bad[i].first.empty() ? "the deletes record" : bad[i].first);
    }
    ReportDamage(std::to_string(bad.size()) + " record(s) do not decode and were dropped (" +
                 names + (bad.size() > 5 ? ", ..." : "") + ")");
    if (Status s = store_->Write(bad); !s.ok()) {
      env_.Log(LogLevel::kError, node_name_,
               "erasing damaged snapshot records failed: " + s.message());
    }
  } else {
    restored_keys_ = static_cast<size_t>(std::count_if(
        records->begin(), records->end(), [](const auto& rec) { return !rec.first.empty(); }));
  }
  if (r.metrics().stale_snapshots != 0) {
    stale_ = true;
    env_.Log(LogLevel::kWarning, node_name_,
             "the snapshot in " + dir_ +
                 " was last written longer ago than pruning_marker_ttl less "
                 "max_pruning_dissemination: its " +
                 std::to_string(r.metrics().stale_snapshot_keys) +
                 " key(s) are set aside until the peers show what was pruned meanwhile "
                 "(docs/concepts.md, \"Removed replicas\")");
  }
  r.TrackChanges();
}

void SnapshotKeeper::MaybeWrite(Replicator& r, TimeMicros now, bool now_anyway) {
  if (closed_ || (!now_anyway && now < next_due_)) return;
  next_due_ = now + interval_;
  if (store_ == nullptr) {
    // The changes since the start (everything: the node started empty) wait for the store.
    if (!OpenStore().ok()) return;
    env_.Log(LogLevel::kInfo, node_name_,
             "the snapshot store in " + dir_ + " opened: writing every key this node holds");
  }
  std::vector<SnapshotStore::Record> changes = r.TakeChanges();
  if (changes.empty()) return;
  if (Status s = store_->Write(changes); !s.ok()) {
    r.ReturnChanges(changes);  // written by the next snapshot instead
    if (failures_++ == 0 || failures_ % 100 == 0) {
      env_.Log(LogLevel::kError, node_name_,
               "snapshot write " + std::to_string(failures_) +
                   " failed (retried every interval): " + s.ToString());
    }
    return;
  }
  ++writes_;
  records_written_ += changes.size();
}

void SnapshotKeeper::AddMetrics(std::map<std::string, double>& m) const {
  m["convergent.snapshot.count"] = static_cast<double>(writes_);
  m["convergent.snapshot.available"] = store_ != nullptr ? 1.0 : 0.0;
  m["convergent.snapshot.records.written"] = static_cast<double>(records_written_);
  m["convergent.snapshot.failures"] = static_cast<double>(failures_);
  m["convergent.snapshot.corrupt"] = static_cast<double>(corrupt_);
  m["convergent.snapshot.records.dropped"] = static_cast<double>(records_dropped_);
  m["convergent.snapshot.restored.keys"] = static_cast<double>(restored_keys_);
  m["convergent.snapshot.stale"] = stale_ ? 1.0 : 0.0;
}

}  // namespace convergent::internal
