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
#include "replica/retired_deletes.h"
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
  // DeltaBatch (2) 12 20: entries (1) 0a 07 KeyedState { key (1) 0a 01 "k", state (2) 12 02 and
  // the empty GCounter envelope 0a 00 }; tombstones (2) 12 15 KeyTombstone { key 0a 01 "t",
  // type (2) 10 01 (GCounter), deleted_at_us (3) 18 ac 02 (300), dot_replicas (4, packed
  // fixed64) 22 08 + 3, dot_counters (5, packed) 2a 01 01 }. 9 + 23 = 32 = 0x20 bytes.
  const std::string hex =
      "09 0200000000000000  12 20  0a 07 0a016b 1202 0a00"
      "  12 15 0a0174 1001 18ac02 2208 0300000000000000 2a0101";
  DeltaBatchMsg batch;
  batch.entries.push_back(KeyedState{"k", EncodeAny(AnyCrdt(GCounter())), false, {}, 0});
  batch.tombstones.push_back(Tombstone{"t", CrdtType::kGCounter, 300, {Dot{ReplicaId{3}, 1}}});
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{2, batch, {}})), Hex(Unhex(hex)));
  auto back = DecodeFrame(Unhex(hex));
  ASSERT_TRUE(back.ok());
  const auto* b = std::get_if<DeltaBatchMsg>(&back->body);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->entries.size(), 1u);
  ASSERT_EQ(b->tombstones.size(), 1u);
  EXPECT_EQ(b->tombstones[0].deleted_at_us, 300u);
  EXPECT_EQ(b->tombstones[0].dots, (DeleteDots{Dot{ReplicaId{3}, 1}}));
}

TEST(WireGoldenTest, ADigestStepWithADeleteAdvertAndItsRetiredEntries) {
  // DigestStep (7) 3a 2d { round (1) 08 01, level (2) 10 01, deletes_seen (5) 2a 0d
  // VersionVector { replicas (1, packed fixed64) 0a 08 + 5, counters (2) 12 01 02 },
  // deletes_collected (6) 32 00 (empty, present), deletes_retired_digest (8, fixed64) 41 + the
  // digest of { 4: 3 }, deletes_retired (9) 4a 0d { 4: 3 } }; members 0 is not written.
  // The digest is part of the format: replicas of different versions compare it.
  const std::string hex =
      "09 0300000000000000  3a 2d 0801 1001  2a0d 0a08 0500000000000000 120102  3200"
      "  41 9438c3bb1d3f7553  4a0d 0a08 0400000000000000 120103";
  const CausalContext::VersionVector retired = {{ReplicaId{4}, 3}};
  EXPECT_EQ(RetiredDeletes::DigestOf(retired), 0x53753f1dbbc33894u);
  DigestStepMsg step{
      1, 1, {}, {}, DeleteAdvert{{{ReplicaId{5}, 2}}, {}, 0, 0x53753f1dbbc33894u, retired}};
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{3, step, {}})), Hex(Unhex(hex)));
  auto back = DecodeFrame(Unhex(hex));
  ASSERT_TRUE(back.ok());
  const auto* s = std::get_if<DigestStepMsg>(&back->body);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->deletes.has_value());
  EXPECT_EQ(s->deletes->seen, step.deletes->seen);
  EXPECT_TRUE(s->deletes->collected.empty());
  EXPECT_EQ(s->deletes->retired_digest, 0x53753f1dbbc33894u);
  EXPECT_EQ(s->deletes->retired, retired);
  // A retired vector out of order is refused with the frame (in order, it decodes).
  const std::string two =
      "09 0300000000000000  3a 36 0801 1001  2a0d 0a08 0500000000000000 "
      "120102  3200  41 9438c3bb1d3f7553  4a16 0a10 ";
  EXPECT_TRUE(DecodeFrame(Unhex(two + "0300000000000000 0400000000000000 12020103")).ok());
  EXPECT_FALSE(DecodeFrame(Unhex(two + "0400000000000000 0300000000000000 12020301")).ok());
}

TEST(WireGoldenTest, ADigestStepWithTheStandingOfItsSender) {
  // DigestStep (7) 3a 0a { round (1) 08 01, level (2) 10 01, deletes_seen (5) 2a 00,
  // deletes_collected (6) 32 00, deletes_unsure (11) 58 01 }; then deletes_fresh (12) 60 01.
  const std::string unsure_hex = "09 0300000000000000  3a 0a 0801 1001 2a00 3200 5801";
  const std::string fresh_hex = "09 0300000000000000  3a 0a 0801 1001 2a00 3200 6001";
  DigestStepMsg step{1, 1, {}, {}, DeleteAdvert{{}, {}, 0, 0, std::nullopt, true, false}};
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{3, step, {}})), Hex(Unhex(unsure_hex)));
  step.deletes = DeleteAdvert{{}, {}, 0, 0, std::nullopt, false, true};
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{3, step, {}})), Hex(Unhex(fresh_hex)));
  for (const auto& [hex, unsure] : {std::pair{unsure_hex, true}, std::pair{fresh_hex, false}}) {
    auto back = DecodeFrame(Unhex(hex));
    ASSERT_TRUE(back.ok());
    const auto* s = std::get_if<DigestStepMsg>(&back->body);
    ASSERT_TRUE(s != nullptr && s->deletes.has_value());
    EXPECT_EQ(s->deletes->unsure, unsure);
    EXPECT_EQ(s->deletes->fresh, !unsure);
  }
}

TEST(WireGoldenTest, ADigestStepWithItsDepthAndKeyDigestsWithTheirLevel) {
  // DigestStep (7) 3a 13 { round (1) 08 02, level (2) 10 03, nodes (3, packed) 1a 01 05,
  // digests (4, packed fixed64) 22 08 + 9, depth (10) 50 04 }.
  const std::string step_hex =
      "09 0300000000000000  3a 13 0802 1003 1a0105 2208 0900000000000000 5004";
  DigestStepMsg step{2, 3, {5}, {9}, std::nullopt, 4};
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{3, step, {}})), Hex(Unhex(step_hex)));
  auto back = DecodeFrame(Unhex(step_hex));
  ASSERT_TRUE(back.ok());
  ASSERT_NE(std::get_if<DigestStepMsg>(&back->body), nullptr);
  EXPECT_EQ(std::get<DigestStepMsg>(back->body).depth, 4u);
  // KeyDigests (8) 42 1e { round (1) 08 02, leaves (2, packed) 12 01 07, key_count (3) 1a 01 01,
  // key_hashes (4, packed fixed64) 22 08 + 10, key_digests (5) 2a 08 + 11, level (6) 30 02 }.
  const std::string keys_hex =
      "09 0300000000000000  42 1e 0802 120107 1a0101 2208 0a00000000000000"
      "  2a08 0b00000000000000 3002";
  KeyDigestsMsg keys{2, {7}, {1}, {10}, {11}, 2};
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{3, keys, {}})), Hex(Unhex(keys_hex)));
  back = DecodeFrame(Unhex(keys_hex));
  ASSERT_TRUE(back.ok());
  ASSERT_NE(std::get_if<KeyDigestsMsg>(&back->body), nullptr);
  EXPECT_EQ(std::get<KeyDigestsMsg>(back->body).level, 2u);
  // A depth or level past any tree's is refused with the frame.
  EXPECT_FALSE(DecodeFrame(Unhex("09 0300000000000000  3a 04 0801 5009")).ok());
  EXPECT_FALSE(DecodeFrame(Unhex("09 0300000000000000  42 04 0801 3009")).ok());
}

TEST(WireGoldenTest, ARepairWithAKeyWantedBackAndAKeysContext) {
  // Repair (9) 4a 35 { round (1) 08 04, wanted (4, packed fixed64) 22 08 + 12, since (5) 2a 27
  // KeyContext { key_hash (1, fixed64) 09 + 13, contiguous (2) 12 0d VersionVector { replicas
  // (1, packed fixed64) 0a 08 + 5, counters (2, packed) 12 01 07 }, cloud_replicas (3, packed
  // fixed64) 1a 08 + 6, cloud_counters (4, packed) 22 01 09, reply (5) 28 01 } }.
  const std::string hex =
      "09 0400000000000000  4a 35 0804 2208 0c00000000000000"
      "  2a 27 09 0d00000000000000 120d 0a08 0500000000000000 120107"
      "  1a08 0600000000000000 220109 2801";
  auto ctx = CausalContext::FromParts({{ReplicaId{5}, 7}}, {Dot{ReplicaId{6}, 9}});
  ASSERT_TRUE(ctx.ok());
  RepairMsg repair{4, {}, {}, {12}, {KeyContextMsg{13, *ctx, true}}};
  EXPECT_EQ(Hex(EncodeFrame(FrameMsg{4, repair, {}})), Hex(Unhex(hex)));
  auto back = DecodeFrame(Unhex(hex));
  ASSERT_TRUE(back.ok());
  const auto* r = std::get_if<RepairMsg>(&back->body);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->since.size(), 1u);
  EXPECT_EQ(r->since[0].key_hash, 13u);
  EXPECT_EQ(r->since[0].context, *ctx);
  EXPECT_TRUE(r->since[0].reply);
  // A context out of its compact form (the cloud dot (6, 1) belongs in the vector) is refused
  // with the frame.
  const auto bad =
      DecodeFrame(Unhex("09 0400000000000000  4a 1a 0804  2a 16 09 0d00000000000000"
                        "  1a08 0600000000000000 220101"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("key context"), std::string::npos)
      << bad.status().message();
}

TEST(WireGoldenTest, AHeartbeatAndABusHeader) {
  // 'H' (48), then Heartbeat { sender (1) 0a 0d MemberInfo { id (1) 08 02, name (2) 12 01 "a",
  // incarnation (3) 18 03, bus_url (4) 22 01 "b", p2p_url (5) 2a 01 "c" }, losses (3) 1a 0d
  // LossReport { sender (1, fixed64) 09 + 4, incarnation (2) 10 05, frames_lost (3) 18 06 } }.
  const std::string hex =
      "48  0a 0d 0802 120161 1803 220162 2a0163  1a 0d 09 0400000000000000 1005 1806";
  HeartbeatMsg h;
  h.sender = MemberRecord{2, "a", 3, "b", "c", "", false, 0, ""};
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
  // (3) 18 ac 02 } }; the key is the record's name, not written. (A tombstone of an earlier
  // version: no delete dots.)
  const std::string tomb = Unhex("12 05 1004 18ac02");
  EXPECT_EQ(Hex(EncodeTombstoneRecord(Tombstone{"gone", CrdtType::kORSet, 300, {}})), Hex(tomb));
  auto back = DecodeRecord("gone", tomb);
  ASSERT_TRUE(back.ok());
  const auto* t = std::get_if<Tombstone>(&*back);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->key, "gone");
  EXPECT_EQ(t->type, CrdtType::kORSet);
  EXPECT_TRUE(t->dots.empty());

  // The deletes record (named ""): SnapshotDeletes { seen (1) 0a 0d VersionVector { replicas (1,
  // packed fixed64) 0a 08 + 7, counters (2) 12 01 05 }, seen cloud: replica (2) 12 08 + 7,
  // counter (3) 1a 01 09, collected (4) 22 0d { 7: 2 } }.
  const std::string deletes = Unhex(
      "0a0d 0a08 0700000000000000 120105  1208 0700000000000000 1a0109"
      "  220d 0a08 0700000000000000 120102");
  const ReplicaId r{7};
  auto seen = CausalContext::FromParts({{r, 5}}, {Dot{r, 9}});
  auto floor = CausalContext::FromParts({{r, 2}}, {});
  ASSERT_TRUE(seen.ok() && floor.ok());
  EXPECT_EQ(Hex(EncodeDeletesRecord(DeletesRecord{*seen, *floor, 0, {}})), Hex(deletes));
  auto record = DecodeRecord(kDeletesRecord, deletes);
  ASSERT_TRUE(record.ok());
  const auto* d = std::get_if<DeletesRecord>(&*record);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->seen, *seen);
  EXPECT_EQ(d->collected, *floor);
  // With retired entries (6) 32 0d { 7: 2 } (replica/retired_deletes.h).
  const std::string with_retired = deletes + Unhex("320d 0a08 0700000000000000 120102");
  EXPECT_EQ(Hex(EncodeDeletesRecord(DeletesRecord{*seen, *floor, 0, {{r, 2}}})), Hex(with_retired));
  auto retired = DecodeRecord(kDeletesRecord, with_retired);
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(std::get<DeletesRecord>(*retired).retired, (CausalContext::VersionVector{{r, 2}}));
  // Out of compact form (the cloud dot within the vector's range): refused.
  EXPECT_FALSE(DecodeRecord(kDeletesRecord, Unhex("0a0d 0a08 0700000000000000 120105  1208 "
                                                  "0700000000000000 1a0103"))
                   .ok());
}

}  // namespace
}  // namespace convergent::internal
