// The Replicator state machine driven by hand: two or three Replicators, frames carried between
// them by the test (and dropped, duplicated, corrupted or delayed on purpose), time given
// explicitly. No simulator: every frame that moves is one the test chose to move.
#include "convergent/replicator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "replica/digest_tree.h"
#include "replica/frame_codec.h"
#include "replica/messages.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using Cluster = test::ReplicatorCluster;
using test::FlagEnable;
using test::GIncrement;
using test::LWWSet;
using test::MVSet;
using test::PNAdd;
using test::Sent;
using test::SetAdd;
using test::SetRemove;

constexpr TimeMicros kSecond = 1'000'000;

uint64_t GValue(Replicator& r, std::string_view key) {
  auto v = r.Get(key, CrdtType::kGCounter);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (!v.ok() || *v == nullptr) return 0;
  return (*v)->get_if<GCounter>()->value();
}

int64_t PNValue(Replicator& r, std::string_view key) {
  auto v = r.Get(key, CrdtType::kPNCounter);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (!v.ok() || *v == nullptr) return 0;
  return (*v)->get_if<PNCounter>()->value();
}

bool Has(Replicator& r, std::string_view key, CrdtType type) {
  auto v = r.Get(key, type);
  return v.ok() && *v != nullptr;
}

// The node's pending delta batches (its other frames, e.g. of an anti-entropy round, are dropped).
std::vector<OutgoingFrame> TakeDeltas(Replicator& r) {
  std::vector<OutgoingFrame> out = r.TakeOutgoing();
  std::erase_if(out, [](const OutgoingFrame& f) { return f.kind != FrameKind::kDeltaBatch; });
  return out;
}

size_t FramesSent(const Replicator& r, FrameKind k) {
  return r.metrics().frames_sent[static_cast<int>(k)];
}
size_t BytesSent(const Replicator& r) {
  size_t total = 0;
  for (int k = 0; k < kFrameKinds; ++k) total += r.metrics().bytes_sent[k];
  return total;
}

// ---- delta batching ------------------------------------------------------------------------

TEST(ReplicatorTest, DeltasOfManyUpdatesTravelInOneBatchPerFlush) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c[0].Update("k" + std::to_string(i % 10), CrdtType::kGCounter, GIncrement(a),
                            Consistency::kLocal, 1000 + i)
                    .ok());
  }
  // Nothing leaves before the flush interval has passed.
  c[0].Tick(kSecond / 20);
  EXPECT_TRUE(TakeDeltas(c[0]).empty());
  EXPECT_LE(c[0].NextDeadline(), kSecond / 10 + 1000);

  c[0].Tick(kSecond / 5);
  std::vector<OutgoingFrame> out = TakeDeltas(c[0]);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].to.has_value());  // a broadcast
  auto frame = internal::DecodeFrame(out[0].bytes);
  ASSERT_TRUE(frame.ok());
  const auto& batch = std::get<internal::DeltaBatchMsg>(frame->body);
  EXPECT_EQ(batch.entries.size(), 10u);  // the updates of one key were joined
  EXPECT_EQ(c[0].metrics().delta_publish_count, 10u);

  c[1].Receive(out[0].bytes, kSecond / 5);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(GValue(c[1], "k" + std::to_string(i)), 5u);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());

  // Nothing more to send until the next update.
  c[0].Tick(kSecond);
  EXPECT_TRUE(TakeDeltas(c[0]).empty());
}

// A key's delta larger than max_delta_size goes as the full state only when that is no larger.
// A large key's writes went as its whole state each flush: 1,403 bytes per add to a set of a
// million elements (benchmarks/scaling), 15 as deltas.
TEST(ReplicatorTest, ALargeKeysLargeDeltaGoesAsADelta) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  TimeMicros now = 1000;
  // The entries of the flushed delta batches, delivered to c[1] on the way.
  const auto flush = [&] {
    now += kSecond;
    c[0].Tick(now);
    std::vector<internal::KeyedState> entries;
    for (const OutgoingFrame& f : TakeDeltas(c[0])) {
      auto frame = internal::DecodeFrame(f.bytes);
      EXPECT_TRUE(frame.ok());
      if (!frame.ok()) continue;
      for (const auto& e : std::get<internal::DeltaBatchMsg>(frame->body).entries) {
        entries.push_back(e);
      }
      c[1].Receive(f.bytes, now);
    }
    return entries;
  };
  const auto add = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(
          c[0].Update("big", CrdtType::kORSet, SetAdd(a, IntValue(i)), Consistency::kLocal, now)
              .ok());
    }
  };
  add(0, 20000);  // the first delta is the whole state: either may go
  std::vector<internal::KeyedState> first = flush();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_GT(first[0].state.size(), 65536u);
  add(20000, 30000);  // a delta of ~90 KB on a state of ~270 KB
  std::vector<internal::KeyedState> second = flush();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(second[0].full);
  EXPECT_GT(second[0].state.size(), 65536u);
  auto state = c[0].Get("big", CrdtType::kORSet);
  ASSERT_TRUE(state.ok() && *state != nullptr);
  EXPECT_LT(second[0].state.size(), EncodeAny(**state).size() / 2);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
}

// A digest step that names one tree node a thousand times (a peer's bug, or forged) is answered
// once per node, not a thousand times over; one that names a node outside the tree is dropped
// and counted.
TEST(ReplicatorTest, ADigestStepNamingANodeManyTimesIsAnsweredOncePerNode) {
  Cluster c(2);
  ASSERT_TRUE(c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()),
                          Consistency::kLocal, 1000)
                  .ok());
  c[0].Tick(kSecond);
  c[0].TakeOutgoing();
  auto step_from_1 = [&](std::vector<uint32_t> nodes) {
    internal::DigestStepMsg step{7, 1, nodes, std::vector<uint64_t>(nodes.size(), 1), {}};
    c[0].Receive(internal::EncodeFrame(internal::FrameMsg{1, step, c[1].replica_id()}), kSecond);
    c[0].Tick(kSecond + 1);
    size_t answered = 0;
    for (const OutgoingFrame& f : c[0].TakeOutgoing()) {
      if (f.kind != FrameKind::kDigestStep) continue;
      auto frame = internal::DecodeFrame(f.bytes);
      answered += std::get<internal::DigestStepMsg>(frame->body).nodes.size();
    }
    return answered;
  };
  const uint32_t node = 3;  // any level-1 node: a digest of 1 differs from its real one
  EXPECT_EQ(step_from_1(std::vector<uint32_t>(1000, node)), internal::DigestTree::kFanout);
  const uint64_t malformed = c[0].metrics().frames_malformed;
  EXPECT_EQ(step_from_1({node, 1u << 30}), 0u);
  EXPECT_EQ(c[0].metrics().frames_malformed, malformed + 1);
}

TEST(ReplicatorTest, BatchesAreSplitAtTheFrameSizeLimit) {
  ReplicatorOptions o = Cluster::Options();
  o.max_frame_size = 1024;
  Cluster c(2, o);
  const ReplicaId a = c[0].replica_id();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(c[0].Update("key-" + std::to_string(i), CrdtType::kGCounter, GIncrement(a),
                            Consistency::kLocal, 0)
                    .ok());
  }
  c[0].Tick(kSecond);
  std::vector<OutgoingFrame> out = TakeDeltas(c[0]);
  EXPECT_GT(out.size(), 3u);
  for (const OutgoingFrame& f : out) {
    EXPECT_LE(f.bytes.size(), o.max_frame_size);
    c[1].Receive(f.bytes, kSecond);
  }
  EXPECT_EQ(c[1].Keys().size(), 300u);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
}

TEST(ReplicatorTest, DuplicatedAndReorderedDeltasConverge) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  std::vector<std::string> frames;
  for (int round = 1; round <= 3; ++round) {
    ASSERT_TRUE(c[0].Update("k", CrdtType::kGCounter, GIncrement(a, round), Consistency::kLocal,
                            round * kSecond)
                    .ok());
    c[0].Tick(round * kSecond + kSecond / 2);
    for (OutgoingFrame& f : TakeDeltas(c[0])) frames.push_back(std::move(f.bytes));
  }
  ASSERT_EQ(frames.size(), 3u);
  for (int i : {2, 0, 2, 1, 0}) c[1].Receive(frames[i], 5 * kSecond);
  EXPECT_EQ(GValue(c[1], "k"), 6u);
}

// Regression: a replica's later delta arrives while the delta in between is lost. Its older
// entry (whose removal only the lost delta carried) lingers beside the newer one; reads must
// take the replica's newest entry (a counter in a map was unreadable, an MVRegister showed the
// overwritten value as concurrent).
TEST(ReplicatorTest, AReplicasNewestEntryWinsWhenTheDeltaBetweenIsLost) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  const std::vector<std::pair<Replicator::Mutation, Replicator::Mutation>> writes = {
      {test::PNMapAdd(a, StringValue("k"), 1), test::MVSet(a, StringValue("x"))},
      {test::PNMapAdd(a, StringValue("k"), -2), test::MVSet(a, StringValue("y"))},
      {test::PNMapAdd(a, StringValue("k"), 3), test::MVSet(a, StringValue("z"))}};
  for (size_t i = 0; i < writes.size(); ++i) {
    const TimeMicros t = static_cast<TimeMicros>(i + 1) * kSecond;
    ASSERT_TRUE(
        c[0].Update("map", CrdtType::kPNCounterMap, writes[i].first, Consistency::kLocal, t).ok());
    ASSERT_TRUE(
        c[0].Update("mv", CrdtType::kMVRegister, writes[i].second, Consistency::kLocal, t).ok());
    c[0].Tick(t + kSecond / 2);
    std::vector<OutgoingFrame> out = TakeDeltas(c[0]);
    ASSERT_EQ(out.size(), 1u);
    if (i != 1) c[1].Receive(out[0].bytes, t + kSecond / 2);  // the second batch is lost
  }
  auto map = c[1].Get("map", CrdtType::kPNCounterMap);
  ASSERT_TRUE(map.ok() && *map != nullptr);
  EXPECT_EQ((*map)->get_if<PNCounterMap>()->Get(StringValue("k")), std::optional<int64_t>(2));
  auto mv = c[1].Get("mv", CrdtType::kMVRegister);
  ASSERT_TRUE(mv.ok() && *mv != nullptr);
  EXPECT_EQ((*mv)->get_if<MVRegister>()->Values(), std::vector<Value>{StringValue("z")});
}

// ---- frames from outside ---------------------------------------------------------------------

TEST(ReplicatorTest, ChangesGivenBackAfterAFailedSnapshotAreTakenAgain) {
  Replicator r(0, ReplicaId{1}, Cluster::Options(), 1);
  r.TrackChanges();
  r.Tick(0);
  ASSERT_TRUE(
      r.Update("a", CrdtType::kGCounter, GIncrement(ReplicaId{1}), Consistency::kLocal, 0).ok());
  ASSERT_TRUE(
      r.Update("b", CrdtType::kGCounter, GIncrement(ReplicaId{1}), Consistency::kLocal, 0).ok());
  std::vector<Replicator::SnapshotChange> failed = r.TakeChanges();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_TRUE(r.TakeChanges().empty());
  r.ReturnChanges(failed);
  // "a" changes again meanwhile: the retaken record holds its newest state.
  ASSERT_TRUE(
      r.Update("a", CrdtType::kGCounter, GIncrement(ReplicaId{1}), Consistency::kLocal, 0).ok());
  std::vector<Replicator::SnapshotChange> again = r.TakeChanges();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].first, "a");
  EXPECT_EQ(again[1].first, "b");
  EXPECT_EQ(again[1].second, failed[1].second);
  EXPECT_NE(again[0].second, failed[0].second);
}

TEST(ReplicatorTest, OwnFramesAreIgnored) {
  Cluster c(2);
  ASSERT_TRUE(
      c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()), Consistency::kLocal, 0)
          .ok());
  c[0].Tick(kSecond);
  std::vector<OutgoingFrame> out = TakeDeltas(c[0]);
  ASSERT_EQ(out.size(), 1u);
  // A later incarnation of node 0 (same node id, empty store) hears its own old broadcast.
  Replicator again(0, ReplicaId{77}, Cluster::Options(), 1);
  again.Receive(out[0].bytes, kSecond);
  EXPECT_TRUE(again.Keys().empty());
  EXPECT_EQ(again.metrics().frames_received[static_cast<int>(FrameKind::kDeltaBatch)], 0u);
  EXPECT_EQ(again.metrics().frames_malformed, 0u);
}

TEST(ReplicatorTest, GarbageFramesAreCountedAndChangeNothing) {
  Cluster c(2);
  ASSERT_TRUE(
      c[1].Update("mine", CrdtType::kPNCounter, PNAdd(c[1].replica_id(), 4), Consistency::kLocal, 0)
          .ok());
  const uint64_t digest = c[1].StoreDigest();
  const std::vector<std::string> garbage = {
      std::string("\xff\xff\xff\xff", 4), std::string("\x0a\xff\x01", 3), std::string(64, '\x12'),
      std::string("\x12\x05hello", 7), std::string("\x08\x96\x01\x12\x02\x0a\x00", 7)};
  // Each is dropped and counted once: not a frame at all, or (the last one) a frame whose only
  // entry holds no valid state.
  uint64_t malformed = 0;
  for (const std::string& g : garbage) {
    c[1].Receive(g, kSecond);
    EXPECT_EQ(c[1].metrics().frames_malformed, ++malformed) << "frame of " << g.size() << " bytes";
  }
  EXPECT_EQ(c[1].StoreDigest(), digest);
  EXPECT_EQ(PNValue(c[1], "mine"), 4);
}

TEST(ReplicatorTest, TruncatedFramesAreCountedOrApplyOnlyWhatIsWhole) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c[0].Update("k" + std::to_string(i), CrdtType::kPNCounter, PNAdd(a, i + 1),
                            Consistency::kLocal, 0)
                    .ok());
  }
  c[0].Tick(kSecond);
  std::vector<OutgoingFrame> out = TakeDeltas(c[0]);
  ASSERT_EQ(out.size(), 1u);
  const std::string& whole = out[0].bytes;
  size_t rejected = 0;
  for (size_t len = 1; len < whole.size(); ++len) {
    Replicator r(1, ReplicaId{5}, Cluster::Options(), 1);
    r.SetPeers({0, 1});
    const std::string_view prefix(whole.data(), len);
    r.Receive(prefix, kSecond);
    const bool frame_decodes = internal::DecodeFrame(prefix).ok();
    if (!frame_decodes) {
      ++rejected;
      EXPECT_EQ(r.metrics().frames_malformed, 1u) << "prefix " << len;
      EXPECT_TRUE(r.Keys().empty()) << "prefix " << len;
      continue;
    }
    // A prefix that still parses as a frame: its whole entries apply with the right values and
    // a cut state is dropped and counted.
    for (const auto& [key, type] : r.Keys()) {
      const int i = key[1] - '0';
      EXPECT_EQ(PNValue(r, key), i + 1) << "prefix " << len;
    }
  }
  EXPECT_GT(rejected, whole.size() / 2);
}

TEST(ReplicatorTest, CorruptStatesInsideAFrameAreCountedOneByOne) {
  Cluster c(2);
  internal::DeltaBatchMsg batch;
  batch.entries.push_back(
      {"good", EncodeAny(AnyCrdt(GCounter().Increment(ReplicaId{9}, 3))), false, {}});
  batch.entries.push_back({"bad", std::string("\x0a\x03\xff\xff\xff", 5), false, {}});
  batch.entries.push_back({"empty", std::string(), false, {}});
  c[1].Receive(internal::EncodeFrame({0, batch, {}}), kSecond);
  EXPECT_EQ(c[1].metrics().frames_malformed, 2u);
  EXPECT_EQ(GValue(c[1], "good"), 3u);
  EXPECT_FALSE(Has(c[1], "bad", CrdtType::kGCounter));
  EXPECT_EQ(c[1].Keys().size(), 1u);
}

TEST(ReplicatorTest, MistypedEntriesAreCountedNotAppliedAndKeepTheStore) {
  Cluster c(2);
  // Node 1 holds "k" as a GCounter and more keys; node 0 writes "k" as a PNCounter.
  ASSERT_TRUE(c[1].Update("k", CrdtType::kGCounter, GIncrement(c[1].replica_id(), 5),
                          Consistency::kLocal, 0)
                  .ok());
  ASSERT_TRUE(c[1].Update("other", CrdtType::kGCounter, GIncrement(c[1].replica_id(), 2),
                          Consistency::kLocal, 0)
                  .ok());
  ASSERT_TRUE(
      c[0].Update("k", CrdtType::kPNCounter, PNAdd(c[0].replica_id(), -3), Consistency::kLocal, 0)
          .ok());
  ASSERT_TRUE(c[0].Update("fresh", CrdtType::kPNCounter, PNAdd(c[0].replica_id(), 8),
                          Consistency::kLocal, 0)
                  .ok());
  c[0].Tick(kSecond);
  for (const Sent& s : c.Take()) {
    if (s.from == 0) c.Deliver(s, kSecond);
  }
  EXPECT_EQ(c[1].metrics().entries_mistyped, 1u);
  EXPECT_EQ(GValue(c[1], "k"), 5u);
  EXPECT_EQ(GValue(c[1], "other"), 2u);
  EXPECT_EQ(PNValue(c[1], "fresh"), 8);  // the rest of the batch applies
  auto wrong = c[1].Get("k", CrdtType::kPNCounter);
  EXPECT_EQ(wrong.status().code(), StatusCode::kTypeMismatch);

  // Local updates of another type are refused, and change nothing either.
  auto r = c[1].Update("k", CrdtType::kPNCounter, PNAdd(c[1].replica_id(), 1), Consistency::kLocal,
                       kSecond);
  EXPECT_EQ(r.status().code(), StatusCode::kTypeMismatch);
  EXPECT_EQ(GValue(c[1], "k"), 5u);

  // A repair carrying the mistyped key is counted too, and the store stays.
  internal::RepairMsg repair;
  repair.entries.push_back(
      {"k", EncodeAny(AnyCrdt(PNCounter().Increment(ReplicaId{4}, 1))), true, {}});
  c[1].Receive(internal::EncodeFrame({0, repair, {}}), 2 * kSecond);
  EXPECT_EQ(c[1].metrics().entries_mistyped, 2u);
  EXPECT_EQ(GValue(c[1], "k"), 5u);
  EXPECT_EQ(c[1].Keys().size(), 3u);
}

TEST(ReplicatorTest, AMistypedTombstoneIsCountedAndKeepsTheKey) {
  Cluster c(2);
  ASSERT_TRUE(c[1].Update("k", CrdtType::kGCounter, GIncrement(c[1].replica_id(), 5),
                          Consistency::kLocal, 0)
                  .ok());
  internal::DeltaBatchMsg batch;
  batch.tombstones.push_back({"k", CrdtType::kORSet, 10, {Dot{ReplicaId{99}, 1}}});
  c[1].Receive(internal::EncodeFrame({0, batch, {}}), kSecond);
  EXPECT_EQ(c[1].metrics().entries_mistyped, 1u);
  EXPECT_FALSE(c[1].IsDeleted("k"));
  EXPECT_EQ(GValue(c[1], "k"), 5u);
}

// ---- tombstones ------------------------------------------------------------------------------

TEST(ReplicatorTest, ADeleteReplicatesRejectsUpdatesAndIgnoresLateDeltas) {
  Cluster c(3);
  const ReplicaId r2 = c[2].replica_id();
  ASSERT_TRUE(c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 1),
                          Consistency::kLocal, 0)
                  .ok());
  c.TickAll(kSecond);
  c.Pump(kSecond);
  ASSERT_EQ(GValue(c[2], "k"), 1u);

  // Node 2 updates concurrently with node 0's delete; its delta is held back.
  ASSERT_TRUE(
      c[2].Update("k", CrdtType::kGCounter, GIncrement(r2, 10), Consistency::kLocal, kSecond).ok());
  c[2].Tick(2 * kSecond);
  std::vector<Sent> late = c.Take();
  ASSERT_FALSE(late.empty());

  ASSERT_TRUE(c[0].Delete("k", CrdtType::kGCounter, Consistency::kLocal, 2 * kSecond).ok());
  EXPECT_TRUE(c[0].IsDeleted("k"));
  c.TickAll(3 * kSecond);
  c.Pump(3 * kSecond);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_TRUE(c[i].IsDeleted(std::string("k"))) << "node " << i;
    EXPECT_FALSE(Has(c[i], "k", CrdtType::kGCounter)) << "node " << i;
    EXPECT_EQ(c[i].tombstone_count(), 1u);
  }
  // The late delta of node 2 does not bring the key back.
  for (const Sent& s : late) c.Deliver(s, 4 * kSecond);
  for (NodeId i = 0; i < 3; ++i) EXPECT_FALSE(Has(c[i], "k", CrdtType::kGCounter));
  // Updates of the deleted key are rejected while the tombstone lives.
  auto r = c[1].Update("k", CrdtType::kGCounter, GIncrement(c[1].replica_id()), Consistency::kLocal,
                       4 * kSecond);
  EXPECT_EQ(r.status().code(), StatusCode::kKeyDeleted);
  // Reading it is fine: it is absent.
  auto v = c[1].Get("k", CrdtType::kGCounter);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, nullptr);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  EXPECT_EQ(c[0].StoreDigest(), c[2].StoreDigest());
}

TEST(ReplicatorTest, TombstonesTravelByAntiEntropyAndAreCollectedOnceEveryMemberHasThem) {
  ReplicatorOptions o = Cluster::Options();
  o.tombstone_ttl = 100.0;
  o.prune_interval = 50.0;
  Cluster c(2, o);
  c.SetMembers();
  ASSERT_TRUE(c[0].Update("k", CrdtType::kORSet, SetAdd(c[0].replica_id(), IntValue(1)),
                          Consistency::kLocal, 0)
                  .ok());
  c.TickAll(kSecond);
  c.Pump(kSecond);
  ASSERT_TRUE(Has(c[1], "k", CrdtType::kORSet));
  ASSERT_TRUE(c[0].Delete("k", CrdtType::kORSet, Consistency::kLocal, 2 * kSecond).ok());
  c.TickAll(3 * kSecond);
  c.Take();  // the delta batch with the tombstone is lost
  EXPECT_FALSE(c[1].IsDeleted("k"));
  EXPECT_NE(c[0].StoreDigest(), c[1].StoreDigest());

  // Anti-entropy (every 10 s here, first round within 10 s of the start) brings it over.
  c.TickAll(20 * kSecond);
  c.Pump(20 * kSecond);
  EXPECT_TRUE(c[1].IsDeleted("k"));
  EXPECT_FALSE(Has(c[1], "k", CrdtType::kORSet));
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());

  // Once each has heard the other has it (their rounds' adverts), and tombstone_ttl later on
  // their own clocks, the tombstones are collected and the key may be written again.
  const TimeMicros t = c.Run(21 * kSecond, 400 * kSecond, 5 * kSecond);
  EXPECT_EQ(c[0].tombstone_count(), 0u);
  EXPECT_EQ(c[1].tombstone_count(), 0u);
  EXPECT_EQ(c[0].metrics().tombstones_collected, 1u);
  EXPECT_TRUE(c[1].Update("k", CrdtType::kORSet, SetAdd(c[1].replica_id(), IntValue(2)),
                          Consistency::kLocal, t)
                  .ok());
}

// ---- coordinated writes ----------------------------------------------------------------------

TEST(ReplicatorTest, MajorityWriteCompletesOnOneAckOfThree) {
  Cluster c(3);
  auto id = c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 2),
                        Consistency::kMajority, 0);
  ASSERT_TRUE(id.ok());
  ASSERT_NE(*id, 0u);
  EXPECT_EQ(GValue(c[0], "k"), 2u);  // applied locally at once
  // Only node 1 hears the request; node 2 is silent.
  c.Pump(1000, [](NodeId from, NodeId to, FrameKind) { return from != 2 && to != 2; });
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *id);
  EXPECT_TRUE(done[0].status.ok()) << done[0].status.ToString();
  EXPECT_EQ(GValue(c[1], "k"), 2u);
  EXPECT_EQ(c[0].metrics().coordinated_write_count, 1u);
}

TEST(ReplicatorTest, DuplicatedAcksCountOnce) {
  Cluster c(5);  // Majority: 3 of 5, so two peers must ack
  auto id = c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()),
                        Consistency::kMajority, 0);
  ASSERT_TRUE(id.ok());
  // Node 1 alone hears the request, and its ack arrives three times.
  for (const Sent& s : c.Take()) {
    if (s.frame.to == NodeId{1}) c.Deliver(s, 1000);
  }
  std::vector<Sent> acks = c.Take();
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_EQ(acks[0].frame.kind, FrameKind::kWriteAck);
  for (int i = 0; i < 3; ++i) c.Deliver(acks[0], 2000);
  EXPECT_TRUE(c[0].TakeCompletions().empty());
  c[0].Tick(2 * kSecond);  // past the 1 s timeout
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), StatusCode::kTimeout);
}

TEST(ReplicatorTest, AllWriteTimesOutWhenAPeerIsSilentAndTheWriteStays) {
  Cluster c(3);
  auto id = c[0].Update("k", CrdtType::kPNCounter, PNAdd(c[0].replica_id(), 7), Consistency::kAll,
                        0, /*timeout=*/0.5);
  ASSERT_TRUE(id.ok());
  c.Pump(1000, [](NodeId from, NodeId to, FrameKind) { return from != 2 && to != 2; });
  EXPECT_TRUE(c[0].TakeCompletions().empty());  // one of two acks
  EXPECT_LE(c[0].NextDeadline(), kSecond / 2);
  c[0].Tick(kSecond / 2 - 1);
  EXPECT_TRUE(c[0].TakeCompletions().empty());
  c[0].Tick(kSecond / 2);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *id);
  EXPECT_EQ(done[0].status.code(), StatusCode::kTimeout);
  EXPECT_EQ(PNValue(c[0], "k"), 7);  // the local write stays
  EXPECT_EQ(PNValue(c[1], "k"), 7);
  // A late ack changes nothing.
  c.Pump(kSecond);
  EXPECT_TRUE(c[0].TakeCompletions().empty());
  // And the write still replicates as usual.
  c.TickAll(2 * kSecond);
  c.Pump(2 * kSecond);
  EXPECT_EQ(PNValue(c[2], "k"), 7);
}

TEST(ReplicatorTest, AllWriteCompletesWhenEveryPeerAcks) {
  Cluster c(3);
  auto id =
      c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 3), Consistency::kAll, 0);
  ASSERT_TRUE(id.ok());
  c.Pump(1000);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());
  for (NodeId i = 0; i < 3; ++i) EXPECT_EQ(GValue(c[i], "k"), 3u);
}

TEST(ReplicatorTest, AWriteRejectedByPeersFailsWithTheirError) {
  Cluster c(3);
  for (NodeId i : {1, 2}) {
    ASSERT_TRUE(c[i].Update("k", CrdtType::kORSet, SetAdd(c[i].replica_id(), IntValue(1)),
                            Consistency::kLocal, 0)
                    .ok());
  }
  c.Take();
  auto id = c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()),
                        Consistency::kMajority, 0);
  ASSERT_TRUE(id.ok());
  c.Pump(1000);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), StatusCode::kTypeMismatch);
  EXPECT_EQ(c[1].metrics().entries_mistyped, 1u);
}

TEST(ReplicatorTest, AWriteOfAKeyDeletedOnThePeersFailsWithKeyDeleted) {
  Cluster c(3);
  for (NodeId i : {1, 2}) {
    ASSERT_TRUE(c[i].Delete("k", CrdtType::kGCounter, Consistency::kLocal, 0).ok());
  }
  c.Take();  // node 0 never hears of the deletes
  auto id = c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()),
                        Consistency::kMajority, 0);
  ASSERT_TRUE(id.ok());
  c.Pump(1000);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), StatusCode::kKeyDeleted) << done[0].status.ToString();
}

TEST(ReplicatorTest, CoordinatedDeleteCompletesOnAcks) {
  Cluster c(3);
  auto id = c[0].Delete("k", CrdtType::kFlag, Consistency::kAll, 0);
  ASSERT_TRUE(id.ok());
  ASSERT_NE(*id, 0u);
  c.Pump(1000);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());
  for (NodeId i = 0; i < 3; ++i) EXPECT_TRUE(c[i].IsDeleted("k"));
}

TEST(ReplicatorTest, LocalAndSingleNodeWritesCompleteAtOnce) {
  Cluster c(1);
  auto id = c[0].Update("k", CrdtType::kFlag, FlagEnable(), Consistency::kAll, 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0u);
  Cluster three(3);
  id = three[0].Update("k", CrdtType::kFlag, FlagEnable(), Consistency::kLocal, 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0u);
}

// ---- coordinated reads -----------------------------------------------------------------------

TEST(ReplicatorTest, AllReadMergesThePeersAnswers) {
  Cluster c(3);
  // Each node counts on its own; nothing is replicated yet.
  for (NodeId i = 0; i < 3; ++i) {
    ASSERT_TRUE(c[i].Update("k", CrdtType::kGCounter, GIncrement(c[i].replica_id(), i + 1),
                            Consistency::kLocal, 0)
                    .ok());
  }
  c.Take();
  auto id = c[0].Read("k", CrdtType::kGCounter, Consistency::kAll, 1000);
  ASSERT_TRUE(id.ok());
  ASSERT_NE(*id, 0u);
  c.Pump(2000);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].status.ok()) << done[0].status.ToString();
  ASSERT_TRUE(done[0].value.has_value());
  EXPECT_EQ(done[0].value->get_if<GCounter>()->value(), 6u);
  EXPECT_FALSE(done[0].deleted);
  EXPECT_EQ(GValue(c[0], "k"), 6u);  // the merged value is written back locally
  EXPECT_EQ(GValue(c[1], "k"), 2u);  // the peers are not changed by a read
}

TEST(ReplicatorTest, MajorityReadOfADeletedKeySaysDeleted) {
  Cluster c(3);
  ASSERT_TRUE(
      c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()), Consistency::kLocal, 0)
          .ok());
  ASSERT_TRUE(c[1].Delete("k", CrdtType::kGCounter, Consistency::kLocal, 0).ok());
  c.Take();
  auto id = c[0].Read("k", CrdtType::kGCounter, Consistency::kMajority, 1000);
  ASSERT_TRUE(id.ok());
  c.Pump(2000, [](NodeId from, NodeId to, FrameKind) { return from != 2 && to != 2; });
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].status.ok());
  EXPECT_TRUE(done[0].deleted);
  EXPECT_FALSE(done[0].value.has_value());
  EXPECT_TRUE(c[0].IsDeleted("k"));
}

TEST(ReplicatorTest, ReadTimesOutWithoutAnswers) {
  Cluster c(3);
  auto id = c[0].Read("k", CrdtType::kGCounter, Consistency::kMajority, 0, 0.25);
  ASSERT_TRUE(id.ok());
  c.Take();  // the requests are lost
  c[0].Tick(kSecond / 4);
  std::vector<Completion> done = c[0].TakeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), StatusCode::kTimeout);
  // A read of another type than the key holds is refused up front.
  ASSERT_TRUE(
      c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()), Consistency::kLocal, 0)
          .ok());
  EXPECT_EQ(c[0].Read("k", CrdtType::kFlag, Consistency::kAll, 0).status().code(),
            StatusCode::kTypeMismatch);
}

// ---- anti-entropy ----------------------------------------------------------------------------

// Runs one anti-entropy round started by node `from`... by ticking every node at `now` and
// carrying every frame; returns the bytes all nodes sent.
size_t AntiEntropyRound(Cluster& c, TimeMicros now) {
  size_t before = 0;
  for (NodeId i = 0; i < c.size(); ++i) before += BytesSent(c[i]);
  c.TickAll(now);
  c.Pump(now, [](NodeId, NodeId, FrameKind k) { return k != FrameKind::kDeltaBatch; });
  size_t after = 0;
  for (NodeId i = 0; i < c.size(); ++i) after += BytesSent(c[i]);
  return after - before;
}

TEST(ReplicatorTest, AntiEntropyRepairsBothDirections) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id(), b = c[1].replica_id();
  // Disjoint keys, and keys both hold differently; no delta ever arrives.
  for (int i = 0; i < 200; ++i) {
    const std::string k = std::to_string(i);
    ASSERT_TRUE(
        c[0].Update("a" + k, CrdtType::kGCounter, GIncrement(a, i + 1), Consistency::kLocal, 0)
            .ok());
    ASSERT_TRUE(
        c[1].Update("b" + k, CrdtType::kPNCounter, PNAdd(b, -i), Consistency::kLocal, 0).ok());
    ASSERT_TRUE(
        c[0].Update("both" + k, CrdtType::kORSet, SetAdd(a, IntValue(i)), Consistency::kLocal, 0)
            .ok());
    ASSERT_TRUE(
        c[1].Update("both" + k, CrdtType::kORSet, SetAdd(b, IntValue(-i)), Consistency::kLocal, 0)
            .ok());
  }
  ASSERT_TRUE(c[0].Delete("gone", CrdtType::kFlag, Consistency::kLocal, 0).ok());
  ASSERT_TRUE(c[1].Update("gone", CrdtType::kFlag, FlagEnable(), Consistency::kLocal, 0).ok());
  c.TickAll(kSecond);
  c.Take();  // every delta is lost
  ASSERT_NE(c[0].StoreDigest(), c[1].StoreDigest());

  // One interval later each node has started one round.
  AntiEntropyRound(c, 11 * kSecond);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  for (int i = 0; i < 200; ++i) {
    const std::string k = std::to_string(i);
    EXPECT_EQ(GValue(c[1], "a" + k), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(PNValue(c[0], "b" + k), -i);
    auto s = c[0].Get("both" + k, CrdtType::kORSet);
    ASSERT_TRUE(s.ok() && *s != nullptr);
    EXPECT_EQ((*s)->get_if<ORSet>()->size(), i == 0 ? 1u : 2u);
  }
  EXPECT_TRUE(c[1].IsDeleted("gone"));
  EXPECT_EQ(c[0].Keys(), c[1].Keys());
  EXPECT_GE(c[0].metrics().antientropy_count + c[1].metrics().antientropy_count, 1u);
}

std::vector<Value> Elements(Replicator& r, std::string_view key) {
  auto v = r.Get(key, CrdtType::kORSet);
  if (!v.ok() || *v == nullptr) return {};
  return (*v)->get_if<ORSet>()->Elements();
}

// A large set both hold, differently (each missed the other's last adds, and one a remove): the
// round repairs it by the part each lacks, computed from the other's causal context, not by
// sending the whole set both ways. The remove reaches the side that still held the element.
TEST(ReplicatorTest, ASetBothHoldDifferentlyIsRepairedByThePartsTheyLack) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id(), b = c[1].replica_id();
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(c[i % 2]
                    .Update("s", CrdtType::kORSet, SetAdd(i % 2 ? b : a, IntValue(i)),
                            Consistency::kLocal, 0)
                    .ok());
  }
  c.TickAll(kSecond);
  c.Pump(kSecond);
  ASSERT_EQ(Elements(c[0], "s").size(), 5000u);
  ASSERT_EQ(Elements(c[0], "s"), Elements(c[1], "s"));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c[0].Update("s", CrdtType::kORSet, SetAdd(a, IntValue(10000 + i)),
                            Consistency::kLocal, kSecond)
                    .ok());
  }
  ASSERT_TRUE(
      c[0].Update("s", CrdtType::kORSet, SetRemove(IntValue(7)), Consistency::kLocal, kSecond)
          .ok());
  ASSERT_TRUE(
      c[1].Update("s", CrdtType::kORSet, SetAdd(b, IntValue(20000)), Consistency::kLocal, kSecond)
          .ok());
  c.TickAll(2 * kSecond);
  c.Take();  // the deltas are lost
  const size_t set_bytes = EncodeAny(**c[0].Get("s", CrdtType::kORSet)).size();

  const size_t bytes = AntiEntropyRound(c, 11 * kSecond);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  const std::vector<Value> held = Elements(c[1], "s");
  EXPECT_EQ(held.size(), 5000u + 3 + 1 - 1);
  EXPECT_FALSE(std::binary_search(held.begin(), held.end(), IntValue(7)));
  EXPECT_TRUE(std::binary_search(held.begin(), held.end(), IntValue(10002)));
  EXPECT_EQ(Elements(c[0], "s"), held);
  const uint64_t partial = c[0].metrics().repairs_partial + c[1].metrics().repairs_partial;
  EXPECT_GE(partial, 2u);  // each way, once per round started (both started one)
  EXPECT_EQ(c[0].metrics().repairs_whole + c[1].metrics().repairs_whole, 0u);
  EXPECT_LT(bytes, set_bytes / 20) << "the set: " << set_bytes << " bytes";
}

// A key that removed most of what the other side has seen (here an MVRegister, which moves its
// dot at every write) is repaired whole: listing the removed dots would cost more.
// A mutation that fails, or returns a delta of another type, stores nothing for a new key; on an
// existing key, what it changed before failing stays applied and reaches the peers by
// anti-entropy (no delta goes for it).
TEST(ReplicatorTest, AFailedMutationLeavesNothingNewAndRepairsWhatItChanged) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  auto add_then_fail = [&](int element, bool throws) -> Replicator::Mutation {
    return [=](AnyCrdt& v) -> Result<AnyCrdt> {
      v.get_if<ORSet>()->Add(a, IntValue(element));
      if (throws) throw std::invalid_argument("refused");
      return AnyCrdt(GCounter());
    };
  };
  const Result<RequestId> created =
      c[0].Update("s", CrdtType::kORSet, add_then_fail(1, false), Consistency::kLocal, 0);
  EXPECT_EQ(created.status().code(), StatusCode::kTypeMismatch);
  EXPECT_TRUE(c[0].Keys().empty());

  ASSERT_TRUE(
      c[0].Update("s", CrdtType::kORSet, SetAdd(a, IntValue(0)), Consistency::kLocal, 0).ok());
  TimeMicros t = c.Run(kSecond / 10, kSecond, kSecond / 10);
  ASSERT_EQ(Elements(c[1], "s").size(), 1u);
  EXPECT_EQ(c[0].Update("s", CrdtType::kORSet, add_then_fail(2, false), Consistency::kLocal, t)
                .status()
                .code(),
            StatusCode::kTypeMismatch);
  EXPECT_EQ(c[0].Update("s", CrdtType::kORSet, add_then_fail(3, true), Consistency::kLocal, t)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Elements(c[0], "s").size(), 3u);  // applied before the mutations failed
  c.Run(t + kSecond / 10, t + 25 * kSecond, kSecond / 10);
  EXPECT_EQ(Elements(c[1], "s"), Elements(c[0], "s"));
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
}

// A large key is re-digested at each side's first step of a round only (KeyStore::Refresh):
// one written on both sides between every two frames of every round is still repaired.
TEST(ReplicatorTest, ALargeKeyWrittenThroughEveryRoundIsStillRepaired) {
  Cluster c(2);
  int next = 0;
  auto write = [&](TimeMicros now) {
    for (NodeId i = 0; i < 2; ++i) {
      ASSERT_TRUE(c[i].Update("s", CrdtType::kORSet, SetAdd(c[i].replica_id(), IntValue(next++)),
                              Consistency::kLocal, now)
                      .ok());
    }
  };
  for (int i = 0; i < 200; ++i) write(0);  // well over KeyStore::kCheapDigestBytes
  c.Run(kSecond, 2 * kSecond, kSecond / 10);
  ASSERT_EQ(Elements(c[1], "s"), Elements(c[0], "s"));
  ASSERT_EQ(c[0].StoreDigest(), c[1].StoreDigest());  // both digested it: equal
  ASSERT_TRUE(c[0].Update("s", CrdtType::kORSet, SetAdd(c[0].replica_id(), IntValue(-1)),
                          Consistency::kLocal, 2 * kSecond)
                  .ok());
  c.TickAll(3 * kSecond);
  c.Take();  // its delta is lost

  auto held = [&](NodeId i) {
    const std::vector<Value> e = Elements(c[i], "s");
    return std::binary_search(e.begin(), e.end(), IntValue(-1));
  };
  for (TimeMicros now = 3 * kSecond; now <= 60 * kSecond && !held(1); now += kSecond / 10) {
    write(now);
    c.TickAll(now);
    for (std::vector<Sent> batch = c.Take(); !batch.empty(); batch = c.Take()) {
      for (const Sent& s : batch) {
        c.Deliver(s, now);
        write(now);
      }
    }
  }
  EXPECT_TRUE(held(1));
  EXPECT_GE(c[0].metrics().repairs_partial + c[1].metrics().repairs_partial, 1u);
}

TEST(ReplicatorTest, AKeyThatRemovedMoreThanItHoldsIsRepairedWhole) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id(), b = c[1].replica_id();
  auto write = [&](int node, int value, TimeMicros now) {
    ASSERT_TRUE(c[node]
                    .Update("r", CrdtType::kMVRegister, MVSet(node == 0 ? a : b, IntValue(value)),
                            Consistency::kLocal, now)
                    .ok());
  };
  write(0, 0, 0);
  c.TickAll(kSecond);
  c.Pump(kSecond);
  for (int i = 1; i <= 200; ++i) write(0, i, kSecond);
  write(1, -1, kSecond);
  c.TickAll(2 * kSecond);
  c.Take();
  AntiEntropyRound(c, 11 * kSecond);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  auto v = c[1].Get("r", CrdtType::kMVRegister);
  ASSERT_TRUE(v.ok() && *v != nullptr);
  EXPECT_EQ((*v)->get_if<MVRegister>()->Values(),
            (std::vector<Value>{IntValue(200), IntValue(-1)}));
  EXPECT_GE(c[0].metrics().repairs_whole + c[1].metrics().repairs_whole, 1u);
}

// No frame exceeds max_frame_size, whatever mix it carries: delta batches of keys and tombstones
// of every size, and anti-entropy repairs with their states, tombstones and lists of keys wanted
// back (thousands of them here). An entry larger than a frame alone is the only exception.
TEST(ReplicatorTest, NoFrameExceedsTheFrameSizeLimit) {
  for (size_t limit : {512u, 1000u, 4096u}) {
    ReplicatorOptions o = Cluster::Options();
    o.max_frame_size = limit;
    Cluster c(2, o);
    const ReplicaId a = c[0].replica_id(), b = c[1].replica_id();
    std::mt19937_64 rng(limit);
    for (int i = 0; i < 3000; ++i) {
      const std::string k = "key-" + std::string(rng() % 40, 'x') + std::to_string(i);
      const NodeId n = i % 2;
      if (rng() % 5 == 0) {
        ASSERT_TRUE(c[n].Delete(k, CrdtType::kGCounter, Consistency::kLocal, 0).ok());
      } else {
        ASSERT_TRUE(c[n].Update(k, CrdtType::kORSet,
                                SetAdd(n == 0 ? a : b, StringValue(std::string(rng() % 100, 'v'))),
                                Consistency::kLocal, 0)
                        .ok());
      }
    }
    c.TickAll(kSecond);
    size_t frames = 0;
    auto check = [&](const std::vector<Sent>& sent) {
      for (const Sent& s : sent) {
        ++frames;
        EXPECT_LE(s.frame.bytes.size(), limit) << FrameKindName(s.frame.kind);
      }
    };
    check(c.Take());  // the delta batches (lost: only anti-entropy repairs)
    c.TickAll(11 * kSecond);
    for (std::vector<Sent> batch = c.Take(); !batch.empty(); batch = c.Take()) {
      check(batch);
      for (const Sent& s : batch) {
        if (s.frame.kind != FrameKind::kDeltaBatch) c.Deliver(s, 11 * kSecond);
      }
    }
    EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest()) << limit;
    EXPECT_GT(frames, 100u);
  }
}

// Back-pressure: a node that finds frames of a peer lost (a gap in its numbered bus frames) asks
// for an early round with that peer; the lost deltas come back long before the regular round.
TEST(ReplicatorTest, LostDeltasOfAPeerAreRepairedByAnEarlyRoundWithIt) {
  ReplicatorOptions o = Cluster::Options();
  o.anti_entropy_interval = 1000.0;  // the regular rounds are far away
  o.loss_repair_interval = 1.0;
  Cluster c(3, o);
  const TimeMicros t = kSecond / 2;
  for (NodeId from : {NodeId{0}, NodeId{2}}) {
    ASSERT_TRUE(c[from]
                    .Update("k" + std::to_string(from), CrdtType::kGCounter,
                            GIncrement(c[from].replica_id(), 3), Consistency::kLocal, 0)
                    .ok());
  }
  c.TickAll(t);
  c.Take();  // every delta is lost
  ASSERT_EQ(GValue(c[1], "k0"), 0u);

  c[1].RepairFrom(0, t);
  c[1].RepairFrom(7, t);  // not a peer: ignored
  EXPECT_LE(c[1].NextDeadline(), t);
  c[1].Tick(t);
  std::vector<OutgoingFrame> out = c[1].TakeOutgoing();
  ASSERT_EQ(out.size(), 1u);  // one round, with node 0 only
  EXPECT_EQ(out[0].kind, FrameKind::kDigestStep);
  EXPECT_EQ(out[0].to, std::optional<NodeId>(0));
  c[0].Receive(out[0].bytes, t);
  c.Pump(t, [](NodeId, NodeId, FrameKind k) { return k != FrameKind::kDeltaBatch; });
  EXPECT_EQ(GValue(c[1], "k0"), 3u);
  EXPECT_EQ(GValue(c[1], "k2"), 0u);  // node 2 lost nothing of which node 1 knows
  EXPECT_EQ(c[1].metrics().loss_repair_count, 1u);

  // More loss soon after: the next early round waits for loss_repair_interval.
  ASSERT_TRUE(c[0].Update("k0", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 1),
                          Consistency::kLocal, t)
                  .ok());
  c[0].Tick(2 * t);
  c[0].TakeOutgoing();  // lost again
  c[1].RepairFrom(0, 2 * t);
  c[1].Tick(2 * t);
  EXPECT_TRUE(c[1].TakeOutgoing().empty());
  EXPECT_EQ(c[1].NextDeadline(), t + kSecond);
  c[1].Tick(t + kSecond);
  c.Pump(t + kSecond, [](NodeId, NodeId, FrameKind k) { return k != FrameKind::kDeltaBatch; });
  EXPECT_EQ(GValue(c[1], "k0"), 4u);
  EXPECT_EQ(c[1].metrics().loss_repair_count, 2u);
  EXPECT_EQ(c[1].NamedMetrics().at("crdt.replicator.antientropy.loss_repair.count"), 2);
}

// Back-pressure: a longer flush interval joins more updates into fewer, larger batches.
TEST(ReplicatorTest, ALongerFlushIntervalMakesFewerLargerBatches) {
  auto batches = [](Replicator& r, double flush) {
    r.SetDeltaFlushInterval(flush);
    std::vector<size_t> entries;     // per batch
    for (int i = 0; i < 100; ++i) {  // an update of one of 10 keys every 10 ms, for a second
      const TimeMicros now = 10 * kSecond + i * kSecond / 100;
      r.Tick(now);
      for (const OutgoingFrame& f : TakeDeltas(r)) {
        auto frame = internal::DecodeFrame(f.bytes);
        entries.push_back(std::get<internal::DeltaBatchMsg>(frame->body).entries.size());
      }
      EXPECT_TRUE(r.Update("k" + std::to_string(i % 10), CrdtType::kGCounter,
                           GIncrement(r.replica_id()), Consistency::kLocal, now)
                      .ok());
    }
    r.Tick(20 * kSecond);
    for (const OutgoingFrame& f : TakeDeltas(r)) {
      auto frame = internal::DecodeFrame(f.bytes);
      entries.push_back(std::get<internal::DeltaBatchMsg>(frame->body).entries.size());
    }
    return entries;
  };
  Cluster fast(2), slow(2);
  EXPECT_EQ(fast[0].delta_flush_interval(), 0.1);
  const std::vector<size_t> many = batches(fast[0], 0.1);
  EXPECT_GE(many.size(), 9u);
  const std::vector<size_t> few = batches(slow[0], 1.0);
  EXPECT_EQ(few, std::vector<size_t>{10});  // one batch, one key delta per key
  EXPECT_EQ(slow[0].delta_flush_interval(), 1.0);
  slow[0].SetDeltaFlushInterval(-1);  // ignored
  slow[0].SetDeltaFlushInterval(0);
  EXPECT_EQ(slow[0].delta_flush_interval(), 1.0);
}

TEST(ReplicatorTest, AntiEntropyInAgreementSendsASmallConstant) {
  for (int keys : {10, 5000}) {
    Cluster c(2);
    for (int i = 0; i < keys; ++i) {
      ASSERT_TRUE(c[0].Update("k" + std::to_string(i), CrdtType::kGCounter,
                              GIncrement(c[0].replica_id(), 1), Consistency::kLocal, 0)
                      .ok());
    }
    c.TickAll(kSecond);
    c.Pump(kSecond);
    ASSERT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
    const size_t frames_before = FramesSent(c[1], FrameKind::kDigestStep) +
                                 FramesSent(c[1], FrameKind::kKeyDigests) +
                                 FramesSent(c[1], FrameKind::kRepair);
    const size_t bytes = AntiEntropyRound(c, 11 * kSecond);
    // Two rounds (one per node), each a single step of the 16 top digests, never answered.
    EXPECT_LE(bytes, 2 * 200u) << keys << " keys";
    EXPECT_GT(bytes, 0u);
    EXPECT_EQ(c[0].metrics().frames_sent[static_cast<int>(FrameKind::kKeyDigests)] +
                  c[0].metrics().frames_sent[static_cast<int>(FrameKind::kRepair)],
              0u);
    EXPECT_LE(FramesSent(c[1], FrameKind::kDigestStep) + FramesSent(c[1], FrameKind::kKeyDigests) +
                  FramesSent(c[1], FrameKind::kRepair),
              frames_before + 1);
  }
}

TEST(ReplicatorTest, AntiEntropyRepairCostsInProportionToTheDifference) {
  Cluster c(2);
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(c[0].Update("k" + std::to_string(i), CrdtType::kGCounter,
                            GIncrement(c[0].replica_id(), 1), Consistency::kLocal, 0)
                    .ok());
  }
  c.TickAll(kSecond);
  c.Pump(kSecond);
  // Ten keys change on node 0 only.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c[0].Update("k" + std::to_string(i * 1000), CrdtType::kGCounter,
                            GIncrement(c[0].replica_id(), 1), Consistency::kLocal, kSecond)
                    .ok());
  }
  c.TickAll(2 * kSecond);
  c.Take();
  size_t store_bytes = 0;
  for (const auto& [key, type] : c[0].Keys())
    store_bytes += EncodeAny(**c[0].Get(key, type)).size();
  const size_t bytes = AntiEntropyRound(c, 11 * kSecond);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  EXPECT_EQ(GValue(c[1], "k0"), 2u);
  EXPECT_LT(bytes, store_bytes / 10) << "store " << store_bytes;
}

double TreeDepth(const Replicator& r) {
  return r.NamedMetrics().at("crdt.replicator.antientropy.tree_depth");
}

// A key created here stays out of the digest tree until its first delta has gone: a round
// before that flush would repair the whole key that the flush is about to send (while nodes
// create keys, every round repaired them all). Once flushed, it is in the tree like any key.
TEST(ReplicatorTest, AKeyNotYetFlushedIsOutOfTheDigestTree) {
  ReplicatorOptions o = Cluster::Options();
  o.delta_flush_interval = 5.0;
  Cluster c(2, o);
  ASSERT_TRUE(test::GAdd(c[0], "k", 1, 0));
  c[0].SyncWith(1);
  c[0].Tick(kSecond);  // the round, not the flush
  c[1].Tick(kSecond);
  c.Pump(kSecond);
  EXPECT_FALSE(test::GLive(c[1], "k"));
  EXPECT_EQ(c[0].metrics().delta_publish_count, 0u);

  c.Run(6 * kSecond, 6 * kSecond, kSecond);  // the flush
  EXPECT_EQ(test::GCount(c[1], "k"), 1u);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  // Now in the tree: a round repairs what a lost delta did not bring.
  ASSERT_TRUE(c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 2),
                          Consistency::kLocal, 6 * kSecond)
                  .ok());
  c[0].Tick(11 * kSecond);
  c.Take();  // its delta is lost
  c[0].SyncWith(1);
  c.Run(12 * kSecond, 13 * kSecond, kSecond);
  EXPECT_EQ(test::GCount(c[1], "k"), 3u);
}

// The digest tree deepens as the store grows, so that a round lists about the keys that differ
// whatever the store's size: the same 20 differing keys cost about as much in a store 16 times
// larger (one level more: 16 digests per differing node). A tree that stayed at its first depth
// (16 leaves) listed every key of the store in both rounds.
TEST(ReplicatorTest, ARoundCostsWhatDiffersNotWhatTheStoreHolds) {
  auto round_bytes = [](int keys, double expected_depth) {
    ReplicatorOptions o = Cluster::Options();
    o.digest_tree_depth = 1;
    Cluster c(2, o);
    for (int i = 0; i < keys; ++i) {
      EXPECT_TRUE(c[0].Update("k" + std::to_string(i), CrdtType::kGCounter,
                              GIncrement(c[0].replica_id(), 1), Consistency::kLocal, 0)
                      .ok());
    }
    c.TickAll(kSecond);
    c.Pump(kSecond);
    for (int i = 0; i < 20; ++i) {  // changed on node 0 only
      EXPECT_TRUE(c[0].Update("k" + std::to_string(i * (keys / 20)), CrdtType::kGCounter,
                              GIncrement(c[0].replica_id(), 1), Consistency::kLocal, kSecond)
                      .ok());
    }
    c.TickAll(2 * kSecond);
    c.Take();  // the deltas are lost
    EXPECT_EQ(TreeDepth(c[0]), expected_depth);
    EXPECT_EQ(TreeDepth(c[1]), expected_depth);
    const size_t bytes = AntiEntropyRound(c, 11 * kSecond);
    EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
    EXPECT_EQ(GValue(c[1], "k0"), 2u);
    return bytes;
  };
  // 16 leaves hold up to 512 keys, 256 up to 8,192, 4,096 up to 131,072: ~16 keys per leaf each.
  const size_t small = round_bytes(4000, 2), large = round_bytes(64000, 3);
  EXPECT_LT(large, 2 * small) << small;
}

// Peers whose trees have different depths (one store far larger) compare down to the shallower
// tree's leaves and repair both sides, whichever starts the round; the smaller store deepens as
// the repair fills it.
TEST(ReplicatorTest, TreesOfDifferentDepthsRepairEachOther) {
  for (NodeId starter : {NodeId{0}, NodeId{1}}) {
    ReplicatorOptions o = Cluster::Options();
    o.digest_tree_depth = 1;
    o.anti_entropy_interval = 1000.0;  // only the round started here
    Cluster c(2, o);
    for (int i = 0; i < 10000; ++i) {
      ASSERT_TRUE(c[0].Update("a" + std::to_string(i), CrdtType::kGCounter,
                              GIncrement(c[0].replica_id(), 1), Consistency::kLocal, 0)
                      .ok());
    }
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(c[1].Update("b" + std::to_string(i), CrdtType::kGCounter,
                              GIncrement(c[1].replica_id(), 2), Consistency::kLocal, 0)
                      .ok());
    }
    for (NodeId n : {NodeId{0}, NodeId{1}}) {
      ASSERT_TRUE(c[n].Update("both", CrdtType::kGCounter, GIncrement(c[n].replica_id(), 1),
                              Consistency::kLocal, 0)
                      .ok());
    }
    c.TickAll(kSecond);
    c.Take();  // every delta is lost
    ASSERT_EQ(TreeDepth(c[0]), 3);
    ASSERT_EQ(TreeDepth(c[1]), 1);
    c[starter].RepairFrom(1 - starter, kSecond);
    c[starter].Tick(kSecond);
    c.Pump(kSecond, [](NodeId, NodeId, FrameKind k) { return k != FrameKind::kDeltaBatch; });
    EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest()) << "started by " << starter;
    EXPECT_EQ(c[1].Keys().size(), 10101u);
    EXPECT_EQ(GValue(c[0], "b99"), 2u);
    EXPECT_EQ(GValue(c[1], "both"), 2u);
    EXPECT_EQ(TreeDepth(c[1]), 3);
    EXPECT_EQ(c[0].metrics().frames_malformed + c[1].metrics().frames_malformed, 0u);
  }
}

// A step below the leaves of either tree, or key lists of nodes below our leaves, are a peer's
// bug (or forged): dropped and counted.
TEST(ReplicatorTest, AStepBelowTheShallowerTreeIsMalformed) {
  Cluster c(2);  // depth 3: 4,096 leaves
  const uint64_t before = c[1].metrics().frames_malformed;
  auto send = [&](internal::FrameBody body) {
    c[1].Receive(internal::EncodeFrame(internal::FrameMsg{0, std::move(body), {}}), kSecond);
  };
  send(internal::DigestStepMsg{1, 3, {0}, {1}, {}, 2});  // the sender's tree has depth 2
  send(internal::DigestStepMsg{1, 4, {0}, {1}, {}, 4});  // below our leaves
  send(internal::KeyDigestsMsg{1, {0}, {0}, {}, {}, 4});
  EXPECT_EQ(c[1].metrics().frames_malformed, before + 3);
  send(internal::KeyDigestsMsg{1, {0}, {0}, {}, {}, 2});  // an inner node: fine
  EXPECT_EQ(c[1].metrics().frames_malformed, before + 3);
}

TEST(ReplicatorTest, KeyDigestsAreSplitAtTheFrameSizeLimit) {
  ReplicatorOptions o = Cluster::Options();
  o.max_frame_size = 4096;
  o.digest_tree_depth = 1;  // 16 leaves to begin with: 3,000 keys deepen it to 256
  Cluster c(2, o);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(c[i % 2]
                    .Update("k" + std::to_string(i), CrdtType::kGCounter,
                            GIncrement(c[i % 2].replica_id(), 1), Consistency::kLocal, 0)
                    .ok());
  }
  c.TickAll(kSecond);
  c.Take();
  c.TickAll(11 * kSecond);
  size_t largest = 0;
  for (std::vector<Sent> batch = c.Take(); !batch.empty(); batch = c.Take()) {
    for (const Sent& s : batch) {
      if (s.frame.kind != FrameKind::kDeltaBatch) {
        largest = std::max(largest, s.frame.bytes.size());
        c.Deliver(s, 11 * kSecond);
      }
    }
  }
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  EXPECT_EQ(c[1].Keys().size(), 3000u);
  // One key's entry may overshoot the limit a little, never by a leaf's worth of keys.
  EXPECT_LE(largest, o.max_frame_size + 1024);
}

// A repair larger than a frame takes a while to arrive: the same part (or whole state) of a key
// is not sent to the same peer again while an earlier copy may be on its way (the window: 5 s,
// or three rounds), and is once the window has passed.
TEST(ReplicatorTest, ALargeRepairOnItsWayIsNotSentAgainWithinItsWindow) {
  ReplicatorOptions o = Cluster::Options();
  o.max_frame_size = 16 * 1024;
  o.anti_entropy_interval = 1.0;
  Cluster c(2, o);
  const ReplicaId a = c[0].replica_id(), b = c[1].replica_id();
  ASSERT_TRUE(
      c[1].Update("s", CrdtType::kORSet, SetAdd(b, IntValue(-1)), Consistency::kLocal, 0).ok());
  c.Run(0, kSecond / 2, kSecond / 10);
  for (int i = 0; i < 5000; ++i) {  // node 1 never gets these deltas: a part of ~50 KB
    ASSERT_TRUE(
        c[0].Update("s", CrdtType::kORSet, SetAdd(a, IntValue(i)), Consistency::kLocal, kSecond / 2)
            .ok());
  }
  c.TickAll(kSecond / 2 + kSecond / 10);
  c.Take();
  ASSERT_EQ(Elements(c[1], "s").size(), 1u);

  // Nothing of node 0's repairs reaches node 1 for 4 s: every round finds the key differing.
  const auto to_node_1 = [](NodeId from, NodeId, FrameKind kind) {
    return from != 0 || (kind != FrameKind::kRepair && kind != FrameKind::kFragment);
  };
  TimeMicros t = c.Run(kSecond, 5 * kSecond, kSecond / 10, to_node_1);
  EXPECT_EQ(c[0].metrics().repairs_partial, 1u);
  EXPECT_GE(c[0].metrics().large_repairs_deferred, 2u);
  EXPECT_EQ(Elements(c[1], "s").size(), 1u);

  t = c.Run(t + kSecond / 10, t + 8 * kSecond, kSecond / 10);
  EXPECT_EQ(Elements(c[1], "s").size(), 5001u);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  EXPECT_EQ(c[0].metrics().repairs_whole, 0u);
}

// A node restarted empty may be repaired by both peers at once: the second copy of a large key,
// the same as the first, is not decoded (it is compared with the key's digest); a copy that
// differs is.
TEST(ReplicatorTest, ALargeFullStateTheKeyHoldsIsNotDecodedAgain) {
  Cluster c(3);
  auto fill = [&](Replicator& r, int from, int to) {
    return r.Update(
        "big", CrdtType::kORSet,
        [&](AnyCrdt& v) -> Result<AnyCrdt> {
          ORSet delta;
          for (int i = from; i < to; ++i) {
            delta.Join(v.get_if<ORSet>()->Add(r.replica_id(),
                                              StringValue("element-" + std::to_string(i))));
          }
          return AnyCrdt(std::move(delta));
        },
        Consistency::kLocal, 0);
  };
  auto elements = [](Replicator& r) {
    auto v = r.Get("big", CrdtType::kORSet);
    return v.ok() && *v != nullptr ? (*v)->get_if<ORSet>()->Elements().size() : 0;
  };
  ASSERT_TRUE(fill(c[0], 0, 10000).ok());
  TimeMicros t = c.Run(kSecond, 30 * kSecond, kSecond);
  ASSERT_EQ(elements(c[2]), 10000u);
  ASSERT_GT(EncodeAny(**c[0].Get("big", CrdtType::kORSet)).size(), 128u * 1024);

  Replicator& fresh = c.Replace(2, ReplicaId{3002}, Cluster::Options());
  std::string repair;  // the one that brought it the key
  for (TimeMicros now = t + kSecond; now <= t + 60 * kSecond; now += kSecond) {
    c.TickAll(now);
    for (std::vector<Sent> batch = c.Take(); !batch.empty(); batch = c.Take()) {
      for (const Sent& s : batch) {
        if (s.frame.kind == FrameKind::kRepair && s.frame.to == NodeId{2} &&
            s.frame.bytes.size() > 128 * 1024) {
          repair = s.frame.bytes;
        }
        c.Deliver(s, now);
      }
    }
  }
  t += 60 * kSecond;
  ASSERT_EQ(elements(fresh), 10000u);
  ASSERT_FALSE(repair.empty());
  EXPECT_EQ(fresh.metrics().states_held, 0u);
  const uint64_t digest = fresh.StoreDigest();
  fresh.Receive(repair, t);  // again, as a second peer's would
  EXPECT_EQ(fresh.metrics().states_held, 1u);
  EXPECT_EQ(elements(fresh), 10000u);
  EXPECT_EQ(fresh.StoreDigest(), digest);

  // Node 1 holds more than node 2 now (its delta is lost): its repair is decoded and joined.
  ASSERT_TRUE(fill(c[1], 10000, 10001).ok());
  c.TickAll(t + kSecond);
  c.Take();
  t = c.Run(t + 2 * kSecond, t + 60 * kSecond, kSecond);
  EXPECT_EQ(elements(fresh), 10001u);
  EXPECT_EQ(fresh.StoreDigest(), c[1].StoreDigest());
}

// ---- events ----------------------------------------------------------------------------------

TEST(ReplicatorTest, EventsFireOnlyOnRealChanges) {
  Cluster c(2);
  const ReplicaId a = c[0].replica_id();
  c[1].Subscribe("reg");
  c[1].Subscribe("set");
  c[0].Subscribe("set");

  ASSERT_TRUE(
      c[0].Update("set", CrdtType::kORSet, SetAdd(a, IntValue(1)), Consistency::kLocal, 0).ok());
  std::vector<ReplicaEvent> ev = c[0].TakeEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, ReplicaEvent::Kind::kChanged);
  EXPECT_EQ(ev[0].key, "set");
  EXPECT_EQ(ev[0].type, CrdtType::kORSet);
  EXPECT_TRUE(ev[0].value.get_if<ORSet>()->Contains(IntValue(1)));
  // Adding the element again changes the state (a new dot), not the value: no event.
  ASSERT_TRUE(
      c[0].Update("set", CrdtType::kORSet, SetAdd(a, IntValue(1)), Consistency::kLocal, 0).ok());
  EXPECT_TRUE(c[0].TakeEvents().empty());

  ASSERT_TRUE(c[0].Update("reg", CrdtType::kLWWRegister, LWWSet(a, StringValue("x"), 1),
                          Consistency::kLocal, 0)
                  .ok());
  ASSERT_TRUE(
      c[0].Update("quiet", CrdtType::kGCounter, GIncrement(a), Consistency::kLocal, 0).ok());
  c.TickAll(kSecond);
  std::vector<Sent> frames = c.Take();
  for (const Sent& s : frames) c.Deliver(s, kSecond);
  ev = c[1].TakeEvents();
  ASSERT_EQ(ev.size(), 2u);  // "quiet" is not subscribed
  std::sort(ev.begin(), ev.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
  EXPECT_EQ(ev[0].key, "reg");
  EXPECT_EQ(ev[0].value.get_if<LWWRegister>()->value(), StringValue("x"));
  EXPECT_EQ(ev[1].key, "set");

  // The same frames again (duplicates) change nothing: no event.
  for (const Sent& s : frames) c.Deliver(s, kSecond);
  EXPECT_TRUE(c[1].TakeEvents().empty());

  // Writing the same value again is no change either.
  ASSERT_TRUE(c[0].Update("reg", CrdtType::kLWWRegister, LWWSet(a, StringValue("x"), 5),
                          Consistency::kLocal, kSecond)
                  .ok());
  c.TickAll(2 * kSecond);
  c.Pump(2 * kSecond);
  EXPECT_TRUE(c[1].TakeEvents().empty());

  // A remove is a change; a delete has its own event.
  ASSERT_TRUE(
      c[0].Update("set", CrdtType::kORSet, SetRemove(IntValue(1)), Consistency::kLocal, 2 * kSecond)
          .ok());
  c.TickAll(3 * kSecond);
  c.Pump(3 * kSecond);
  ev = c[1].TakeEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, ReplicaEvent::Kind::kChanged);
  EXPECT_TRUE(ev[0].value.get_if<ORSet>()->empty());

  ASSERT_TRUE(c[0].Delete("reg", CrdtType::kLWWRegister, Consistency::kLocal, 3 * kSecond).ok());
  c.TickAll(4 * kSecond);
  c.Pump(4 * kSecond);
  ev = c[1].TakeEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, ReplicaEvent::Kind::kDeleted);
  EXPECT_EQ(ev[0].key, "reg");
  EXPECT_EQ(ev[0].type, CrdtType::kLWWRegister);

  // Unsubscribed: silence.
  c[1].Unsubscribe("set");
  ASSERT_TRUE(
      c[0].Update("set", CrdtType::kORSet, SetAdd(a, IntValue(2)), Consistency::kLocal, 4 * kSecond)
          .ok());
  c.TickAll(5 * kSecond);
  c.Pump(5 * kSecond);
  EXPECT_TRUE(c[1].TakeEvents().empty());
}

TEST(ReplicatorTest, RepairsFireEventsForSubscribedKeys) {
  Cluster c(2);
  c[1].Subscribe("k");
  ASSERT_TRUE(c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 4),
                          Consistency::kLocal, 0)
                  .ok());
  c.TickAll(kSecond);
  c.Take();  // the delta is lost
  AntiEntropyRound(c, 11 * kSecond);
  std::vector<ReplicaEvent> ev = c[1].TakeEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].value.get_if<GCounter>()->value(), 4u);
}

// ---- observation -----------------------------------------------------------------------------

TEST(ReplicatorTest, NamedMetricsCountWhatHappened) {
  Cluster c(2);
  ASSERT_TRUE(
      c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id()), Consistency::kLocal, 0)
          .ok());
  c.TickAll(kSecond);
  c.Pump(kSecond);
  c[1].Receive("junk", kSecond);
  auto m0 = c[0].NamedMetrics();
  auto m1 = c[1].NamedMetrics();
  EXPECT_EQ(m0["crdt.replicator.store.size"], 1.0);
  EXPECT_EQ(m0["crdt.replicator.delta.publish.count"], 1.0);
  EXPECT_EQ(m1["crdt.replicator.delta.receive.count"], 1.0);
  EXPECT_EQ(m1["crdt.replicator.merge.count"], 1.0);
  EXPECT_EQ(m1["crdt.replicator.frames.dropped.malformed"], 1.0);
  EXPECT_GT(m0["crdt.replicator.bytes.sent.delta"], 0.0);
  EXPECT_EQ(m0["crdt.replicator.bytes.sent.delta"], m1["crdt.replicator.bytes.received.delta"]);
}

}  // namespace
}  // namespace convergent
