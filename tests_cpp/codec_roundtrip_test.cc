// The state codec on valid states: every state and delta of every type decodes back to an equal
// value and re-encodes to the same bytes; equal states built in different orders encode to the
// same bytes; PeekType names the type; the encodings stay small.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "codec_test_support.h"
#include "convergent/codec.h"
#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::ForEachSeed;
using test::Rng;
using test::TestReplica;

// Encodes s, decodes the bytes, and checks the value and its bytes come back unchanged.
template <typename T>
std::string ExpectRoundTrip(const T& s) {
  const std::string bytes = Encode(s);
  Result<CrdtType> type = PeekType(bytes);
  EXPECT_TRUE(type.ok() && type.value() == CrdtTypeOf<T>::value) << type.status().ToString();
  Result<T> back = Decode<T>(bytes);
  EXPECT_TRUE(back.ok()) << back.status().ToString() << " for " << ::testing::PrintToString(s);
  if (!back.ok()) return bytes;
  EXPECT_EQ(back.value(), s);
  EXPECT_EQ(Encode(back.value()), bytes);
  return bytes;
}

template <typename T>
class CodecRoundTripTest : public ::testing::Test {};

using CrdtTypes = ::testing::Types<GCounter, PNCounter, LWWRegister, GSet, Flag, ORSet, MVRegister,
                                   ORMap, LWWMap, PNCounterMap, ORMultiMap>;
TYPED_TEST_SUITE(CodecRoundTripTest, CrdtTypes);

TYPED_TEST(CodecRoundTripTest, BottomRoundTrips) { ExpectRoundTrip(TypeParam{}); }

TYPED_TEST(CodecRoundTripTest, RandomStatesAndDeltasRoundTrip) {
  ForEachSeed(150, [](Rng& rng, int) {
    auto cluster = test::RandomCluster<TypeParam>(rng, 5, 80);
    for (const TypeParam& s : cluster.states()) ExpectRoundTrip(s);
    for (const auto& produced : cluster.log()) ExpectRoundTrip(produced.delta);
  });
}

// Equal states reached through different histories (so their hash containers differ in layout)
// encode to the same bytes.
TYPED_TEST(CodecRoundTripTest, EqualStatesEncodeIdentically) {
  ForEachSeed(100, [](Rng& rng, int) {
    auto cluster = test::RandomCluster<TypeParam>(rng, 5, 80);
    std::vector<TypeParam> deltas;
    for (const auto& produced : cluster.log()) deltas.push_back(produced.delta);
    TypeParam forward, backward, shuffled;
    for (const TypeParam& d : deltas) forward.Join(d);
    for (auto it = deltas.rbegin(); it != deltas.rend(); ++it) backward.Join(*it);
    std::shuffle(deltas.begin(), deltas.end(), rng);
    for (const TypeParam& d : deltas) shuffled.Join(d);
    ASSERT_EQ(forward, backward);
    ASSERT_EQ(forward, shuffled);
    EXPECT_EQ(test::Hex(Encode(forward)), test::Hex(Encode(backward)));
    EXPECT_EQ(test::Hex(Encode(forward)), test::Hex(Encode(shuffled)));
  });
}

// The random states do reach the parts of the causal encodings that are easy to get wrong:
// a cloud on the wire, a cloud the store's dots were left out of, elements with several dots.
template <typename T>
struct CausalCoverage {
  int wire_cloud = 0;  // a cloud dot the store does not hold (encoded)
  int held_cloud = 0;  // a cloud dot the store holds (left out)
  int multi_dot = 0;   // an ORSet element with several dots / an MVRegister with several values
};

template <typename T, typename ForEachStoreDot>
void CountCoverage(const T& s, ForEachStoreDot&& for_each_store_dot, size_t most_dots,
                   CausalCoverage<T>* c) {
  std::set<Dot> store;
  for_each_store_dot([&](const Dot& d) { store.insert(d); });
  for (const Dot& d : s.context().dot_cloud()) {
    if (store.count(d)) {
      ++c->held_cloud;
    } else {
      ++c->wire_cloud;
    }
  }
  if (most_dots > 1) ++c->multi_dot;
}

TEST(CodecRoundTripTest, RandomORSetsCoverClouds) {
  CausalCoverage<ORSet> c;
  ForEachSeed(150, [&](Rng& rng, int) {
    auto cluster = test::RandomCluster<ORSet>(rng, 5, 80);
    for (const ORSet& s : cluster.states()) {
      size_t most = 0;
      for (const auto& kv : s.store().entries()) most = std::max(most, kv.second.size());
      CountCoverage(
          s,
          [&](auto&& fn) {
            for (const auto& kv : s.store().entries()) kv.second.ForEachDot(fn);
          },
          most, &c);
    }
  });
  EXPECT_GT(c.wire_cloud, 0);
  EXPECT_GT(c.held_cloud, 0);
  EXPECT_GT(c.multi_dot, 0);
}

TEST(CodecRoundTripTest, RandomMVRegistersCoverClouds) {
  CausalCoverage<MVRegister> c;
  ForEachSeed(150, [&](Rng& rng, int) {
    auto cluster = test::RandomCluster<MVRegister>(rng, 5, 80);
    for (const MVRegister& s : cluster.states()) {
      CountCoverage(
          s, [&](auto&& fn) { s.store().ForEachDot(fn); }, s.store().size(), &c);
    }
  });
  EXPECT_GT(c.wire_cloud, 0);
  EXPECT_GT(c.held_cloud, 0);
  EXPECT_GT(c.multi_dot, 0);
}

// Values of every msgpack kind survive as elements.
TEST(CodecRoundTripTest, ElementsOfEveryKind) {
  const std::vector<Value> values = {NilValue(),
                                     BoolValue(false),
                                     BoolValue(true),
                                     IntValue(-5),
                                     IntValue(1 << 30),
                                     StringValue(""),
                                     StringValue("h\xc3\xa9llo"),
                                     BytesValue(std::string(300, '\x01')),
                                     ValueFromMsgpack(test::Unhex("cb3ff0000000000000")).value(),
                                     ValueFromMsgpack(test::Unhex("82a16101a16292c0c3")).value(),
                                     ValueFromMsgpack(test::Unhex("d4ff01")).value()};
  ORSet set;
  GSet gset;
  MVRegister mv;
  LWWRegister lww;
  for (size_t i = 0; i < values.size(); ++i) {
    set.Add(TestReplica(i % 3), values[i]);
    gset.Add(values[i]);
    mv.Join(MVRegister().Set(TestReplica(i), values[i]));
    ExpectRoundTrip(lww.Set(TestReplica(0), values[i], i));
  }
  ExpectRoundTrip(set);
  ExpectRoundTrip(gset);
  ExpectRoundTrip(mv);
}

// Large sets are sorted by a radix sort on their elements' first 8 bytes, then by the whole
// bytes where those agree: elements sharing long prefixes, of different kinds and lengths, added
// in two different orders, must come out strictly ascending (Decode checks) and identical.
TEST(CodecRoundTripTest, LargeSetsWithSharedPrefixesEncodeCanonically) {
  std::vector<Value> values;
  for (int i = 0; i < 300; ++i) {
    values.push_back(
        StringValue("shared-prefix-" + std::to_string(i % 150) + (i < 150 ? "" : "x")));
    values.push_back(IntValue((int64_t{1} << 40) + i * 977));
    values.push_back(IntValue(-i));
    values.push_back(BytesValue(std::string(9, '\x07') + std::to_string(i)));
  }
  ORSet forward, backward;
  for (size_t i = 0; i < values.size(); ++i) forward.Add(TestReplica(i % 3), values[i]);
  for (size_t i = values.size(); i-- > 0;) backward.Add(TestReplica(i % 3), values[i]);
  const std::string bytes = ExpectRoundTrip(forward);
  ExpectRoundTrip(backward);
  EXPECT_EQ(forward.size(), values.size());
  ORSet joined = backward;
  joined.Join(forward);
  ORSet again = forward;
  again.Join(backward);
  EXPECT_EQ(Encode(joined), Encode(again));
  std::vector<Value> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(forward.Elements(), sorted);
}

// Extreme ids and counters use the widest varints and fixed64s.
TEST(CodecRoundTripTest, ExtremeIdsAndCounters) {
  const ReplicaId lo{0}, hi{~uint64_t{0}};
  GCounter g;
  g.Increment(lo, ~uint64_t{0});
  g.Increment(hi, 1);
  ExpectRoundTrip(g);
  ExpectRoundTrip(LWWRegister::FromParts(NilValue(), ~uint64_t{0}, hi));
  ExpectRoundTrip(LWWRegister::FromParts(IntValue(1), 1, lo));
  ORSet s;
  s.Add(lo, IntValue(1));
  s.Add(hi, IntValue(1));
  ExpectRoundTrip(s);
}

// The sizes the benchmarks compare with rust crdts' bincode encoding and Yjs's updates.
TEST(CodecRoundTripTest, OneElementAddDeltaIs18Bytes) {
  ORSet a;
  for (int i = 0; i < 1000; ++i) a.Add(TestReplica(0), StringValue("e" + std::to_string(i)));
  const ORSet delta = a.Add(TestReplica(0), StringValue("e1000"));
  const std::string bytes = ExpectRoundTrip(delta);
  // The one-dot form: 2 (envelope tag, length) + 8 (the replica) + 2 (counter 1001 minus 1 as
  // the varint e8 07) + 6 (a5 "e1000").
  EXPECT_EQ(bytes.size(), 18u);
  std::printf("one-element ORSet add delta (counter 1001): %zu bytes\n", bytes.size());
}

TEST(CodecRoundTripTest, LargeORSetIsAbout13BytesPerElement) {
  // W2's replica A: adds e0..e49999, removes e20000..e29999 (40,000 elements left).
  ORSet a;
  for (int i = 0; i < 50000; ++i) a.Add(TestReplica(0), StringValue("e" + std::to_string(i)));
  for (int i = 20000; i < 30000; ++i) a.Remove(StringValue("e" + std::to_string(i)));
  const std::string bytes = ExpectRoundTrip(a);
  const double per_element = static_cast<double>(bytes.size()) / static_cast<double>(a.size());
  std::printf("40,000-element ORSet: %zu bytes, %.2f bytes per element\n", bytes.size(),
              per_element);
  // Per element: 2 + 6 (element tag, length, a5 "e1234"), 1 (replica index), 3 (counter
  // above 16383 as a varint).
  EXPECT_LT(per_element, 13.5);
}

}  // namespace
}  // namespace convergent
