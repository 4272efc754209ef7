// Golden encodings of tiny states, derived by hand from the protobuf wire format and
// proto/convergent/v1/crdt.proto, so a change of the wire format cannot pass unnoticed.
//
// How the bytes are derived. A field starts with its tag, the varint (field_number << 3) |
// wire_type, wire types 0 (varint), 1 (fixed64, little-endian) and 2 (length-delimited: a varint
// length, then that many bytes). Repeated scalars are packed (proto3): one length-delimited field
// holding the values back to back. Fields with default values (0, empty) are not written.
// Every state is wrapped in the Crdt envelope, whose field number is the type: g_counter = 1
// (tag 0a), pn_counter = 2 (12), lww_register = 3 (1a), or_set = 4 (22), flag = 6 (32),
// mv_register = 7 (3a), g_set = 8 (42), or_map = 5 (2a), pn_counter_map = 10 (52), and an ORSet
// of one element under one dot in its one-dot form, or_set_dot = 12 (62). Replica ids here
// are 1 and 2, written as fixed64: 01 00 00 00 00 00 00 00. Values are canonical msgpack: the
// integer 7 is 07, "a" is a1 61.
#include <gtest/gtest.h>

#include <string>

#include "codec_test_support.h"
#include "convergent/codec.h"

namespace convergent {
namespace {

using test::Hex;
using test::Unhex;

const ReplicaId kR1{1};
const ReplicaId kR2{2};

// Encode(state) must give exactly `hex`, and decoding `hex` must give the state back.
template <typename T>
void ExpectGolden(const T& state, std::string_view hex) {
  const std::string want = Hex(Unhex(hex));
  EXPECT_EQ(Hex(Encode(state)), want);
  Result<T> back = Decode<T>(Unhex(hex));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back.value() == state);
}

TEST(CodecGoldenTest, EmptyStatesAreTheirEnvelopeField) {
  // A set oneof field is written even when its message is empty: tag, length 0.
  ExpectGolden(GCounter(), "0a 00");
  ExpectGolden(PNCounter(), "12 00");
  ExpectGolden(LWWRegister(), "1a 00");
  ExpectGolden(ORSet(), "22 00");
  ExpectGolden(Flag(), "32 00");
  ExpectGolden(MVRegister(), "3a 00");
  ExpectGolden(GSet(), "42 00");
}

TEST(CodecGoldenTest, GCounter) {
  // GCounterState: replicas (1, packed fixed64): 0a 08 + id 1; counts (2, packed varint):
  // 12 01 05. 10 + 3 = 13 = 0x0d bytes, in the envelope 0a 0d.
  GCounter c;
  c.Increment(kR1, 5);
  ExpectGolden(c, "0a 0d  0a 08 0100000000000000  12 01 05");
}

TEST(CodecGoldenTest, PNCounter) {
  // increments (1): GCounterState {1: 2} = 0a 08 <id 1> 12 01 02 (13 bytes) -> 0a 0d ...
  // decrements (2): GCounterState {2: 300} = 0a 08 <id 2> 12 02 ac 02 (300 = varint ac 02,
  // 14 bytes) -> 12 0e ... The PNCounterState is 15 + 16 = 31 = 0x1f bytes.
  PNCounter c;
  c.Increment(kR1, 2);
  c.Decrement(kR2, 300);
  ExpectGolden(c,
               "12 1f  0a 0d 0a 08 0100000000000000 12 01 02"
               "       12 0e 0a 08 0200000000000000 12 02 ac02");
}

TEST(CodecGoldenTest, LWWRegister) {
  // value (1, bytes): 0a 01 07; timestamp (2, varint): 10 03; replica (3, fixed64): 19 + id 2.
  // 3 + 2 + 9 = 14 = 0x0e bytes.
  ExpectGolden(LWWRegister::FromParts(IntValue(7), 3, kR2),
               "1a 0e  0a 01 07  10 03  19 0200000000000000");
}

TEST(CodecGoldenTest, Flag) {
  // enabled (1, varint): 08 01.
  ExpectGolden(Flag(true), "32 02 08 01");
}

TEST(CodecGoldenTest, GSet) {
  // elements (1, repeated bytes, not packed), ascending by bytes: 01 before a1 61.
  GSet s;
  s.Add(StringValue("a"));
  s.Add(IntValue(1));
  ExpectGolden(s, "42 07  0a 01 01  0a 02 a161");
}

TEST(CodecGoldenTest, ORSetFirstAddIsItsOneDotForm) {
  // Replica 1's first add of "a": store {"a": {(1,1)}}, context {(1,1)}: one element under one
  // dot, and the context only that dot. The envelope's or_set_dot (field 12, tag 62) holds the
  // dot's replica (8 bytes, little-endian), its counter minus 1 (the varint 00) and the element:
  // 8 + 1 + 2 = 11 = 0x0b bytes.
  ORSet s;
  s.Add(kR1, StringValue("a"));
  ExpectGolden(s, "62 0b  0100000000000000 00 a161");
}

TEST(CodecGoldenTest, ORSetAddDeltaIsItsOneDotForm) {
  // The delta of replica 1's second add ("b"): store {"b": {(1,2)}}, context {(1,2)} (a cloud
  // dot): the one-dot form, counter 2 written as 01.
  ORSet s;
  s.Add(kR1, StringValue("a"));
  const ORSet delta = s.Add(kR1, StringValue("b"));
  ExpectGolden(delta, "62 0b  0100000000000000 01 a162");
}

TEST(CodecGoldenTest, ORSetOfTwoAdds) {
  // Replica 1 adds "a" then "b": store {"a": {(1,1)}, "b": {(1,2)}}, context vv {1: 2}.
  //   replicas (1):         0a 08 <id 1>                              10 bytes
  //   context (2):          12 06 [vv_replica (1): 0a 01 00 (index 0)
  //                                vv_counter (2): 12 01 02]          8 bytes
  //   elements (3):         1a 02 a1 61  1a 02 a1 62                  8 bytes
  //   dot_count (4):        left out: every element has one dot
  //   dot_replica (5):      2a 02 00 00                               4 bytes
  //   dot_counter (6):      32 02 01 02                               4 bytes
  // 34 = 0x22 bytes; 36 with the envelope.
  ORSet s;
  s.Add(kR1, StringValue("a"));
  s.Add(kR1, StringValue("b"));
  ExpectGolden(s,
               "22 22  0a 08 0100000000000000  12 06 0a0100 120102  1a 02 a161  1a 02 a162"
               "  2a 02 0000  32 02 0102");
}

TEST(CodecGoldenTest, AOneDotSetInTheGeneralFormIsReadToo) {
  // What protobuf's or_set field says of replica 1's first add of "a" (as encoders before the
  // one-dot form wrote it) decodes to the same set, which encodes in its one-dot form.
  ORSet s;
  s.Add(kR1, StringValue("a"));
  Result<ORSet> back = Decode<ORSet>(
      Unhex("22 1c  0a 08 0100000000000000  12 06 0a0100 120101  1a 02 a161  2a 01 00  32 01 01"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back.value() == s);
}

TEST(CodecGoldenTest, ORSetElementWithTwoDots) {
  // Replicas 1 and 2 add "a" concurrently, then join: "a" -> {(1,1), (2,1)}, vv {1: 1, 2: 1}.
  //   replicas:     0a 10 <id 1> <id 2>                                   18 bytes
  //   context:      12 08 [0a 02 00 01 (indices), 12 02 01 01 (counters)] 10 bytes
  //   elements:     1a 02 a1 61                                           4 bytes
  //   dot_count:    22 01 02 (written: an element has two dots)           3 bytes
  //   dot_replica:  2a 02 00 01                                           4 bytes
  //   dot_counter:  32 02 01 01                                           4 bytes
  // 43 = 0x2b bytes.
  ORSet s;
  s.Add(kR1, StringValue("a"));
  ORSet t;
  t.Add(kR2, StringValue("a"));
  s.Join(t);
  ExpectGolden(s,
               "22 2b  0a 10 0100000000000000 0200000000000000  12 08 0a020001 12020101"
               "  1a 02 a161  22 01 02  2a 02 0001  32 02 0101");
}

TEST(CodecGoldenTest, ORSetRemoveDeltaCarriesItsCloud) {
  // Replica 1 adds "a" twice (the second add replaces dot (1,1) by (1,2)), then removes it: the
  // remove's delta is an empty store with context {(1,2)}, a cloud dot the store does not hold.
  //   replicas: 0a 08 <id 1>; context: 12 06 [cloud_replica (3): 1a 01 00,
  //   cloud_counter (4): 22 01 02]. 18 = 0x12 bytes.
  ORSet s;
  s.Add(kR1, StringValue("a"));
  s.Add(kR1, StringValue("a"));
  const ORSet delta = s.Remove(StringValue("a"));
  ExpectGolden(delta, "22 12  0a 08 0100000000000000  12 06 1a0100 220102");
}

TEST(CodecGoldenTest, MVRegister) {
  // Replica 1 writes 42 (2a): dot (1,1), vv {1: 1}.
  //   replicas: 0a 08 <id 1>; context: 12 06 0a0100 120101; values (3): 1a 01 2a;
  //   dot_replica (4): 22 01 00; dot_counter (5): 2a 01 01. 27 = 0x1b bytes.
  MVRegister r;
  r.Set(kR1, IntValue(42));
  ExpectGolden(r,
               "3a 1b  0a 08 0100000000000000  12 06 0a0100 120101  1a 01 2a  22 01 00"
               "  2a 01 01");
}

TEST(CodecGoldenTest, ORMapWithAFlag) {
  // Replica 1 enables the flag at key "k" (a1 6b): dot (1,1), vv {1: 1}.
  //   replicas: 0a 08 <id 1>                                             10 bytes
  //   context:  12 06 0a0100 120101                                      8 bytes
  //   entries (3): 1a 12 MapEntryState {
  //     key (1): 0a 02 a1 6b
  //     parts (2): 12 0c MapPart {
  //       type (1): 08 06 (Flag)
  //       flag (6): 32 08 FlagPart { dots (1): 0a 06 DotList { 0a 01 00, 12 01 01 } } } }
  //                                                                      20 bytes
  // 38 = 0x26 bytes.
  ORMap m;
  ASSERT_TRUE(m.EnableFlag(kR1, StringValue("k")).ok());
  ExpectGolden(m,
               "2a 26  0a 08 0100000000000000  12 06 0a0100 120101"
               "  1a 12 0a02a16b 120c 0806 3208 0a06 0a0100 120101");
}

TEST(CodecGoldenTest, PNCounterMap) {
  // Replica 1 adds 5 at key "k": a PNCounter part (type 2) holding (increments 5, decrements 0)
  // under dot (1,1).
  //   parts (2): 12 12 MapPart {
  //     type (1): 08 02
  //     counter (2): 12 0e CounterPart { dots (1): 0a 06 [0a 01 00, 12 01 01],
  //                                      increments (2): 12 01 05, decrements (3): 1a 01 00 } }
  //   the entry: 1a 18 [0a 02 a1 6b, the part]; the state: 10 + 8 + 26 = 44 = 0x2c bytes.
  PNCounterMap m;
  m.Increment(kR1, StringValue("k"), 5);
  ExpectGolden(m,
               "52 2c  0a 08 0100000000000000  12 06 0a0100 120101"
               "  1a 18 0a02a16b 1212 0802 120e 0a06 0a0100 120101 120105 1a0100");
}

}  // namespace
}  // namespace convergent
