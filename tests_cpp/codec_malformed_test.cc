// The state codec on bytes that are not a valid encoding: every violation of the wire format or
// of a type's invariants is a Corruption (a state of another type a TypeMismatch naming both),
// never a crash. Malformed messages are built by editing the protobuf message of a valid
// encoding, one violation at a time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec_test_support.h"
#include "convergent/codec.h"
#include "convergent/v1/crdt.pb.h"
#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Unhex;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

const ReplicaId kR1{1};
const ReplicaId kR2{2};
const ReplicaId kR3{3};

v1::Crdt Parsed(const std::string& bytes) {
  v1::Crdt m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

// Decoding m as a T fails with a Corruption whose message contains `what`.
template <typename T>
void ExpectCorrupt(const v1::Crdt& m, std::string_view what) {
  Result<T> r = Decode<T>(m.SerializeAsString());
  ASSERT_FALSE(r.ok()) << "accepted: " << m.ShortDebugString();
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(std::string(what))) << m.ShortDebugString();
}

// ---- The envelope ----

TEST(CodecMalformedTest, EmptyAndGarbageInput) {
  for (const std::string hex : {"", "ff", "ffff", "00", "0a", "0a05", "7801"}) {
    SCOPED_TRACE(hex);
    EXPECT_EQ(PeekType(Unhex(hex)).status().code(), StatusCode::kCorruption);
    EXPECT_EQ(Decode<GCounter>(Unhex(hex)).status().code(), StatusCode::kCorruption);
  }
  EXPECT_THAT(PeekType("").status().message(), HasSubstr("no CRDT state"));
  EXPECT_THAT(PeekType(Unhex("7801")).status().message(), HasSubstr("no CRDT state"));
}

TEST(CodecMalformedTest, AStateFieldOfTheWrongWireType) {
  EXPECT_EQ(PeekType(Unhex("0801")).status().code(), StatusCode::kCorruption);  // varint
  EXPECT_EQ(PeekType(Unhex("0901")).status().code(), StatusCode::kCorruption);  // fixed64
}

TEST(CodecMalformedTest, UnknownFieldsAreSkipped) {
  // Field 15 (varint) before a GCounter and field 16 (bytes) after it: ignored, as protobuf does.
  EXPECT_TRUE(Decode<GCounter>(Unhex("7801 0a00 820100")).ok());
  EXPECT_EQ(PeekType(Unhex("7801 0a00 820100")).value(), CrdtType::kGCounter);
}

TEST(CodecMalformedTest, TrailingGarbageIsRejected) {
  GCounter c;
  c.Increment(kR1, 3);
  EXPECT_EQ(Decode<GCounter>(Encode(c) + "\xff").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Decode<GCounter>(Encode(c) + std::string(1, '\0')).status().code(),
            StatusCode::kCorruption);
}

template <typename T>
std::string SampleEncoding() {
  test::Rng rng(7);
  auto cluster = test::RandomCluster<T>(rng, 30, 40);
  T joined;
  for (const T& s : cluster.states()) joined.Join(s);
  return Encode(joined);
}

std::vector<std::string> SamplesOfEveryType() {
  return {
      SampleEncoding<GCounter>(),     SampleEncoding<PNCounter>(), SampleEncoding<LWWRegister>(),
      SampleEncoding<GSet>(),         SampleEncoding<Flag>(),      SampleEncoding<ORSet>(),
      SampleEncoding<MVRegister>(),   SampleEncoding<ORMap>(),     SampleEncoding<LWWMap>(),
      SampleEncoding<PNCounterMap>(), SampleEncoding<ORMultiMap>()};
}

// Calls check(decode status) for bytes decoded as every type.
template <typename Fn>
void DecodeAsEveryType(const std::string& bytes, Fn&& check) {
  check(Decode<GCounter>(bytes).status());
  check(Decode<PNCounter>(bytes).status());
  check(Decode<LWWRegister>(bytes).status());
  check(Decode<GSet>(bytes).status());
  check(Decode<Flag>(bytes).status());
  check(Decode<ORSet>(bytes).status());
  check(Decode<MVRegister>(bytes).status());
  check(Decode<ORMap>(bytes).status());
  check(Decode<LWWMap>(bytes).status());
  check(Decode<PNCounterMap>(bytes).status());
  check(Decode<ORMultiMap>(bytes).status());
}

TEST(CodecMalformedTest, EveryTruncationIsRejected) {
  // A state is one length-delimited envelope field, so every strict prefix is either empty or
  // cut inside that field.
  for (const std::string& bytes : SamplesOfEveryType()) {
    ASSERT_GT(bytes.size(), 3u);
    for (size_t n = 0; n < bytes.size(); ++n) {
      SCOPED_TRACE("prefix of " + std::to_string(n) + " of " + test::Hex(bytes));
      DecodeAsEveryType(bytes.substr(0, n), [](const Status& s) {
        EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
      });
    }
  }
}

// A flipped bit may still give a valid state (a counter changed, say); then that state must
// survive its own round trip. Otherwise the error is a Corruption or a TypeMismatch.
template <typename T>
int FlipEveryBit(const std::string& bytes) {
  int rejected = 0;
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    std::string flipped = bytes;
    flipped[i / 8] = static_cast<char>(flipped[i / 8] ^ (1 << (i % 8)));
    Result<T> r = Decode<T>(flipped);
    if (!r.ok()) {
      ++rejected;
      EXPECT_TRUE(r.status().code() == StatusCode::kCorruption ||
                  r.status().code() == StatusCode::kTypeMismatch)
          << r.status().ToString();
      continue;
    }
    Result<T> again = Decode<T>(Encode(r.value()));
    EXPECT_TRUE(again.ok() && again.value() == r.value()) << "bit " << i;
  }
  return rejected;
}

TEST(CodecMalformedTest, BitFlipsNeverCrashAndAcceptedStatesRoundTrip) {
  EXPECT_GT(FlipEveryBit<GCounter>(SampleEncoding<GCounter>()), 0);
  EXPECT_GT(FlipEveryBit<PNCounter>(SampleEncoding<PNCounter>()), 0);
  EXPECT_GT(FlipEveryBit<LWWRegister>(SampleEncoding<LWWRegister>()), 0);
  EXPECT_GT(FlipEveryBit<GSet>(SampleEncoding<GSet>()), 0);
  EXPECT_GT(FlipEveryBit<Flag>(SampleEncoding<Flag>()), 0);
  EXPECT_GT(FlipEveryBit<ORSet>(SampleEncoding<ORSet>()), 0);
  EXPECT_GT(FlipEveryBit<MVRegister>(SampleEncoding<MVRegister>()), 0);
  EXPECT_GT(FlipEveryBit<ORMap>(SampleEncoding<ORMap>()), 0);
  EXPECT_GT(FlipEveryBit<LWWMap>(SampleEncoding<LWWMap>()), 0);
  EXPECT_GT(FlipEveryBit<PNCounterMap>(SampleEncoding<PNCounterMap>()), 0);
  EXPECT_GT(FlipEveryBit<ORMultiMap>(SampleEncoding<ORMultiMap>()), 0);
}

TEST(CodecMalformedTest, AnotherTypeIsATypeMismatchNamingBoth) {
  const std::vector<std::string> samples = SamplesOfEveryType();
  const char* names[] = {"GCounter", "PNCounter",    "LWWRegister", "GSet",
                         "Flag",     "ORSet",        "MVRegister",  "ORMap",
                         "LWWMap",   "PNCounterMap", "ORMultiMap"};
  for (size_t i = 0; i < samples.size(); ++i) {
    size_t mismatches = 0;
    DecodeAsEveryType(samples[i], [&](const Status& s) {
      if (s.ok()) return;
      EXPECT_EQ(s.code(), StatusCode::kTypeMismatch) << s.ToString();
      EXPECT_THAT(
          s.message(),
          ContainsRegex(std::string("^expected an? [A-Za-z]+ state, got an? ") + names[i] + "$"));
      ++mismatches;
    });
    EXPECT_EQ(mismatches, samples.size() - 1) << names[i];
  }
  Status s = Decode<ORSet>(Encode(GCounter())).status();
  EXPECT_EQ(s.message(), "expected an ORSet state, got a GCounter");
}

TEST(CodecMalformedTest, TheLastStateOfAnEnvelopeDecides) {
  // As in protobuf, the last field of the state oneof wins: an ORSet followed by a GCounter is a
  // GCounter, whatever the ORSet held (a malformed one too), and the other way round an ORSet.
  const std::string gcounter = Encode(GCounter());  // "0a00"
  ORSet s;
  s.Add(kR1, StringValue("x"));
  const std::string orset = Encode(s);
  const std::string broken_orset = Unhex("2203ffffff");  // field 4, 3 bytes of bad tags
  for (const std::string& first : {orset, broken_orset}) {
    Status st = Decode<ORSet>(first + gcounter).status();
    EXPECT_EQ(st.code(), StatusCode::kTypeMismatch) << st.ToString();
    EXPECT_EQ(PeekType(first + gcounter).value(), CrdtType::kGCounter);
  }
  Result<ORSet> again = Decode<ORSet>(gcounter + orset);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again.value(), s);
  EXPECT_EQ(Decode<ORSet>(broken_orset).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Decode<ORSet>(gcounter + broken_orset).status().code(), StatusCode::kCorruption);
  EXPECT_THAT(Decode<ORSet>(Unhex("7801")).status().message(), HasSubstr("no CRDT state"));
}

TEST(CodecMalformedTest, ORSetOneDotForm) {
  // or_set_dot (field 12): the replica (8 bytes), counter - 1 (varint), the element to the end.
  const auto decode = [](std::string_view hex) { return Decode<ORSet>(Unhex(hex)); };
  ASSERT_TRUE(decode("62 0b 0100000000000000 00 a161").ok());
  EXPECT_EQ(PeekType(Unhex("62 0b 0100000000000000 00 a161")).value(), CrdtType::kORSet);
  const struct {
    const char* hex;
    const char* what;
  } cases[] = {
      {"62 00", "shorter than its dot"},
      {"62 07 01000000000000", "shorter than its dot"},
      {"62 08 0100000000000000", "shorter than its dot"},     // no counter
      {"62 09 0100000000000000 80", "shorter than its dot"},  // a counter cut short
      {"62 14 0100000000000000 ffffffffffffffffff01 a161", "counter past 2^64"},
      {"62 09 0100000000000000 00", "not canonical msgpack"},          // no element
      {"62 0c 0100000000000000 00 a161 00", "not canonical msgpack"},  // bytes after it
      {"62 0b 0100000000000000 00 d900", "not canonical msgpack"},     // str8 for a short str
  };
  for (const auto& c : cases) {
    Result<ORSet> r = decode(c.hex);
    ASSERT_FALSE(r.ok()) << c.hex;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << c.hex;
    EXPECT_THAT(r.status().message(), HasSubstr(c.what)) << c.hex;
  }
  // The counter's largest value: 2^64 - 1.
  Result<ORSet> top = decode("62 14 0100000000000000 feffffffffffffffff01 a161");
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ((*top->store().entries().begin()).second.begin()->dot.counter, UINT64_MAX);
  // Another type reading it: a type mismatch naming the ORSet.
  Result<GCounter> other = Decode<GCounter>(Unhex("62 0b 0100000000000000 00 a161"));
  EXPECT_EQ(other.status().code(), StatusCode::kTypeMismatch);
  EXPECT_THAT(other.status().message(), HasSubstr("ORSet"));
  // The last state field decides between the forms too.
  ORSet two;
  two.Add(kR1, StringValue("a"));
  two.Add(kR1, StringValue("b"));
  const std::string general = Encode(two);
  const std::string one = Unhex("62 0b 0100000000000000 00 a161");
  ASSERT_TRUE(Decode<ORSet>(one + general).ok());
  EXPECT_EQ(Decode<ORSet>(one + general).value(), two);
  ASSERT_TRUE(Decode<ORSet>(general + one).ok());
  EXPECT_EQ(Decode<ORSet>(general + one).value().size(), 1u);
  EXPECT_EQ(Decode<ORSet>(one + Encode(GCounter())).status().code(), StatusCode::kTypeMismatch);
  // A malformed ORSet message before the one-dot form: protobuf rejects the envelope (it parses
  // every state field), so the decoder does too (found by the fuzzer).
  const std::string broken = Unhex("2203ffffff");
  EXPECT_EQ(Decode<ORSet>(broken + one).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(Decode<ORSet>(general + one).ok());
}

TEST(CodecMalformedTest, MapTypesArePeeked) {
  // The envelope fields 5, 9, 10, 11 are the map types (empty maps here).
  EXPECT_EQ(PeekType(Unhex("2a00")).value(), CrdtType::kORMap);
  EXPECT_EQ(PeekType(Unhex("4a00")).value(), CrdtType::kLWWMap);
  EXPECT_EQ(PeekType(Unhex("5200")).value(), CrdtType::kPNCounterMap);
  EXPECT_EQ(PeekType(Unhex("5a00")).value(), CrdtType::kORMultiMap);
  Status s = Decode<ORSet>(Unhex("2a00")).status();
  EXPECT_EQ(s.code(), StatusCode::kTypeMismatch);
  EXPECT_EQ(s.message(), "expected an ORSet state, got an ORMap");
}

// ---- Counters, registers, flags, grow-only sets ----

TEST(CodecMalformedTest, GCounterInvariants) {
  GCounter c;
  c.Increment(kR1, 3);
  c.Increment(kR2, 4);
  const v1::Crdt good = Parsed(Encode(c));
  {
    v1::Crdt m = good;
    m.mutable_g_counter()->add_counts(5);
    ExpectCorrupt<GCounter>(m, "GCounter: replicas and counts differ in length");
  }
  {
    v1::Crdt m = good;
    m.mutable_g_counter()->set_replicas(0, 2);
    ExpectCorrupt<GCounter>(m, "GCounter: replicas not strictly ascending");  // duplicate
  }
  {
    v1::Crdt m = good;
    m.mutable_g_counter()->set_replicas(0, 9);
    ExpectCorrupt<GCounter>(m, "GCounter: replicas not strictly ascending");
  }
  {
    v1::Crdt m = good;
    m.mutable_g_counter()->set_counts(1, 0);
    ExpectCorrupt<GCounter>(m, "GCounter: a count of 0");
  }
}

TEST(CodecMalformedTest, PNCounterHalvesAreChecked) {
  PNCounter c;
  c.Increment(kR1, 3);
  c.Decrement(kR1, 2);
  v1::Crdt m = Parsed(Encode(c));
  m.mutable_pn_counter()->mutable_decrements()->set_counts(0, 0);
  ExpectCorrupt<PNCounter>(m, "PNCounter decrements: a count of 0");
  m = Parsed(Encode(c));
  m.mutable_pn_counter()->mutable_increments()->add_replicas(0);
  ExpectCorrupt<PNCounter>(m, "PNCounter increments: replicas and counts differ");
}

TEST(CodecMalformedTest, LWWRegisterInvariants) {
  const v1::Crdt good = Parsed(Encode(LWWRegister::FromParts(IntValue(7), 3, kR2)));
  {
    v1::Crdt m = good;
    m.mutable_lww_register()->set_timestamp(0);
    ExpectCorrupt<LWWRegister>(m, "LWWRegister: a value at timestamp 0");
  }
  {
    v1::Crdt m = good;
    m.mutable_lww_register()->set_timestamp(0);
    m.mutable_lww_register()->clear_value();
    ExpectCorrupt<LWWRegister>(m, "LWWRegister: a replica at timestamp 0");
  }
  {
    v1::Crdt m = good;
    m.mutable_lww_register()->clear_value();  // set, but no msgpack at all
    ExpectCorrupt<LWWRegister>(m, "LWWRegister: value not canonical msgpack");
  }
  for (const char* hex : {"cc07", "0707", "c1", "a1ff", "92"}) {
    v1::Crdt m = good;
    m.mutable_lww_register()->set_value(Unhex(hex));
    ExpectCorrupt<LWWRegister>(m, "LWWRegister: value not canonical msgpack");
  }
}

TEST(CodecMalformedTest, GSetInvariants) {
  GSet s;
  s.Add(IntValue(1));
  s.Add(IntValue(2));
  const v1::Crdt good = Parsed(Encode(s));
  {
    v1::Crdt m = good;
    m.mutable_g_set()->mutable_elements()->SwapElements(0, 1);
    ExpectCorrupt<GSet>(m, "GSet: elements not strictly ascending");
  }
  {
    v1::Crdt m = good;
    m.mutable_g_set()->set_elements(1, m.g_set().elements(0));
    ExpectCorrupt<GSet>(m, "GSet: elements not strictly ascending");
  }
  for (const char* hex : {"cc03", "", "c1", "a1ff", "0303"}) {
    v1::Crdt m;
    m.mutable_g_set()->add_elements(Unhex(hex));
    ExpectCorrupt<GSet>(m, "GSet: an element not canonical msgpack");
  }
}

// ---- ORSet ----

// A set with two replicas' dots, an element with two dots, and a context cloud on the wire:
// replica 3's remove of an element replica 1 never saw leaves (3,2) in replica 1's cloud.
ORSet RichORSet() {
  ORSet s;
  s.Add(kR1, StringValue("a"));
  ORSet t;
  t.Add(kR2, StringValue("a"));
  t.Add(kR2, StringValue("b"));
  s.Join(t);
  ORSet u;
  u.Add(kR3, StringValue("c"));
  u.Add(kR3, StringValue("c"));
  s.Join(u.Remove(StringValue("c")));
  return s;
}

TEST(CodecMalformedTest, RichORSetIsWhatTheTestsExpect) {
  const v1::Crdt m = Parsed(Encode(RichORSet()));
  const v1::ORSetState& s = m.or_set();
  EXPECT_EQ(s.replicas_size(), 3);
  EXPECT_EQ(s.context().cloud_replica_size(), 1);
  EXPECT_EQ(s.elements_size(), 2);
  ASSERT_EQ(s.dot_count_size(), 2);
  EXPECT_EQ(s.dot_count(0), 2u);
  EXPECT_TRUE(Decode<ORSet>(m.SerializeAsString()).ok());
}

TEST(CodecMalformedTest, ORSetReplicaTable) {
  const v1::Crdt good = Parsed(Encode(RichORSet()));
  {
    v1::Crdt m = good;
    m.mutable_or_set()->mutable_replicas()->SwapElements(0, 1);
    ExpectCorrupt<ORSet>(m, "ORSet: replica table not strictly ascending");
  }
  {
    v1::Crdt m = good;
    m.mutable_or_set()->set_replicas(1, 1);
    ExpectCorrupt<ORSet>(m, "ORSet: replica table not strictly ascending");
  }
  {
    v1::Crdt m = good;
    m.mutable_or_set()->add_replicas(99);
    ExpectCorrupt<ORSet>(m, "ORSet: a replica in the table that nothing refers to");
  }
  {
    v1::Crdt m = good;
    m.mutable_or_set()->set_dot_replica(0, 3);
    ExpectCorrupt<ORSet>(m, "ORSet: replica index out of range");
  }
  {
    v1::Crdt m = good;
    m.mutable_or_set()->mutable_context()->set_vv_replica(0, 7);
    ExpectCorrupt<ORSet>(m, "ORSet: context: version vector: replica index out of range");
  }
  {
    v1::Crdt m = good;
    m.mutable_or_set()->mutable_context()->set_cloud_replica(0, 3);
    ExpectCorrupt<ORSet>(m, "ORSet: context: cloud: replica index out of range");
  }
}

TEST(CodecMalformedTest, ORSetContext) {
  const v1::Crdt good = Parsed(Encode(RichORSet()));
  auto edit = [&](auto&& fn) {
    v1::Crdt m = good;
    fn(m.mutable_or_set()->mutable_context());
    return m;
  };
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) { c->set_vv_counter(0, 0); }),
                       "context: version vector: a dot with counter 0");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) { c->add_vv_counter(4); }),
                       "context: vv_replica and vv_counter differ in length");
  ExpectCorrupt<ORSet>(
      edit([](v1::CausalContext* c) { c->mutable_vv_replica()->SwapElements(0, 1); }),
      "context: vv_replica not strictly ascending");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) { c->set_vv_replica(1, c->vv_replica(0)); }),
                       "context: vv_replica not strictly ascending");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) { c->add_cloud_replica(2); }),
                       "context: cloud_replica and cloud_counter differ in length");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) {
                         c->add_cloud_replica(c->cloud_replica(0));  // the same dot twice
                         c->add_cloud_counter(c->cloud_counter(0));
                       }),
                       "context: cloud not strictly ascending");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) {
                         c->add_cloud_replica(c->cloud_replica(0));  // a smaller dot after
                         c->add_cloud_counter(c->cloud_counter(0) - 1);
                       }),
                       "context: cloud not strictly ascending");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) { c->set_cloud_counter(0, 0); }),
                       "context: cloud: a dot with counter 0");
  // A cloud dot covered by the vector, and one right after the vector's range (the compact form
  // folds it into the vector): replica index 0 has vv counter 1.
  ASSERT_EQ(good.or_set().context().vv_counter(0), 1u);
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) {
                         c->set_cloud_replica(0, 0);
                         c->set_cloud_counter(0, 1);
                       }),
                       "a cloud dot inside or next to the vector's range");
  ExpectCorrupt<ORSet>(edit([](v1::CausalContext* c) {
                         c->set_cloud_replica(0, 0);
                         c->set_cloud_counter(0, 2);
                       }),
                       "a cloud dot inside or next to the vector's range");
}

TEST(CodecMalformedTest, ORSetElementsAndDots) {
  const v1::Crdt good = Parsed(Encode(RichORSet()));
  auto edit = [&](auto&& fn) {
    v1::Crdt m = good;
    fn(m.mutable_or_set());
    return m;
  };
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->add_dot_counter(9); }),
                       "dot_replica and dot_counter differ in length");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->set_dot_count(1, 2); }),
                       "dot_count does not add up to the number of dots");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) {
                         s->set_dot_count(0, 3);
                         s->set_dot_count(1, 0);
                       }),
                       "an element with 0 dots");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->add_dot_count(1); }),
                       "dot_count and elements differ");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->clear_dot_count(); }),
                       "not one dot per element, and no dot_count");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->mutable_elements()->SwapElements(0, 1); }),
                       "elements not strictly ascending");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->set_elements(1, s->elements(0)); }),
                       "elements not strictly ascending");
  // Replacing "b" (a1 62) with bytes that still sort after "a" (a1 61): "b" as str8, ...
  for (const char* hex : {"d90162", "c1", "a1ff", "a162a162"}) {
    ExpectCorrupt<ORSet>(edit([&](v1::ORSetState* s) { s->set_elements(1, Unhex(hex)); }),
                         "an element not canonical msgpack");
  }
  ExpectCorrupt<ORSet>(edit([&](v1::ORSetState* s) { s->set_elements(0, ""); }),
                       "an element not canonical msgpack");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) { s->set_dot_counter(2, 0); }),
                       "a dot with counter 0");
  // "a" has the dots (replica index 0, 1) and (1, 1): swapped, they are not ascending.
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) {
                         s->mutable_dot_replica()->SwapElements(0, 1);
                         s->mutable_dot_counter()->SwapElements(0, 1);
                       }),
                       "an element's dots not ascending");
  ExpectCorrupt<ORSet>(edit([](v1::ORSetState* s) {
                         s->set_dot_replica(1, s->dot_replica(0));
                         s->set_dot_counter(1, s->dot_counter(0));
                       }),
                       "an element's dots not ascending");
}

// A one-replica ORSetState written field by field.
v1::Crdt OneReplicaORSet(std::vector<uint64_t> vv, std::vector<uint64_t> cloud,
                         std::vector<std::pair<std::string, uint64_t>> elements) {
  v1::Crdt m;
  v1::ORSetState* s = m.mutable_or_set();
  s->add_replicas(1);
  for (uint64_t c : vv) {
    s->mutable_context()->add_vv_replica(0);
    s->mutable_context()->add_vv_counter(c);
  }
  for (uint64_t c : cloud) {
    s->mutable_context()->add_cloud_replica(0);
    s->mutable_context()->add_cloud_counter(c);
  }
  for (const auto& [hex, counter] : elements) {
    s->add_elements(Unhex(hex));
    s->add_dot_replica(0);
    s->add_dot_counter(counter);
  }
  return m;
}

TEST(CodecMalformedTest, ORSetStoreDotsAgainstTheContext) {
  // A store dot is added back to the context: outside the wire context is fine...
  Result<ORSet> ok = Decode<ORSet>(OneReplicaORSet({}, {}, {{"01", 5}}).SerializeAsString());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok.value().context().Contains(Dot{kR1, 5}));
  EXPECT_FALSE(ok.value().context().Contains(Dot{kR1, 4}));
  // ...but listing it in the wire cloud too is not canonical,
  ExpectCorrupt<ORSet>(OneReplicaORSet({}, {5}, {{"01", 5}}),
                       "ORSet: a store dot listed in the context cloud too");
  // and a store dot right after the vector's range means the encoder did not fold it.
  ExpectCorrupt<ORSet>(OneReplicaORSet({1}, {}, {{"01", 2}}),
                       "ORSet: a store dot next to its replica's range");
  ExpectCorrupt<ORSet>(OneReplicaORSet({}, {}, {{"01", 1}}),
                       "ORSet: a store dot next to its replica's range");
  // One dot under two elements.
  ExpectCorrupt<ORSet>(OneReplicaORSet({1}, {}, {{"01", 1}, {"02", 1}}),
                       "ORSet: a dot under two elements");
  ExpectCorrupt<ORSet>(OneReplicaORSet({}, {}, {{"01", 4}, {"02", 4}}),
                       "ORSet: a dot under two elements");
}

// ---- MVRegister ----

// Concurrent writes of three replicas: three values.
MVRegister RichMVRegister() {
  MVRegister a, b, c;
  a.Set(kR1, IntValue(1));
  b.Set(kR2, IntValue(2));
  c.Set(kR3, IntValue(3));
  c.Set(kR3, IntValue(4));
  a.Join(b);
  a.Join(c);
  return a;
}

TEST(CodecMalformedTest, MVRegisterInvariants) {
  const v1::Crdt good = Parsed(Encode(RichMVRegister()));
  ASSERT_EQ(good.mv_register().values_size(), 3);
  auto edit = [&](auto&& fn) {
    v1::Crdt m = good;
    fn(m.mutable_mv_register());
    return m;
  };
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) { s->add_values(Unhex("01")); }),
                            "MVRegister: values and dots differ in length");
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) {
                              s->mutable_dot_replica()->SwapElements(0, 1);
                              s->mutable_dot_counter()->SwapElements(0, 1);
                            }),
                            "MVRegister: dots not strictly ascending");
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) {
                              s->set_dot_replica(1, s->dot_replica(0));
                              s->set_dot_counter(1, s->dot_counter(0));
                            }),
                            "MVRegister: dots not strictly ascending");
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) { s->set_values(0, Unhex("cc01")); }),
                            "MVRegister: a value not canonical msgpack");
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) { s->set_dot_replica(0, 5); }),
                            "MVRegister: replica index out of range");
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) { s->set_dot_counter(0, 0); }),
                            "MVRegister: a dot with counter 0");
  ExpectCorrupt<MVRegister>(edit([](v1::MVRegisterState* s) { s->add_replicas(~uint64_t{0}); }),
                            "MVRegister: a replica in the table that nothing refers to");
  // A value whose dot (replica 1, 5) is beyond the (empty) vector: added back to the context,
  // but listing it in the wire cloud too is not canonical.
  v1::Crdt m;
  v1::MVRegisterState* s = m.mutable_mv_register();
  s->add_replicas(1);
  s->add_values(Unhex("07"));
  s->add_dot_replica(0);
  s->add_dot_counter(5);
  Result<MVRegister> ok = Decode<MVRegister>(m.SerializeAsString());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok.value().context().Contains(Dot{kR1, 5}));
  s->mutable_context()->add_cloud_replica(0);
  s->mutable_context()->add_cloud_counter(5);
  ExpectCorrupt<MVRegister>(m, "MVRegister: a store dot listed in the context cloud too");
}

// ---- ORMap and the typed maps ----

// A map with a key of every part store (counter, register, multi-value, set, flag) and one key
// with two parts (concurrent writes of two types).
ORMap RichORMap() {
  ORMap a, b;
  const Value k1 = StringValue("k1"), k2 = StringValue("k2"), k3 = StringValue("k3");
  EXPECT_TRUE(a.Increment(kR1, k1, 5).ok());
  EXPECT_TRUE(a.SetRegister(kR1, k2, IntValue(7), 10).ok());
  EXPECT_TRUE(a.SetMultiValue(kR1, k3, IntValue(8)).ok());
  EXPECT_TRUE(a.AddElement(kR1, StringValue("k4"), IntValue(9)).ok());
  EXPECT_TRUE(a.AddElement(kR1, StringValue("k4"), IntValue(10)).ok());
  EXPECT_TRUE(b.EnableFlag(kR2, k1).ok());  // concurrent with a's counter at k1
  a.Join(b);
  return a;
}

TEST(CodecMalformedTest, RichORMapIsWhatTheTestsExpect) {
  const v1::Crdt m = Parsed(Encode(RichORMap()));
  const v1::ORMapState& s = m.or_map();
  ASSERT_EQ(s.entries_size(), 4);
  ASSERT_EQ(s.entries(0).parts_size(), 2);  // k1: PNCounter (2) and Flag (6)
  EXPECT_EQ(s.entries(0).parts(0).type(), 2u);
  EXPECT_EQ(s.entries(0).parts(1).type(), 6u);
  EXPECT_TRUE(s.entries(1).parts(0).has_lww_register());
  EXPECT_TRUE(s.entries(2).parts(0).has_multi_value());
  EXPECT_EQ(s.entries(3).parts(0).set().elements_size(), 2);
  EXPECT_TRUE(Decode<ORMap>(m.SerializeAsString()).ok());
}

TEST(CodecMalformedTest, ORMapEntriesAndParts) {
  const v1::Crdt good = Parsed(Encode(RichORMap()));
  auto edit = [&](auto&& fn) {
    v1::Crdt m = good;
    fn(m.mutable_or_map());
    return m;
  };
  ExpectCorrupt<ORMap>(edit([](v1::ORMapState* s) { s->mutable_entries()->SwapElements(0, 1); }),
                       "ORMap: keys not strictly ascending");
  ExpectCorrupt<ORMap>(
      edit([](v1::ORMapState* s) { s->mutable_entries(1)->set_key(s->entries(0).key()); }),
      "ORMap: keys not strictly ascending");
  ExpectCorrupt<ORMap>(
      edit([](v1::ORMapState* s) { s->mutable_entries(0)->set_key(Unhex("d9026b31")); }),
      "ORMap: a key not canonical msgpack");
  ExpectCorrupt<ORMap>(edit([](v1::ORMapState* s) { s->mutable_entries(1)->clear_parts(); }),
                       "ORMap: an entry without parts");
  ExpectCorrupt<ORMap>(
      edit([](v1::ORMapState* s) { s->mutable_entries(0)->mutable_parts()->SwapElements(0, 1); }),
      "ORMap: parts not strictly ascending by type");
  for (uint32_t type : {0u, 5u, 9u, 12u, 258u}) {  // not a type a map holds (258: 2 in 8 bits)
    ExpectCorrupt<ORMap>(
        edit([&](v1::ORMapState* s) { s->mutable_entries(3)->mutable_parts(0)->set_type(type); }),
        "ORMap: a part of a type a map cannot hold");
  }
  // A Flag type over a counter store, an ORSet type over a register store.
  ExpectCorrupt<ORMap>(
      edit([](v1::ORMapState* s) { s->mutable_entries(0)->mutable_parts(0)->set_type(6); }),
      "ORMap: a part whose store does not match its type");
  ExpectCorrupt<ORMap>(
      edit([](v1::ORMapState* s) { s->mutable_entries(1)->mutable_parts(0)->set_type(4); }),
      "ORMap: a part whose store does not match its type");
  ExpectCorrupt<ORMap>(edit([](v1::ORMapState* s) {
                         s->mutable_entries(0)->mutable_parts(1)->mutable_flag()->clear_dots();
                       }),
                       "ORMap: an empty part");
  ExpectCorrupt<ORMap>(edit([](v1::ORMapState* s) {
                         s->mutable_entries(3)->mutable_parts(0)->mutable_set()->clear_elements();
                         s->mutable_entries(3)->mutable_parts(0)->mutable_set()->clear_dots();
                       }),
                       "ORMap: an empty part");
  // The flag's dot (replica 2, 1) also under the counter of the same key.
  ExpectCorrupt<ORMap>(edit([](v1::ORMapState* s) {
                         v1::MapEntryState* e = s->mutable_entries(0);
                         *e->mutable_parts(1)->mutable_flag()->mutable_dots() =
                             e->parts(0).counter().dots();
                       }),
                       "ORMap: a dot used twice");
  ExpectCorrupt<ORMap>(edit([](v1::ORMapState* s) { s->add_replicas(~uint64_t{0}); }),
                       "ORMap: a replica in the table that nothing refers to");
}

TEST(CodecMalformedTest, ORMapPartStores) {
  const v1::Crdt good = Parsed(Encode(RichORMap()));
  auto part = [&](int entry, int index, auto&& fn) {
    v1::Crdt m = good;
    fn(m.mutable_or_map()->mutable_entries(entry)->mutable_parts(index));
    return m;
  };
  ExpectCorrupt<ORMap>(part(0, 0, [](v1::MapPart* p) { p->mutable_counter()->add_increments(1); }),
                       "ORMap: counter totals and dots differ in length");
  ExpectCorrupt<ORMap>(part(0, 0,
                            [](v1::MapPart* p) {
                              p->set_type(1);  // a GCounter
                              p->mutable_counter()->set_decrements(0, 3);
                            }),
                       "ORMap: a GCounter part with decrements");
  ExpectCorrupt<ORMap>(
      part(0, 0, [](v1::MapPart* p) { p->mutable_counter()->mutable_dots()->add_counter(1); }),
      "ORMap: dot replicas and counters differ in length");
  ExpectCorrupt<ORMap>(
      part(1, 0, [](v1::MapPart* p) { p->mutable_lww_register()->set_timestamps(0, 0); }),
      "ORMap: a register write at timestamp 0");
  ExpectCorrupt<ORMap>(
      part(1, 0, [](v1::MapPart* p) { p->mutable_lww_register()->set_values(0, Unhex("cc07")); }),
      "ORMap: a value not canonical msgpack");
  ExpectCorrupt<ORMap>(
      part(1, 0, [](v1::MapPart* p) { p->mutable_lww_register()->add_timestamps(3); }),
      "ORMap: register writes and dots differ in length");
  ExpectCorrupt<ORMap>(
      part(2, 0, [](v1::MapPart* p) { p->mutable_multi_value()->set_values(0, Unhex("a1ff")); }),
      "ORMap: a value not canonical msgpack");
  ExpectCorrupt<ORMap>(
      part(2, 0, [](v1::MapPart* p) { p->mutable_multi_value()->add_values(Unhex("01")); }),
      "ORMap: values and dots differ in length");
  ExpectCorrupt<ORMap>(
      part(3, 0, [](v1::MapPart* p) { p->mutable_set()->mutable_elements()->SwapElements(0, 1); }),
      "ORMap: elements not strictly ascending");
  ExpectCorrupt<ORMap>(part(3, 0, [](v1::MapPart* p) { p->mutable_set()->add_dot_count(1); }),
                       "ORMap: dot_count and elements differ");
  // Two dots in one store, not ascending: the set part's two elements' dots moved to the flag.
  ExpectCorrupt<ORMap>(part(0, 1,
                            [&](v1::MapPart* p) {
                              v1::DotList* d = p->mutable_flag()->mutable_dots();
                              d->add_replica(d->replica(0));
                              d->add_counter(d->counter(0));
                            }),
                       "ORMap: dots not strictly ascending");
  ExpectCorrupt<ORMap>(
      part(0, 1, [](v1::MapPart* p) { p->mutable_flag()->mutable_dots()->set_replica(0, 9); }),
      "ORMap: replica index out of range");
}

TEST(CodecMalformedTest, TypedMapsHoldOnlyTheirType) {
  LWWMap lww;
  lww.Put(kR1, StringValue("k"), IntValue(1), 5);
  // An LWWMap's encoding is an ORMapState in another envelope field: read as a PNCounterMap's,
  // its register part is another type.
  v1::Crdt m = Parsed(Encode(lww));
  ASSERT_TRUE(m.has_lww_map());
  v1::Crdt as_pn;
  *as_pn.mutable_pn_counter_map() = m.lww_map();
  ExpectCorrupt<PNCounterMap>(as_pn,
                              "PNCounterMap: a map of PNCounter values holds an LWWRegister");
  v1::Crdt as_or_map;
  *as_or_map.mutable_or_map() = m.lww_map();
  EXPECT_TRUE(Decode<ORMap>(as_or_map.SerializeAsString()).ok());
  EXPECT_EQ(Decode<ORMap>(Encode(lww)).status().message(),
            "expected an ORMap state, got an LWWMap");
}

TEST(CodecMalformedTest, BitFlipsOfRichCausalStates) {
  EXPECT_GT(FlipEveryBit<ORSet>(Encode(RichORSet())), 0);
  EXPECT_GT(FlipEveryBit<MVRegister>(Encode(RichMVRegister())), 0);
  EXPECT_GT(FlipEveryBit<ORMap>(Encode(RichORMap())), 0);
}

}  // namespace
}  // namespace convergent
