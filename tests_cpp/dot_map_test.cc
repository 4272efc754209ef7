// Tests of DotMap's causal join against a reference model of the dot-store join
//   (s, c) |_| (s', c') = (s & s') | (s - c') | (s' - c)   (per key),
// through both of its strategies (the dot -> key index, used when the other context is small,
// and the scan of all keys, used when it is large), and with an index maintained across local
// mutations and joins compared to a freshly built one.
#include "convergent/crdt/dot_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "convergent/crdt/dot_fun.h"
#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::ForEachSeed;
using test::Rng;
using test::TestReplica;
using test::UintValue;
using test::Uniform;

using Map = DotMap<Value, DotSet>;
using Model = std::map<Value, std::set<Dot>>;

Model ToModel(const Map& m) {
  Model out;
  for (const auto& [k, s] : m.entries()) {
    EXPECT_FALSE(s.empty()) << "an empty store is kept under a key";
    s.ForEachDot([&, &k = k](const Dot& d) { out[k].insert(d); });
  }
  return out;
}
std::set<Dot> DotsOf(const CausalContext& c) {
  std::set<Dot> out;
  c.ForEachDot([&](const Dot& d) { out.insert(d); });
  return out;
}

Model ModelJoin(const Model& s, const std::set<Dot>& c, const Model& o, const std::set<Dot>& oc) {
  Model out;
  std::set<Value> keys;
  for (const auto& kv : s) keys.insert(kv.first);
  for (const auto& kv : o) keys.insert(kv.first);
  static const std::set<Dot> kNone;
  for (const Value& k : keys) {
    const std::set<Dot>& a = s.count(k) ? s.at(k) : kNone;
    const std::set<Dot>& b = o.count(k) ? o.at(k) : kNone;
    std::set<Dot> r;
    for (const Dot& d : a) {
      if (b.count(d) || !oc.count(d)) r.insert(d);
    }
    for (const Dot& d : b) {
      if (!c.count(d)) r.insert(d);
    }
    if (!r.empty()) out[k] = std::move(r);
  }
  return out;
}

// A causal dot store: a DotMap and its context (every stored dot is in the context).
struct Side {
  Map map;
  CausalContext ctx;
};

// Dots of three remote replicas, each owned by a fixed key (dots are unique across keys), plus the
// dots a local replica creates as it goes.
class Universe {
 public:
  Universe(Rng& rng, int keys, uint64_t per_replica) {
    for (size_t r = 0; r < 3; ++r) {
      for (uint64_t n = 1; n <= per_replica; ++n) {
        owned_.push_back({Dot{TestReplica(r), n}, UintValue(Uniform(rng, 0, keys - 1))});
      }
    }
  }
  void Record(const Dot& d, const Value& k) { owned_.push_back({d, k}); }

  // A random side: a context of about `ctx_percent`% of the known dots, and a store of about
  // `store_percent`% of the context, each dot under its key.
  Side Random(Rng& rng, int ctx_percent, int store_percent) const {
    Side s;
    for (const auto& [d, k] : owned_) {
      if (!test::Chance(rng, ctx_percent)) continue;
      s.ctx.Insert(d);
      if (!test::Chance(rng, store_percent)) continue;
      s.map.Mutate(k, [&, &d = d](DotSet& dots, Map::Tracker& t) {
        dots.Insert(d);
        t.Added(d);
      });
    }
    return s;
  }
  // A side with exactly `n` random known dots in its context, each kept in its store or not.
  Side Small(Rng& rng, int n) const {
    Side s;
    for (int i = 0; i < n; ++i) {
      const auto& [d, k] = test::Pick(rng, owned_);
      s.ctx.Insert(d);
      if (test::Chance(rng, 50)) {
        s.map.Mutate(k, [&, &d = d](DotSet& dots, Map::Tracker& t) {
          dots.Insert(d);
          t.Added(d);
        });
      }
    }
    return s;
  }

 private:
  std::vector<std::pair<Dot, Value>> owned_;
};

// other's context plus dots of a replica no store holds, enough to force the scan strategy on a
// map of `keys` keys. The join result cannot differ: those dots are in no store.
CausalContext Padded(const CausalContext& ctx, size_t keys) {
  CausalContext out = ctx;
  const ReplicaId unused = TestReplica(99);
  for (uint64_t n = 1; n <= keys + 1; ++n) out.Insert(Dot{unused, n});
  return out;
}

TEST(DotMapTest, IndexAndScanJoinsAgreeWithTheModel) {
  int indexed = 0;
  ForEachSeed(400, [&](Rng& rng, int) {
    const Universe u(rng, static_cast<int>(Uniform(rng, 5, 80)), Uniform(rng, 5, 30));
    const Side local = u.Random(rng, static_cast<int>(Uniform(rng, 20, 90)), 70);
    // A small other context (index strategy) and a large one (scan strategy).
    for (const Side& other :
         {u.Small(rng, static_cast<int>(Uniform(rng, 1, 4))), u.Random(rng, 60, 50)}) {
      const Model expected =
          ModelJoin(ToModel(local.map), DotsOf(local.ctx), ToModel(other.map), DotsOf(other.ctx));
      const CausalContext padded = Padded(other.ctx, local.map.size());
      ASSERT_GT(padded.DotCount(), local.map.size());

      Map scanned = local.map;
      scanned.Join(other.map, local.ctx, padded);
      ASSERT_EQ(ToModel(scanned), expected);

      Map joined = local.map;
      joined.Join(other.map, local.ctx, other.ctx);
      ASSERT_EQ(ToModel(joined), expected);
      ASSERT_EQ(joined, scanned);
      if (joined.has_dot_index()) {
        ++indexed;
        // The index was used; joining again through it changes nothing (idempotence).
        Map again = joined;
        CausalContext ctx = local.ctx;
        ctx.Join(other.ctx);
        joined.Join(other.map, ctx, other.ctx);
        ASSERT_EQ(joined, again);
      }
    }
  });
  EXPECT_GT(indexed, 100);  // both strategies were tried
}

// A long-lived map keeps its dot index across local adds and removes and joins of both kinds;
// every join must give what the model and a copy (whose index is rebuilt) give.
TEST(DotMapTest, MaintainedIndexAgreesWithAFreshOne) {
  int indexed = 0;
  ForEachSeed(300, [&](Rng& rng, int) {
    const int keys = static_cast<int>(Uniform(rng, 3, 60));
    Universe u(rng, keys, Uniform(rng, 3, 20));
    Side local = u.Random(rng, 50, 70);
    Model model = ToModel(local.map);
    std::set<Dot> model_ctx = DotsOf(local.ctx);
    const ReplicaId self = TestReplica(7);
    for (int step = 0; step < 40; ++step) {
      const uint64_t op = Uniform(rng, 0, 9);
      if (op < 3) {  // local add: a new dot under a key
        const Value k = UintValue(Uniform(rng, 0, keys - 1));
        const Dot d = local.ctx.Next(self);
        local.map.Mutate(k, [&](DotSet& dots, Map::Tracker& t) {
          dots.Insert(d);
          t.Added(d);
        });
        u.Record(d, k);
        model[k].insert(d);
        model_ctx.insert(d);
      } else if (op < 5) {  // local remove: every dot of a key
        const Value k = UintValue(Uniform(rng, 0, keys - 1));
        local.map.MutateExisting(k, [&](DotSet& dots, Map::Tracker& t) {
          dots.ForEachDot([&](const Dot& d) { t.Removed(d); });
          dots.Clear();
        });
        model.erase(k);
      } else {  // join a small (index) or large (scan) remote side
        const Side other =
            op < 8 ? u.Small(rng, static_cast<int>(Uniform(rng, 1, 3))) : u.Random(rng, 70, 50);
        Map fresh = local.map;  // a copy: its index is rebuilt on demand
        fresh.Join(other.map, local.ctx, other.ctx);
        local.map.Join(other.map, local.ctx, other.ctx);
        local.ctx.Join(other.ctx);
        model = ModelJoin(model, model_ctx, ToModel(other.map), DotsOf(other.ctx));
        for (const Dot& d : DotsOf(other.ctx)) model_ctx.insert(d);
        ASSERT_EQ(local.map, fresh) << "step " << step;
        indexed += local.map.has_dot_index() ? 1 : 0;
      }
      ASSERT_EQ(ToModel(local.map), model) << "step " << step;
      ASSERT_EQ(DotsOf(local.ctx), model_ctx);
    }
  });
  EXPECT_GT(indexed, 1000);  // joins and local changes went through a maintained index
}

// Removed entries leave holes that new keys fill, and many holes are closed by moving the
// entries together; lookups, iteration, size and the maintained dot index (checked by remote
// removes, which go through it) must not notice.
TEST(DotMapTest, HolesAreFilledAndClosedWithoutLosingAnEntry) {
  ForEachSeed(20, [](Rng& rng, int) {
    Map m;
    CausalContext ctx;
    Model model;
    const ReplicaId self = TestReplica(1);
    uint64_t next_key = 0;
    const auto add = [&](int n) {
      for (int i = 0; i < n; ++i) {
        const Value k = UintValue(next_key++);
        const Dot d = ctx.Next(self);
        m.Mutate(k, [&](DotSet& dots, Map::Tracker& t) {
          dots.Insert(d);
          t.Added(d);
        });
        model[k].insert(d);
      }
    };
    const auto check = [&](const char* when) {
      ASSERT_EQ(ToModel(m), model) << when;
      ASSERT_EQ(m.size(), model.size()) << when;
      for (const auto& [k, dots] : model) ASSERT_NE(m.Find(k), nullptr) << when;
    };
    for (int round = 0; round < 5; ++round) {
      add(static_cast<int>(Uniform(rng, 50, 300)));
      check("after adds");
      // Remote removes, one key at a time: small contexts, through the dot index.
      for (int i = 0; i < 8 && !model.empty(); ++i) {
        auto it = std::next(model.begin(), static_cast<long>(Uniform(rng, 0, model.size() - 1)));
        CausalContext removed;
        for (const Dot& d : it->second) removed.Insert(d);
        m.Join(Map{}, ctx, removed);
        model.erase(it);
        ASSERT_TRUE(m.has_dot_index());
        check("after a remote remove");
      }
      // Local removes of most keys: holes, then a compaction.
      std::vector<Value> keys;
      for (const auto& kv : model) keys.push_back(kv.first);
      for (const Value& k : keys) {
        if (!test::Chance(rng, 80)) continue;
        m.MutateExisting(k, [&](DotSet& dots, Map::Tracker& t) {
          dots.ForEachDot([&](const Dot& d) { t.Removed(d); });
          dots.Clear();
        });
        model.erase(k);
      }
      check("after local removes");
    }
  });
}

TEST(DotMapTest, AKeyWhoseStoreEmptiesDisappears) {
  Map m;
  const Value k = UintValue(1);
  m.Mutate(k, [](DotSet&, Map::Tracker&) {});  // created, left empty
  EXPECT_TRUE(m.empty());
  m.Mutate(k, [](DotSet& s, Map::Tracker& t) {
    s.Insert(Dot{TestReplica(0), 1});
    t.Added(Dot{TestReplica(0), 1});
  });
  EXPECT_EQ(m.size(), 1u);
  CausalContext seen;
  seen.Insert(Dot{TestReplica(0), 1});
  m.Join(Map{}, seen, seen);  // the other side saw the dot and no longer holds it
  EXPECT_TRUE(m.empty());
}

// DotsAreUnique marks dots in bitmaps of the context's ranges where the budget allows and sorts
// the rest (dot_marks.h): its answer must not depend on where a dot is marked. Random stores of
// up to 40 dots, some repeated, over a context with short ranges (bitmaps), a range far longer
// than the budget (sorted), cloud dots and dots outside the context (sorted).
TEST(DotMapTest, DotsAreUniqueWhereverADotIsMarked) {
  int repeats = 0, unique = 0;
  ForEachSeed(300, [&](Rng& rng, int) {
    CausalContext ctx;
    const uint64_t range = Uniform(rng, 0, 30);
    for (uint64_t c = 1; c <= range; ++c) ctx.Insert(Dot{TestReplica(0), c});
    ctx.Insert(Dot{TestReplica(1), 1});
    ctx.Insert(Dot{TestReplica(1), 40});  // a cloud dot
    CausalContext wide = CausalContext::FromParts({{TestReplica(2), uint64_t{1} << 40}}, {})
                             .value();  // 2^40 counters: no bitmap
    ctx.Join(wide);
    Map m;
    std::vector<Dot> all;
    const uint64_t keys = Uniform(rng, 2, 20);
    for (uint64_t k = 0; k < keys; ++k) {
      DotSet dots;
      const uint64_t count = Uniform(rng, 1, 2);
      for (uint64_t i = 0; i < count; ++i) {
        const Dot d{TestReplica(Uniform(rng, 0, 3)), Uniform(rng, 1, 45)};
        if (dots.Find(d) == nullptr) {
          dots.Insert(d);
          all.push_back(d);
        }
      }
      ASSERT_TRUE(m.InsertDecoded(UintValue(k), std::move(dots)));
    }
    std::sort(all.begin(), all.end());
    const bool expected = std::adjacent_find(all.begin(), all.end()) == all.end();
    (expected ? unique : repeats)++;
    EXPECT_EQ(m.DotsAreUnique(ctx), expected);
    EXPECT_EQ(m.DotsAreUnique(CausalContext{}), expected);  // every dot sorted
  });
  EXPECT_GT(repeats, 30);  // both answers are exercised
  EXPECT_GT(unique, 30);
}

}  // namespace
}  // namespace convergent
