#include "convergent/snapshot_store.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace convergent {
namespace {

// LevelDB's I/O errors (a full disk, a failing device) may pass; the rest are the caller's.
Status FromLevelDb(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsIOError()) return Status::Unavailable(what + ": " + s.ToString());
  return Status::InvalidArgument(what + ": " + s.ToString());
}

// Whether an open failed on the directory's lock, which another process (or another store of
// this one) holds. LevelDB reports it as an I/O error that names the lock, "lock <dir>/LOCK"
// (env_posix.cc), and says nothing else that would tell it from a full disk.
bool HeldByAnother(const leveldb::Status& s, const std::string& dir) {
  return s.IsIOError() && s.ToString().find("lock " + dir + "/LOCK") != std::string::npos;
}

// `paranoid`: any damage fails the open. Without it LevelDB skips log records whose checksums
// fail (what it keeps is checksummed, unlike RepairDB's, which keeps unverified bytes).
Result<std::unique_ptr<leveldb::DB>> Open(const std::string& dir, bool paranoid = true) {
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = paranoid;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (HeldByAnother(s, dir)) {
    return Status::InvalidArgument("snapshot store " + dir + " is in use by another node (" +
                                   s.ToString() + ")");
  }
  if (!s.ok()) return FromLevelDb(s, "snapshot store " + dir);
  return std::unique_ptr<leveldb::DB>(db);
}

class LevelDbStore final : public SnapshotStore {
 public:
  LevelDbStore(std::unique_ptr<leveldb::DB> db, std::string dir)
      : db_(std::move(db)), dir_(std::move(dir)) {}

  // A table whose checksums fail cannot be read past the damage, and LevelDB's RepairDB would
  // keep unverified bytes: the store starts empty (the node's peers hold the data).
  Status Repair() override {
    db_.reset();
    leveldb::DestroyDB(dir_, leveldb::Options());
    auto db = Open(dir_);
    if (!db.ok()) return db.status();
    db_ = std::move(db).value();
    return Status::Ok();
  }

  Status Write(const std::vector<Record>& changes) override {
    leveldb::WriteBatch batch;
    for (const auto& [name, bytes] : changes) {
      if (bytes.empty()) {
        batch.Delete(name);
      } else {
        batch.Put(name, bytes);
      }
    }
    return FromLevelDb(db_->Write(leveldb::WriteOptions(), &batch), "snapshot write in " + dir_);
  }

  Result<std::vector<Record>> ReadAll() override {
    leveldb::ReadOptions options;
    options.verify_checksums = true;
    options.fill_cache = false;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options));
    std::vector<Record> out;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    if (Status s = FromLevelDb(it->status(), "snapshot read in " + dir_); !s.ok()) return s;
    return out;
  }

  Status Clear() override {
    std::vector<Record> all;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) all.emplace_back(it->key().ToString(), "");
    it.reset();
    return Write(all);
  }

 private:
  std::unique_ptr<leveldb::DB> db_;
  std::string dir_;
};

class MemoryStore final : public SnapshotStore {
 public:
  Status Write(const std::vector<Record>& changes) override {
    for (const auto& [name, bytes] : changes) {
      if (bytes.empty()) {
        records_.erase(name);
      } else {
        records_[name] = bytes;
      }
    }
    return Status::Ok();
  }
  Result<std::vector<Record>> ReadAll() override {
    return std::vector<Record>(records_.begin(), records_.end());
  }
  Status Clear() override {
    records_.clear();
    return Status::Ok();
  }
  Status Repair() override { return Status::Ok(); }

 private:
  std::map<std::string, std::string> records_;
};

}  // namespace

Result<std::unique_ptr<SnapshotStore>> OpenLevelDbSnapshotStore(const std::string& dir,
                                                                std::string* damage) {
  damage->clear();
  auto db = Open(dir);
  if (!db.ok() && db.status().code() == StatusCode::kCorruption) {
    *damage = db.status().message();
    db = Open(dir, /*paranoid=*/false);  // skips the damaged log records, keeps the rest
    if (!db.ok()) {
      *damage += "; unreadable, every record is lost";
      leveldb::DestroyDB(dir, leveldb::Options());
      db = Open(dir);
    } else {
      *damage += "; the damaged log records were skipped, the others kept";
    }
  }
  if (!db.ok()) return db.status();
  return std::unique_ptr<SnapshotStore>(new LevelDbStore(std::move(db).value(), dir));
}

std::unique_ptr<SnapshotStore> NewMemorySnapshotStore() { return std::make_unique<MemoryStore>(); }

}  // namespace convergent
