// Golden bytes of the messages between nodes and of snapshot records, derived by hand from the
// protobuf wire format (see codec_golden_test.cc for how) and proto/convergent/v1/
// {replication,node,snapshot}.proto, so that no change of the wire format between nodes of
// different versions, or of the records on disk, passes unnoticed.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "codec_test_support.h"
#include "convergent/codec.h"
#include "node/node_codec.h"
#include "replica/frame_codec.h"
#include "replica/snapshot_codec.h"

namespace convergent::internal {
namespace {

using test::Hex;
using test::Unhex;

TEST(WireGoldenTest, AWriteAckFrame) {
  // Frame: from_node (1, fixed64) 09 + 1 as 8 bytes; write_ack (4, length-delimited) 22 04:
  // WriteAck { request_id (1) 08 05, deleted (3) 18 01 }; an empty error is not written.
  const std::string hex = "09 0100000000000000  22 04 0805 1801";
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{1, WriteAckMsg{5, "", true}, {}})), Hex(Unhex(hex)));
  auto back = DecodeFrame(Unhex(hex));
  ASSERT_TRUE(back.ok());
  const auto* ack = std::get_if<WriteAckMsg>(&back->body);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(back->from, 1u);
  EXPECT_EQ(ack->request_id, 5u);
  EXPECT_TRUE(ack->deleted);
  EXPECT_EQ(PeekFrameKind(Unhex(hex)), FrameKind::kWriteAck);
}

TEST(WireGoldenTest, ADeltaBatchFrameWithAnEntryAndATombstone) {
  // DeltaBatch (2) 12 13: entries (1) 0a 07 KeyedState { key (1) 0a 01 "k", state (2) 12 02 and
  // the empty GCounter envelope 0a 00 }; tombstones (2) 12 08 KeyTombstone { key 0a 01 "t",
  // type (2) 10 01 (GCounter), deleted_at_us (3) 18 ac 02 (300) }. 9 + 10 = 19 = 0x13 bytes.
  const std::string hex =
      "09 0200000000000000  12 13  0a 07 0a016b 1202 0a00  12 08 0a0174 1001 18ac02";
  DeltaBatchMsg batch;
  batch.entries.push_back(KeyedState{"k", EncodeAny(AnyCrdt(GCounter())), false, {}});
  batch.tombstones.push_back(Tombstone{"t", CrdtType::kGCounter, 300});
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{2, batch, {}})), Hex(Unhex(hex)));
  auto back = DecodeFrame(Unhex(hex));
  ASSERT_TRUE(back.ok());
  const auto* b = std::get_if<DeltaBatchMsg>(&back->body);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->entries.size(), 1u);
  ASSERT_EQ(b->tombstones.size(), 1u);
  EXPECT_EQ(b->tombstones[0].deleted_at_us, 300u);
}

TEST(WireGoldenTest, AHeartbeatAndABusHeader) {
  // 'H' (48), then Heartbeat { sender (1) 0a 0d MemberInfo { id (1) 08 02, name (2) 12 01 "a",
  // incarnation (3) 18 03, bus_url (4) 22 01 "b", p2p_url (5) 2a 01 "c" }, losses (3) 1a 0d
  // LossReport { sender (1, fixed64) 09 + 4, incarnation (2) 10 05, frames_lost (3) 18 06 } }.
  const std::string hex =
      "48  0a 0d 0802 120161 1803 220162 2a0163  1a 0d 09 0400000000000000 1005 1806";
  HeartbeatMsg h;
  h.sender = MemberRecord{2, "a", 3, "b", "c", "", false, 0};
  h.losses.push_back(LossReport{4, 5, 6});
  EXPECT_EQ(Hex(EncodeHeartbeatFrame(h)), Hex(Unhex(hex)));
  auto back = DecodeHeartbeat(Unhex(hex).substr(1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->sender.bus_url, "b");
  ASSERT_EQ(back->losses.size(), 1u);
  EXPECT_EQ(back->losses[0].frames_lost, 6u);

  // A bus header: 'B' (42) and sender, incarnation and number as little-endian 64-bit words.
  std::string header;
  AppendBusHeader(BusHeader{0x0102, 7, 9}, &header);
  EXPECT_EQ(Hex(header), Hex(Unhex("42 0201000000000000 0700000000000000 0900000000000000")));
  std::string_view rest;
  const std::string frame = header + "R";
  auto decoded = DecodeBusHeader(frame, &rest);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->seq, 9u);
  EXPECT_EQ(rest, "R");
}

TEST(WireGoldenTest, SnapshotRecords) {
  // SnapshotRecord { state (1) 0a 02 and the empty GCounter envelope 0a 00 }.
  EXPECT_EQ(Hex(EncodeStateRecord(AnyCrdt(GCounter()), nullptr)), Hex(Unhex("0a 02 0a00")));
  // SnapshotRecord { tombstone (2) 12 05 KeyTombstone { type (2) 10 04 (ORSet), deleted_at_us
  // (3) 18 ac 02 } }; the key is the record's name, not written.
  const std::string tomb = Unhex("12 05 1004 18ac02");
  EXPECT_EQ(Hex(EncodeTombstoneRecord(CrdtType::kORSet, 300)), Hex(tomb));
  auto back = DecodeRecord("gone", tomb);
  ASSERT_TRUE(back.ok());
  const auto* t = std::get_if<Tombstone>(&*back);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->key, "gone");
  EXPECT_EQ(t->type, CrdtType::kORSet);
}

}  // namespace
}  // namespace convergent::internal
