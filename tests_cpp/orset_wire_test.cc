// Tests of the ORSet wire reader and writer (codec/orset_wire.h), which skip protobuf's message
// objects: on hand-made encodings that exercise protobuf's parsing rules (unpacked repeated
// fields, a sub-message in several pieces, unknown fields of every wire type, the oneof switching,
// truncation, over-long varints) they must accept and read exactly what protobuf does
// (fuzz/orset_wire_check.h, also run by the ORSet fuzzer), and every state's encoding must be
// protobuf's deterministic serialization.
#include "codec/orset_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "convergent/codec.h"
#include "convergent/v1/crdt.pb.h"
#include "crdt_test_support.h"
#include "fuzz/orset_wire_check.h"

namespace convergent {
namespace {

using fuzz::WireDisagreement;

// ---- A tiny protobuf writer for hand-made inputs ----
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Key(uint32_t field, uint32_t wire_type) { return Varint((field << 3) | wire_type); }
std::string Delimited(uint32_t field, const std::string& payload) {
  return Key(field, 2) + Varint(payload.size()) + payload;
}
std::string Fixed64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}
std::string Envelope(const std::string& orset_state) { return Delimited(4, orset_state); }
// Raw bytes, zeros included.
template <size_t N>
std::string Raw(const char (&bytes)[N]) {
  return std::string(bytes, N - 1);
}

// One element "a" with dot (replica 7, counter 3), and a context holding (7, 1..3).
const std::string kReplicas = Delimited(1, Fixed64(7));
const std::string kContext = Delimited(2, Delimited(1, Varint(0)) + Delimited(2, Varint(3)));
const std::string kElement = Delimited(3,
                                       "\xa1"
                                       "a");
const std::string kDots = Delimited(5, Varint(0)) + Delimited(6, Varint(3));

bool Accepted(const std::string& bytes) {
  internal::ORSetFields w;
  return internal::ParseORSetEnvelope(bytes, &w).ok();
}

TEST(ORSetWireTest, ACanonicalEncodingIsReadAsProtobufReadsIt) {
  const std::string bytes = Envelope(kReplicas + kContext + kElement + kDots);
  EXPECT_EQ(WireDisagreement(bytes), "");
  ASSERT_TRUE(Accepted(bytes));
  Result<ORSet> s = Decode<ORSet>(bytes);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Encode(s.value()), bytes);
}

TEST(ORSetWireTest, OtherLegalLayoutsAreReadAsProtobufReadsThem) {
  const std::vector<std::string> inputs = {
      // Unpacked repeated scalars, fields out of order.
      Envelope(Key(6, 0) + Varint(3) + Key(5, 0) + Varint(0) + kElement + Key(1, 1) + Fixed64(7) +
               kContext),
      // The context in two pieces (protobuf merges them), and a packed run split in two.
      Envelope(kReplicas + Delimited(2, Delimited(1, Varint(0))) +
               Delimited(2, Delimited(2, Varint(3))) + kElement + Delimited(5, Varint(0)) +
               Delimited(6, "") + Delimited(6, Varint(3))),
      // Unknown fields of every wire type, a group with a nested group, in both messages and the
      // envelope, and a known field with an unexpected wire type (kept as unknown).
      Key(99, 0) + Varint(5) +
          Envelope(Key(50, 1) + Fixed64(1) + Key(51, 5) + "abcd" + Key(52, 3) + Key(53, 3) +
                   Key(53, 4) + Key(52, 4) + Delimited(54, "xyz") + Key(3, 0) + Varint(1) +
                   kReplicas + kContext + kElement + kDots) +
          Delimited(100, "zz"),
      // The oneof: a GCounter state first, then the ORSet (the last one wins).
      Delimited(1, Delimited(1, Fixed64(7))) + Envelope(kReplicas + kContext + kElement + kDots),
      // An ORSet, another state, then an ORSet again: only the last ORSet counts.
      Envelope(kReplicas + kElement) + Delimited(2, "") +
          Envelope(kReplicas + kContext + kElement + kDots),
      // Over-long but legal varints: a 10-byte counter, a 5-byte tag and length.
      Envelope(kReplicas + kContext + kElement + Delimited(5, Varint(0)) + Key(6, 2) + Varint(10) +
               Raw("\x83\x80\x80\x80\x80\x80\x80\x80\x80\x00")),
      Raw("\xa2\x80\x80\x80\x00") + Varint(0),  // a 5-byte tag (field 4) of an empty state
      Raw("\x22\x82\x80\x80\x80\x00") + Key(2, 2) + Varint(0),  // a 5-byte length
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(WireDisagreement(inputs[i]), "") << "input " << i;
    EXPECT_TRUE(Accepted(inputs[i])) << "input " << i;
  }
  // The over-long counter decodes to the canonical state.
  Result<ORSet> s = Decode<ORSet>(inputs[5]);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Encode(s.value()), Envelope(kReplicas + kContext + kElement + kDots));
}

TEST(ORSetWireTest, MalformedLayoutsAreRejectedAsProtobufRejectsThem) {
  const std::string good = kReplicas + kContext + kElement + kDots;
  const std::vector<std::string> inputs = {
      Envelope(good).substr(0, 10),                                // truncated
      Envelope(good + Key(5, 2) + Varint(40) + Varint(1)),         // a packed run past the end
      Envelope(Delimited(2, Key(1, 2) + Varint(9)) + good),        // a run past its message
      Envelope(Key(2, 2) + Varint(50) + Delimited(1, Varint(0))),  // a message past its parent
      Envelope(Key(1, 2) + Varint(7) + "1234567"),  // fixed64 run not a multiple of 8
      Envelope(good + Key(0, 0) + Varint(1)),       // field number 0
      Envelope(good) + std::string(1, '\0'),        // a 0 tag
      Envelope(good + Key(60, 4)),                  // an unmatched end-group
      Envelope(good + Key(61, 3)),                  // an unterminated group
      Envelope(good + Key(62, 6)),                  // wire type 6
      Envelope(good + Raw("\x80\x80\x80\x80\x80\x01") + Varint(0)),    // a 6-byte tag
      Envelope(good + Key(63, 0) + std::string(10, '\xff') + "\x01"),  // an 11-byte varint
      Raw("\x22\x80\x80\x80\x80\x08"),                                 // a length of 2 GiB
      Envelope(good + Key(3, 2) + Raw("\x81\x80\x80\x80\x80\x00")),    // a 6-byte length
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(WireDisagreement(inputs[i]), "") << "input " << i;
    EXPECT_FALSE(Accepted(inputs[i])) << "input " << i;
  }
}

// Every state's encoding is protobuf's deterministic serialization of its fields, and reads
// back to those fields.
TEST(ORSetWireTest, EncodingsOfRandomStatesAgreeWithProtobuf) {
  test::ForEachSeed(200, [](test::Rng& rng, int) {
    std::vector<ORSet> replicas(3);
    for (int op = 0; op < 40; ++op) {
      const size_t r = test::Uniform(rng, 0, 2);
      const Value v = test::UintValue(test::Uniform(rng, 0, 9));
      switch (test::Uniform(rng, 0, 3)) {
        case 0:
        case 1:
          replicas[r].Add(test::TestReplica(r), v);
          break;
        case 2:
          replicas[r].Remove(v);
          break;
        default:
          replicas[r].Join(replicas[test::Uniform(rng, 0, 2)]);
      }
      const std::string bytes = Encode(replicas[r]);
      ASSERT_EQ(WireDisagreement(bytes), "");
    }
  });
}

// The encoder writes a state straight from its sorted entries (SortedSetStore, which sorts by 8
// bytes past what every element shares, then by the whole bytes): its bytes must be those the
// array writer (checked against protobuf above) writes from the state's fields in element
// order. Elements of one shape share long starts, some are starts of others, and many agree in
// the 8 bytes compared first.
TEST(ORSetWireTest, TheEncoderWritesWhatTheArrayWriterWrites) {
  test::ForEachSeed(200, [](test::Rng& rng, int) {
    ORSet a, b;
    const std::string stem = std::string(test::Uniform(rng, 0, 12), 'k');
    for (int i = 0; i < 60; ++i) {
      std::string name = stem;
      for (uint64_t k = test::Uniform(rng, 0, 14); k > 0; --k) {
        name.push_back(static_cast<char>('0' + test::Uniform(rng, 0, 2)));
      }
      ORSet& to = test::Uniform(rng, 0, 3) == 0 ? b : a;
      to.Add(test::TestReplica(&to == &b ? 1 : 0), StringValue(name));
      if (test::Uniform(rng, 0, 9) == 0) to.Remove(StringValue(name));
    }
    a.Join(b);  // some elements with two dots, a cloud in the context
    const std::string bytes = Encode(a);
    internal::ORSetFields fields;
    ASSERT_TRUE(internal::ParseORSetEnvelope(bytes, &fields).ok());
    std::vector<Value> elements = a.Elements();
    const internal::ORSetWire w{fields.replicas, fields.context, fields.store.Collect()};
    ASSERT_EQ(w.store.elements.size(), elements.size());
    for (size_t i = 0; i < elements.size(); ++i) {
      EXPECT_EQ(w.store.elements[i], elements[i].bytes()) << "element " << i;
    }
    EXPECT_EQ(internal::WriteORSetEnvelope(w), bytes);
    EXPECT_EQ(WireDisagreement(bytes), "");
  });
}

// A store with more values than the reader keeps in arrays (SetStoreFields::kMostHeld) is read
// where it lies: in the canonical layout, and in one where every field comes unpacked, the
// fields interleave element by element with unknown fields between, and the state is split in
// two pieces. Both read as protobuf reads them and decode to the same set.
TEST(ORSetWireTest, AStoreTooLargeForArraysIsReadInPlaceAsProtobufReadsIt) {
  ORSet a, b;
  for (uint64_t i = 0; i < 100; ++i) {
    a.Add(test::TestReplica(0), test::UintValue(i));
    if (i % 3 == 0) b.Add(test::TestReplica(1), test::UintValue(i));  // two dots
  }
  a.Join(b);
  const std::string canonical = Encode(a);
  v1::Crdt msg;
  ASSERT_TRUE(msg.ParseFromString(canonical));
  const v1::ORSetState& m = msg.or_set();
  ASSERT_GT(m.dot_count_size(), 0);
  std::string first = Delimited(1, "");
  for (uint64_t r : m.replicas()) first += Key(1, 1) + Fixed64(r);
  first += Delimited(2, m.context().SerializeAsString());
  std::string second;
  int dot = 0;
  for (int i = 0; i < m.elements_size(); ++i) {
    std::string& part = i < m.elements_size() / 2 ? first : second;
    part += Delimited(3, m.elements(i)) + Key(4, 0) + Varint(m.dot_count(i));
    if (i % 7 == 0) part += Key(50, 0) + Varint(1);  // unknown
    for (uint32_t k = 0; k < m.dot_count(i); ++k, ++dot) {
      part += Key(5, 0) + Varint(m.dot_replica(dot)) + Key(6, 0) + Varint(m.dot_counter(dot));
    }
  }
  const std::string scattered = Envelope(first) + Envelope(second);
  for (const std::string& bytes : {canonical, scattered}) {
    EXPECT_EQ(WireDisagreement(bytes), "");
    internal::ORSetFields fields;
    ASSERT_TRUE(internal::ParseORSetEnvelope(bytes, &fields).ok());
    EXPECT_FALSE(fields.store.held);
    Result<ORSet> decoded = Decode<ORSet>(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded.value(), a);
  }
  // A store within the limit is kept in arrays (and the check above compares them too).
  internal::ORSetFields small;
  ASSERT_TRUE(
      internal::ParseORSetEnvelope(Envelope(kReplicas + kContext + kElement + kDots), &small).ok());
  EXPECT_TRUE(small.store.held);
}

// EncodeAnyTo gives an ORSet's bytes in pieces of at most 64 KiB (an element longer than that
// alone), written field after field, and they are Encode's bytes: on small random sets, and on
// a large one with two-dot elements, removes and elements of 100 KiB. Other types come whole.
TEST(ORSetWireTest, EncodingInPiecesGivesEncodesBytes) {
  auto pieces_of = [](const AnyCrdt& v, size_t* largest, size_t* count) {
    std::string joined;
    *largest = 0;
    *count = 0;
    EncodeAnyTo(v, [&](std::string_view piece) {
      joined.append(piece);
      *largest = std::max(*largest, piece.size());
      ++*count;
    });
    return joined;
  };
  size_t largest = 0, count = 0;
  test::ForEachSeed(100, [&](test::Rng& rng, int) {
    ORSet a, b;
    for (int i = 0; i < 30; ++i) {
      ORSet& to = test::Uniform(rng, 0, 2) == 0 ? b : a;
      const Value v = test::UintValue(test::Uniform(rng, 0, 40));
      to.Add(test::TestReplica(&to == &b ? 1 : 0), v);
      if (test::Uniform(rng, 0, 5) == 0) to.Remove(v);
    }
    a.Join(b);
    EXPECT_EQ(pieces_of(AnyCrdt(a), &largest, &count), Encode(a));
  });
  ORSet big, other;
  for (int i = 0; i < 20000; ++i) {
    big.Add(test::TestReplica(0), StringValue("element-" + std::to_string(i * 7919 % 20000)));
    if (i % 5 == 0) other.Add(test::TestReplica(1), StringValue("element-" + std::to_string(i)));
    if (i % 11 == 0) big.Remove(StringValue("element-" + std::to_string(i)));
  }
  big.Add(test::TestReplica(0), StringValue(std::string(100 * 1024, 'x')));
  big.Add(test::TestReplica(0), StringValue(std::string(100 * 1024, 'y')));
  big.Join(other);
  const std::string whole = Encode(big);
  ASSERT_GT(whole.size(), 500u * 1024);
  EXPECT_EQ(pieces_of(AnyCrdt(big), &largest, &count), whole);
  EXPECT_GT(count, 8u);
  EXPECT_LT(largest, 101u * 1024);  // the 100 KiB elements alone; the rest in 64 KiB chunks
  GCounter c;
  c.Increment(test::TestReplica(0), 3);
  EXPECT_EQ(pieces_of(AnyCrdt(c), &largest, &count), Encode(c));
  EXPECT_EQ(count, 1u);
}

}  // namespace
}  // namespace convergent
