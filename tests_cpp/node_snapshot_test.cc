// Node snapshots (LevelDB): restore on start, periodic and final snapshots, and corrupt
// snapshots that are reported and rebuilt from the peers instead of half-restored.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "convergent/node.h"
#include "convergent/snapshot_store.h"
#include "node_test_support.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using test::GIncrement;
using test::GValue;
using test::Increment;
using test::WaitFor;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/convergent-snapshot-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

NodeOptions Options(const std::string& url, const std::string& dir,
                    std::vector<std::string> seeds = {}) {
  NodeOptions o = test::FastOptions(url, std::move(seeds));
  o.snapshot_dir = dir;
  o.snapshot_interval = 0.05;
  return o;
}

std::unique_ptr<Node> Start(const NodeOptions& o) {
  auto node = Node::Start(o);
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  return node.ok() ? std::move(node).value() : nullptr;
}

bool IsDeleted(Node& n, const std::string& key) {
  bool deleted = false;
  n.Run([&](Replicator& r, TimeMicros) { deleted = r.IsDeleted(key); });
  return deleted;
}

TEST(NodeSnapshotTest, AStopWritesAFinalSnapshotThatTheNextStartRestores) {
  TempDir dir;
  const NodeOptions o = Options("inproc://snapshot-final", dir.path());
  auto node = Start(o);
  for (int k = 0; k < 100; ++k) Increment(*node, "k" + std::to_string(k), k + 1);
  ASSERT_TRUE(node->Request([&](Replicator& r, TimeMicros now) {
                    return r.Delete("gone", CrdtType::kGCounter, Consistency::kLocal, now);
                  })
                  .ok());
  const ReplicaId first = node->replica_id();
  node->Stop(/*graceful=*/true);
  node = Start(o);
  EXPECT_NE(node->replica_id(), first);  // a new incarnation, restored state
  EXPECT_EQ(GValue(*node, "k0"), 1u);
  EXPECT_EQ(GValue(*node, "k99"), 100u);
  EXPECT_TRUE(IsDeleted(*node, "gone"));
  const auto m = node->Metrics();
  EXPECT_EQ(m.at("convergent.snapshot.restored.keys"), 101);
  EXPECT_EQ(m.at("convergent.snapshot.corrupt"), 0);
}

TEST(NodeSnapshotTest, PeriodicSnapshotsSurviveACrashAndWriteOnlyChanges) {
  TempDir dir;
  const NodeOptions o = Options("inproc://snapshot-crash", dir.path());
  auto node = Start(o);
  for (int k = 0; k < 50; ++k) Increment(*node, "k" + std::to_string(k));
  ASSERT_TRUE(
      WaitFor([&] { return node->Metrics().at("convergent.snapshot.records.written") >= 50; }));
  const double written = node->Metrics().at("convergent.snapshot.records.written");
  Increment(*node, "k7", 5);  // one changed key: one more record
  ASSERT_TRUE(WaitFor(
      [&] { return node->Metrics().at("convergent.snapshot.records.written") >= written + 1; }));
  // (That idle intervals write nothing is checked in the simulator, without waiting:
  // SimulationNodeTest.SnapshotsWriteOnlyWhatChanged.)
  EXPECT_EQ(node->Metrics().at("convergent.snapshot.records.written"), written + 1);
  node->Stop(/*graceful=*/false);  // a crash: no final snapshot
  node = Start(o);
  EXPECT_EQ(GValue(*node, "k7"), 6u);
  EXPECT_EQ(GValue(*node, "k49"), 1u);
}

TEST(NodeSnapshotTest, ACorruptSnapshotIsReportedAndTheNodeRebuildsFromItsPeers) {
  TempDir dir;
  auto peer = Start(Options("inproc://snapshot-peer", ""));
  const NodeOptions o = Options("inproc://snapshot-corrupt", dir.path(), {peer->bus_url()});
  auto node = Start(o);
  for (int k = 0; k < 30; ++k) Increment(*peer, "k" + std::to_string(k));
  ASSERT_TRUE(WaitFor([&] { return GValue(*node, "k29") == 1; }));
  node->Stop(true);
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().filename() == "LOCK") continue;
    std::ofstream(f.path(), std::ios::binary | std::ios::trunc) << "not a leveldb file at all";
  }
  node = Start(o);
  EXPECT_EQ(node->Metrics().at("convergent.snapshot.corrupt"), 1);
  ASSERT_TRUE(WaitFor([&] { return GValue(*node, "k29") == 1 && GValue(*node, "k0") == 1; }));
}

TEST(NodeSnapshotTest, ABadRecordIsDroppedAndCountedTheRestIsRestored) {
  TempDir dir;
  const NodeOptions o = Options("inproc://snapshot-bad-record", dir.path());
  auto node = Start(o);
  for (int k = 0; k < 20; ++k) Increment(*node, "k" + std::to_string(k));
  node->Stop(true);
  node.reset();
  {
    std::string damage;
    auto store = OpenLevelDbSnapshotStore(dir.path(), &damage);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(damage, "");
    ASSERT_TRUE((*store)->Write({{"k5", "\x0a\x03zzz"}}).ok());  // a state that does not decode
  }
  node = Start(o);
  EXPECT_EQ(node->Metrics().at("convergent.snapshot.corrupt"), 1);
  EXPECT_EQ(node->Metrics().at("convergent.snapshot.records.dropped"), 1);
  EXPECT_EQ(GValue(*node, "k0"), 1u);
  EXPECT_EQ(GValue(*node, "k5"), 0u);
  EXPECT_EQ(node->Metrics().at("crdt.replicator.store.size"), 19);
  node->Stop(true);
  node.reset();
  node = Start(o);  // the bad record was erased: nothing to report the second time
  EXPECT_EQ(node->Metrics().at("convergent.snapshot.corrupt"), 0);
  EXPECT_EQ(node->Metrics().at("crdt.replicator.store.size"), 19);
}

TEST(NodeSnapshotTest, AnUnusableSnapshotDirectoryIsAStartError) {
  TempDir dir;
  const std::string file = dir.path() + "/a-file";
  std::ofstream(file) << "x";
  auto node = Node::Start(Options("inproc://snapshot-bad-dir", file + "/sub"));
  EXPECT_FALSE(node.ok());
  NodeOptions o = Options("inproc://snapshot-bad-interval", dir.path());
  o.snapshot_interval = 0;
  EXPECT_EQ(Node::Start(o).status().code(), StatusCode::kInvalidArgument);
}

// The real world, except that opening a snapshot store fails while `full` is set (as on a full
// disk, where LevelDB cannot write its log).
class FullDiskEnv : public Env {
 public:
  std::atomic<bool> full{true};
  TimeMicros MonotonicMicros() override { return Env::Default().MonotonicMicros(); }
  TimeMicros WallMicros() override { return Env::Default().WallMicros(); }
  void Log(LogLevel level, std::string_view source, std::string_view message) override {
    Env::Default().Log(level, source, message);
  }
  uint64_t Random() override { return Env::Default().Random(); }
  Result<std::unique_ptr<Transport>> NewTransport(const TransportOptions& o,
                                                  Transport::FrameHandler on_frame) override {
    return Env::Default().NewTransport(o, std::move(on_frame));
  }
  Result<std::unique_ptr<SnapshotStore>> OpenSnapshotStore(const std::string& path,
                                                           std::string* damage) override {
    if (full) return Status::Unavailable("IO error: " + path + ": No space left on device");
    return Env::Default().OpenSnapshotStore(path, damage);
  }
};

// A store that cannot be opened in a usable directory does not stop the node: it starts empty,
// takes its keys from its peer, and writes them all once the store opens; a restart then
// restores them without the peer.
TEST(NodeSnapshotTest, AStoreThatCannotBeOpenedLeavesTheNodeRunningAndIsRetried) {
  TempDir dir;
  auto peer = Start(test::FastOptions("inproc://snapshot-full-peer"));
  ASSERT_NE(peer, nullptr);
  Increment(*peer, "k", 5);
  FullDiskEnv env;
  auto node = Node::Start(Options("inproc://snapshot-full", dir.path(), {peer->bus_url()}), env);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return GValue(**node, "k") == 5; }));
  auto metrics = (*node)->Metrics();
  EXPECT_EQ(metrics.at("convergent.snapshot.available"), 0);
  EXPECT_GT(metrics.at("convergent.snapshot.failures"), 0);
  env.full = false;
  ASSERT_TRUE(WaitFor([&] {
    auto m = (*node)->Metrics();
    return m.at("convergent.snapshot.available") == 1 && m.at("convergent.snapshot.count") > 0;
  }));
  (*node)->Stop(false);
  node->reset();
  peer->Stop(false);
  auto again = Start(Options("inproc://snapshot-full-again", dir.path()));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(GValue(*again, "k"), 5u);  // restored, with no peer to ask
}

// Two nodes on one snapshot directory is a configuration error, not a full disk.
TEST(NodeSnapshotTest, ASnapshotDirectoryInUseByAnotherNodeIsAStartError) {
  TempDir dir;
  auto first = Start(Options("inproc://snapshot-shared-1", dir.path()));
  ASSERT_NE(first, nullptr);
  auto second = Node::Start(Options("inproc://snapshot-shared-2", dir.path()));
  EXPECT_EQ(second.status().code(), StatusCode::kInvalidArgument);
}

// The store tells a directory another store holds (a configuration error) from a failure that
// may pass, by its status code, not by the words of its message.
TEST(NodeSnapshotTest, TheStoreTellsADirectoryInUseFromAFailureThatMayPass) {
  TempDir dir;
  std::string damage;
  auto first = OpenLevelDbSnapshotStore(dir.path(), &damage);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenLevelDbSnapshotStore(dir.path(), &damage);
  EXPECT_EQ(second.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(second.status().message().find("in use by another node"), std::string::npos)
      << second.status().message();
  // Any other I/O error (here a file where the directory should be) may pass; the node checks
  // its directory itself.
  const std::string blocked = dir.path() + "/file";
  { std::ofstream(blocked) << "x"; }
  auto third = OpenLevelDbSnapshotStore(blocked + "/store", &damage);
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable) << third.status().ToString();
}

}  // namespace
}  // namespace convergent

namespace convergent {
namespace {

// Bytes flipped in LevelDB's log (every 97th): the damage is found (checksums verified), counted
// and logged; the node keeps what could be read and repairs the rest from its peer.
TEST(NodeSnapshotTest, FlippedBytesInTheLogAreFoundCountedAndRepairedFromPeers) {
  TempDir dir;
  auto peer = Start(Options("inproc://snapshot-flip-peer", ""));
  NodeOptions o = Options("inproc://snapshot-flip", dir.path(), {peer->bus_url()});
  o.snapshot_interval = 3600;  // everything stays in the log until the final snapshot
  auto node = Start(o);
  for (int k = 0; k < 200; ++k) Increment(*peer, "k" + std::to_string(k));
  ASSERT_TRUE(WaitFor([&] { return GValue(*node, "k199") == 1; }));
  node->Stop(true);
  node.reset();
  size_t flipped = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().extension() != ".log") continue;
    std::fstream file(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    for (size_t i = 96; i < bytes.size(); i += 97, ++flipped)
      bytes[i] = static_cast<char>(~bytes[i]);
    file.seekp(0);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ASSERT_GT(flipped, 0u);
  node = Start(o);
  ASSERT_NE(node, nullptr);
  EXPECT_GE(node->Metrics().at("convergent.snapshot.corrupt"), 1);
  ASSERT_TRUE(WaitFor([&] { return node->StoreDigest() == peer->StoreDigest(); }));
  EXPECT_EQ(GValue(*node, "k0"), 1u);
}

}  // namespace
}  // namespace convergent
