// Tests of FrameRope (replica/frame_rope.h) and EncodeFrameRope: a frame larger than the limit
// is held in segments that refer to its key states rather than copying them, and reads back as
// the very bytes EncodeFrame gives, whole or a slice at a time across segment boundaries.
#include "replica/frame_rope.h"

#include <gtest/gtest.h>

#include <string>

#include "replica/frame_codec.h"
#include "replica/messages.h"

namespace convergent::internal {
namespace {

std::string Bytes(size_t n, char seed) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 251);
  return s;
}

// A repair with small key states around a large one, and a tombstone.
FrameMsg Repair(size_t large) {
  RepairMsg r;
  r.round = 7;
  r.entries.push_back(KeyedState{"a", Bytes(100, 'a'), true, {}, 0});
  r.entries.push_back(KeyedState{"big", Bytes(large, 'b'), true, {}, 12});
  r.entries.push_back(KeyedState{"c", Bytes(30000, 'c'), false, {}, 0});
  r.wanted = {1, 2, 3};
  return FrameMsg{4, std::move(r), ReplicaId{9}};
}

TEST(FrameRopeTest, ALargeFrameRefersToItsStatesAndReadsBackAsEncodeFrameWritesIt) {
  const std::string flat = EncodeFrame(Repair(1 << 20));
  FrameMsg frame = Repair(1 << 20);
  const char* state = std::get<RepairMsg>(frame.body).entries[1].state.data();
  const FrameRope rope = EncodeFrameRope(std::move(frame), 64 * 1024);
  ASSERT_EQ(rope.size(), flat.size());
  EXPECT_LT(rope.own_bytes(), 64u * 1024);  // the two large states are referred to
  EXPECT_NE(rope.Slice(0, rope.size()).find(std::string_view(state, 16)), std::string::npos);
  EXPECT_EQ(rope.Slice(0, rope.size()), flat);
  for (size_t piece : {1u, 7u, 1000u, 16384u, 65536u}) {
    std::string joined;
    for (size_t at = 0; at < rope.size(); at += piece) joined += rope.Slice(at, piece);
    EXPECT_EQ(joined, flat) << "pieces of " << piece;
  }
  EXPECT_EQ(rope.Slice(rope.size(), 10), "");
  EXPECT_EQ(rope.Slice(rope.size() - 3, 10), flat.substr(flat.size() - 3));
  EXPECT_EQ(EncodeFrameRope(Repair(1 << 20), 64 * 1024).Flatten(), flat);
}

TEST(FrameRopeTest, AFrameWithinTheLimitIsOneString) {
  const std::string flat = EncodeFrame(Repair(1000));
  FrameRope rope = EncodeFrameRope(Repair(1000), flat.size());
  EXPECT_EQ(rope.own_bytes(), flat.size());
  EXPECT_EQ(std::move(rope).Flatten(), flat);
}

}  // namespace
}  // namespace convergent::internal
