// Fragments (replica/fragments.h): a frame cut into pieces joins again in any order and despite
// duplicates; pieces that disagree, or a frame beyond max_reassembly_bytes, are dropped and
// counted; what is held stays within the bound; a refused piece goes first again after a pause.
#include "replica/fragments.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "replica/frame_codec.h"

namespace convergent::internal {
namespace {

ReplicatorOptions Small() {
  ReplicatorOptions o;
  o.max_frame_size = 1024;
  o.max_reassembly_bytes = 8 * 1024;
  return o;
}

std::string Payload(size_t n, char seed) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 61);
  return s;
}

std::shared_ptr<const internal::FrameRope> Shared(std::string frame) {
  return std::make_shared<const internal::FrameRope>(std::move(frame));
}

// The pieces of `frame` as the Fragmenter sends them to peer 2, decoded.
std::vector<FragmentMsg> Pieces(Fragmenter& f, const std::string& frame) {
  f.Split(1, ReplicaId{11}, 2, Shared(frame));
  std::vector<OutgoingFrame> out;
  for (TimeMicros t = 0; t < 1000; ++t) f.Release(t, out);
  std::vector<FragmentMsg> pieces;
  for (const OutgoingFrame& o : out) {
    EXPECT_LE(o.bytes.size(), 1024u);
    auto m = DecodeFrame(o.bytes);
    EXPECT_TRUE(m.ok());
    pieces.push_back(std::get<FragmentMsg>(m->body));
  }
  return pieces;
}

TEST(FragmentsTest, PiecesJoinInAnyOrderAndDespiteDuplicates) {
  ReplicatorOptions o = Small();
  ReplicatorMetrics metrics;
  Fragmenter out(o, metrics);
  Reassembler in(o, metrics);
  const std::string frame = Payload(5000, 'a');
  std::vector<FragmentMsg> pieces = Pieces(out, frame);
  ASSERT_GE(pieces.size(), 5u);
  pieces.push_back(pieces[1]);  // a duplicate
  std::shuffle(pieces.begin(), pieces.end(), std::mt19937_64(3));
  std::optional<std::string> whole;
  for (FragmentMsg& p : pieces) {
    auto got = in.Add(1, ReplicaId{11}, p, 0);
    if (got) {
      EXPECT_FALSE(whole);
      whole = std::move(got);
    }
  }
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, frame);
  EXPECT_EQ(in.held_bytes(), 0u);
  EXPECT_EQ(metrics.fragmented_dropped, 0u);
}

TEST(FragmentsTest, WhatIsHeldStaysWithinTheBoundAndBadPiecesAreDropped) {
  ReplicatorOptions o = Small();
  ReplicatorMetrics metrics;
  Fragmenter out(o, metrics);
  Reassembler in(o, metrics);
  // Two partial frames of 5 KB each (all pieces but the last): the bound is 8 KiB.
  for (char c : {'a', 'b'}) {
    std::vector<FragmentMsg> pieces = Pieces(out, Payload(5000, c));
    for (size_t i = 0; i + 1 < pieces.size(); ++i) in.Add(1, ReplicaId{11}, pieces[i], 0);
    EXPECT_LE(in.held_bytes(), o.max_reassembly_bytes);
  }
  EXPECT_GE(metrics.fragmented_dropped, 1u);  // the older partial frame went

  // A frame larger than the bound is refused outright, on both sides; so is a second large
  // frame to a peer while the first is queued.
  const uint64_t before = metrics.fragmented_dropped;
  out.Split(1, ReplicaId{11}, 2, Shared(Payload(9000, 'c')));
  EXPECT_EQ(metrics.fragmented_dropped, before + 1);
  out.Split(1, ReplicaId{11}, 3, Shared(Payload(3000, 'd')));
  out.Split(1, ReplicaId{11}, 3, Shared(Payload(3000, 'e')));
  EXPECT_EQ(metrics.fragmented_dropped, before + 2);
  FragmentMsg huge{99, 0, 10, 9000, "x"};
  EXPECT_FALSE(in.Add(1, ReplicaId{11}, huge, 0));
  EXPECT_EQ(metrics.fragmented_dropped, before + 3);

  // Pieces that disagree about the frame: dropped as malformed.
  FragmentMsg a{7, 0, 2, 2000, "hello"};
  FragmentMsg b{7, 1, 3, 2000, "world"};
  EXPECT_FALSE(in.Add(3, ReplicaId{5}, a, 0));
  EXPECT_FALSE(in.Add(3, ReplicaId{5}, b, 0));
  EXPECT_EQ(metrics.frames_malformed, 1u);

  // A count no sender makes (pieces of a few bytes): refused before anything is allocated.
  FragmentMsg many{8, 0, 4'000'000'000u, 4096, "x"};
  EXPECT_FALSE(in.Add(3, ReplicaId{5}, many, 0));
  EXPECT_EQ(metrics.frames_malformed, 2u);

  // Partial frames that stop growing are let go after 30 s.
  in.Expire(31'000'000);
  EXPECT_EQ(in.held_bytes(), 0u);
}

// A broadcast is one frame that every peer's queue shares, cut into pieces as they leave: no
// copy per peer, and it is let go of once the last peer has had its last piece.
TEST(FragmentsTest, PeersShareOneFrameAndLetGoOfItOnceSent) {
  ReplicatorOptions o = Small();
  ReplicatorMetrics metrics;
  Fragmenter out(o, metrics);
  std::shared_ptr<const internal::FrameRope> frame = Shared(Payload(5000, 'f'));
  out.Split(1, ReplicaId{11}, 2, frame);
  out.Split(1, ReplicaId{11}, 3, frame);
  EXPECT_EQ(frame.use_count(), 3);
  std::map<NodeId, Reassembler> in;
  std::map<NodeId, std::string> whole;
  for (TimeMicros t = 0; t < 100; ++t) {
    std::vector<OutgoingFrame> sent;
    out.Release(t, sent);
    for (const OutgoingFrame& o_frame : sent) {
      EXPECT_LE(o_frame.bytes.size(), 1024u);
      auto m = DecodeFrame(o_frame.bytes);
      ASSERT_TRUE(m.ok());
      auto [it, made] = in.try_emplace(*o_frame.to, o, metrics);
      if (auto got = it->second.Add(1, ReplicaId{11}, std::get<FragmentMsg>(m->body), t)) {
        whole[*o_frame.to] = std::move(*got);
      }
    }
  }
  EXPECT_EQ(whole[2], frame->Slice(0, frame->size()));
  EXPECT_EQ(whole[3], frame->Slice(0, frame->size()));
  EXPECT_EQ(frame.use_count(), 1);  // the queues let go of it
  EXPECT_EQ(out.NextDeadline(), std::numeric_limits<TimeMicros>::max());
  EXPECT_EQ(metrics.frames_fragmented, 2u);
}

TEST(FragmentsTest, ARefusedPieceGoesFirstAgainAfterAPause) {
  ReplicatorOptions o = Small();
  ReplicatorMetrics metrics;
  Fragmenter out(o, metrics);
  out.Split(1, ReplicaId{11}, 2, Shared(Payload(3000, 'a')));
  std::vector<OutgoingFrame> sent;
  out.Release(0, sent);
  ASSERT_EQ(sent.size(), 2u);
  const std::string refused = sent[1].bytes;
  out.Refused(std::move(sent[1]), 0);
  sent.clear();
  out.Release(500, sent);  // paused for 1 ms
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(out.NextDeadline(), 1000);
  out.Release(1000, sent);
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].bytes, refused);
}

}  // namespace
}  // namespace convergent::internal
