// KeyStore's digest refreshes (replica/key_store.h): which changed keys each kind of refresh
// digests. Anti-entropy's later steps refresh cheap digests only; a large key written meanwhile
// keeps its digest until the next full refresh, and a key without a digest gets one at once.
#include "replica/key_store.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "convergent/codec.h"
#include "convergent/crdt/orset.h"

namespace convergent::internal {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  // Adds `n` elements to the set `name` (created if new) and marks it changed.
  void Write(const std::string& name, int from, int n) {
    KeyEntry* e = store.FindKey(name);
    if (e == nullptr) {
      auto added = store.AddKey(name, *AnyCrdt::Empty(CrdtType::kORSet));
      e = added.second;
    }
    for (int i = from; i < from + n; ++i) {
      e->value.get_if<ORSet>()->Add(ReplicaId{1}, StringValue("element-" + std::to_string(i)));
    }
    store.MarkChanged(name, *e, std::nullopt);
  }
  uint64_t DigestOf(const std::string& name) { return store.FindKey(name)->digest; }

  ReplicatorMetrics metrics;
  std::vector<ReplicaEvent> events;
  KeyStore store{2, size_t{4} << 20, metrics, events};
};

TEST_F(KeyStoreTest, ACheapRefreshLeavesALargeKeyWrittenSinceItsDigestToTheNextFullOne) {
  Write("large", 0, 200);  // > kCheapDigestBytes
  Write("small", 0, 3);
  store.RefreshDigests();
  const uint64_t large = DigestOf("large");
  const uint64_t small = DigestOf("small");
  ASSERT_NE(large, 0u);
  ASSERT_NE(small, 0u);

  Write("large", 200, 1);
  Write("small", 3, 1);
  Write("new", 0, 200);  // a large key with no digest yet
  store.RefreshDigests(KeyStore::Refresh::kCheap);
  EXPECT_EQ(DigestOf("large"), large);
  EXPECT_TRUE(store.FindKey("large")->digest_dirty);
  EXPECT_NE(DigestOf("small"), small);
  EXPECT_NE(DigestOf("new"), 0u);

  const uint64_t root = store.tree().root();
  store.RefreshDigests();
  EXPECT_NE(DigestOf("large"), large);
  EXPECT_FALSE(store.FindKey("large")->digest_dirty);
  EXPECT_NE(store.tree().root(), root);
}

TEST_F(KeyStoreTest, UnpublishedKeysWaitForAFullRefreshOrTheirFlush) {
  Write("k", 0, 1);
  store.FindKey("k")->unpublished = true;
  store.RefreshDigests();
  store.RefreshDigests(KeyStore::Refresh::kCheap);
  EXPECT_EQ(DigestOf("k"), 0u);
  store.RefreshDigests(KeyStore::Refresh::kAll);
  EXPECT_NE(DigestOf("k"), 0u);
}

// Every live key and tombstone is in exactly one leaf, the one of its hash, through deletes, a
// key coming back after its tombstone is collected, and the tree deepening.
TEST_F(KeyStoreTest, EveryKeyAndTombstoneIsInItsLeafOnce) {
  auto check = [&] {
    std::multiset<std::string> listed;
    for (uint32_t leaf = 0; leaf < store.tree().Width(store.tree().depth()); ++leaf) {
      for (const LeafMember m : store.LeafMembers(leaf)) {
        listed.insert(m.name());
        EXPECT_EQ(store.tree().LeafOf(KeyStore::KeyHash(m.name())), leaf) << m.name();
        EXPECT_EQ(m.is_tombstone(), store.IsDeleted(m.name())) << m.name();
      }
    }
    std::multiset<std::string> held;
    for (const auto& [name, e] : store.keys()) held.insert(name);
    for (const auto& [name, t] : store.tombstones()) held.insert(name);
    EXPECT_EQ(listed, held);
  };
  const int depth = store.tree().depth();
  for (int i = 0; i < 20000; ++i) Write("k" + std::to_string(i), 0, 1);
  EXPECT_GT(store.tree().depth(), depth);  // 20,000 keys over 256 leaves: deepened
  for (int i = 0; i < 20000; i += 3) {
    ASSERT_EQ(store.ApplyTombstone(Tombstone{"k" + std::to_string(i), CrdtType::kORSet, 1, {}},
                                   /*publish=*/false),
              KeyStore::Deletion::kAdded);
  }
  check();
  EXPECT_EQ(store.CollectTombstones([](const TombstoneEntry&) { return true; }), 6667u);
  for (int i = 0; i < 20000; i += 6) Write("k" + std::to_string(i), 0, 1);  // back again
  check();
  EXPECT_EQ(store.keys().size(), 20000u - 6667u + 3334u);
}

}  // namespace
}  // namespace convergent::internal
