// Pruning markers (replica/pruning_marker.h): how two markers of one removed replica join, and
// their wire form inside a key's state (a round trip, and every malformed form refused).
#include "replica/pruning_marker.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "convergent/codec.h"
#include "convergent/v1/replication.pb.h"
#include "replica/frame_codec.h"

namespace convergent::internal {
namespace {

PruningMarker Initialized(uint64_t removed, uint64_t owner, std::vector<uint64_t> seen) {
  PruningMarker m{ReplicaId{removed}, ReplicaId{owner}, {}, std::nullopt, 0};
  for (uint64_t s : seen) m.seen.push_back(ReplicaId{s});
  return m;
}

PruningMarker Performed(uint64_t removed, uint64_t owner) {
  PruningMarker m = Initialized(removed, owner, {owner});
  m.performed =
      PruningRecord{ReplicaId{removed}, PruningTarget(ReplicaId{owner}), 4, {2, 5, 9}, {{3, 0, 7}}};
  return m;
}

TEST(PruningMarkerTest, SameOwnerUnitesSeenSmallerOwnerAndPerformedWin) {
  PruningMarkers a = {Initialized(50, 7, {7, 8})};
  EXPECT_TRUE(JoinMarkers(a, {Initialized(50, 7, {9})}));
  EXPECT_EQ(a.front().seen, (std::vector<ReplicaId>{ReplicaId{7}, ReplicaId{8}, ReplicaId{9}}));
  EXPECT_FALSE(JoinMarkers(a, {Initialized(50, 7, {8})}));        // nothing new
  EXPECT_FALSE(JoinMarkers(a, {Initialized(50, 9, {1, 2, 3})}));  // a larger owner loses
  EXPECT_TRUE(JoinMarkers(a, {Initialized(50, 3, {3})}));         // a smaller one wins
  EXPECT_EQ(a.front().owner, ReplicaId{3});
  EXPECT_TRUE(JoinMarkers(a, {Performed(50, 9)}));  // performed beats initialized, any owner
  EXPECT_TRUE(a.front().performed.has_value());
  EXPECT_FALSE(JoinMarkers(a, {Initialized(50, 1, {1})}));
  EXPECT_TRUE(JoinMarkers(a, {Initialized(40, 1, {1})}));  // another removed replica
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].removed, ReplicaId{40});
  // Only the Initialized markers count in the digest.
  const uint64_t digest = MarkersDigest(a);
  EXPECT_TRUE(JoinMarkers(a, {Performed(60, 9)}));
  EXPECT_EQ(MarkersDigest(a), digest);
  EXPECT_EQ(MarkersDigest({Performed(60, 9)}), 0u);
}

std::string FrameWith(const PruningMarkers& markers) {
  DeltaBatchMsg b;
  b.entries.push_back(KeyedState{"k", EncodeAny(AnyCrdt(GCounter())), true, markers, 0});
  return EncodeFrame(FrameMsg{1, std::move(b), ReplicaId{77}});
}

TEST(PruningMarkerTest, MarkersRoundTripInAKeysState) {
  const PruningMarkers markers = {Initialized(40, 7, {7, 8}), Performed(50, 9)};
  auto back = DecodeFrame(FrameWith(markers));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->from_replica, ReplicaId{77});
  EXPECT_EQ(std::get<DeltaBatchMsg>(back->body).entries.front().pruning, markers);
}

TEST(PruningMarkerTest, MalformedMarkersAreRefused) {
  const auto refused = [](const std::function<void(v1::PruningMarker&)>& spoil) {
    v1::Frame f;
    f.set_from_node(1);
    v1::KeyedState* e = f.mutable_delta_batch()->add_entries();
    e->set_key("k");
    e->set_state(EncodeAny(AnyCrdt(GCounter())));
    v1::PruningMarker* m = e->add_pruning();
    m->set_removed(50);
    m->set_owner(9);
    m->add_seen(9);
    spoil(*m);
    return !DecodeFrame(f.SerializeAsString()).ok();
  };
  EXPECT_FALSE(refused([](v1::PruningMarker&) {}));  // the unspoiled one decodes
  EXPECT_TRUE(refused([](v1::PruningMarker& m) { m.set_removed(0); }));
  EXPECT_TRUE(refused([](v1::PruningMarker& m) { m.add_seen(3); }));   // not ascending
  EXPECT_TRUE(refused([](v1::PruningMarker& m) { m.add_seen(9); }));   // twice
  EXPECT_TRUE(refused([](v1::PruningMarker& m) { m.add_moved(2); }));  // a record, unperformed
  const auto performed = [](v1::PruningMarker& m) {
    m.set_performed(true);
    m.set_into(11);
    m.set_first(1);
    m.add_moved(2);
    m.add_moved(4);
  };
  EXPECT_FALSE(refused(performed));
  EXPECT_TRUE(refused([&](v1::PruningMarker& m) {
    performed(m);
    m.add_moved(3);  // not ascending
  }));
  EXPECT_TRUE(refused([&](v1::PruningMarker& m) {
    performed(m);
    m.set_into(50);  // into the removed replica itself
  }));
  EXPECT_TRUE(refused([&](v1::PruningMarker& m) {
    performed(m);
    m.set_first(UINT64_MAX);  // the moved dots would wrap
  }));
  EXPECT_TRUE(refused([&](v1::PruningMarker& m) {
    performed(m);
    m.add_fold_removed(1);  // fold lists of different lengths
  }));
  EXPECT_TRUE(refused([&](v1::PruningMarker& m) {
    performed(m);
    m.add_fold_removed(1);
    m.add_fold_target(0);
    m.add_fold_counter(0);  // a fold into dot 0
  }));
}

}  // namespace
}  // namespace convergent::internal
