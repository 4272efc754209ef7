// FrameRope: an encoded frame held in segments rather than in one string: bytes of its own, and
// the large byte fields of the message it was serialized from, referred to where they lie instead
// of copied. A large key's state on its way in pieces (replica/fragments.h) is then held once,
// not once in the frame's message and again in the frame's bytes. The rope keeps that message
// alive (`owner`).
//
// Thread safety: immutable once built (it moves, never copies); a shared rope may be read from
// any thread.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace convergent::internal {

class FrameRope {
 public:
  FrameRope() = default;
  explicit FrameRope(std::string bytes) : whole_(std::move(bytes)), size_(whole_.size()) {}
  // Moves only: the segments point into the chunks, which a move keeps where they are.
  FrameRope(FrameRope&&) = default;
  FrameRope& operator=(FrameRope&&) = default;

  // Serializes `message` into a rope: byte fields longer than about `chunk` bytes are referred
  // to, the rest is copied into chunks of that size. `owner` keeps the message alive.
  static FrameRope Serialize(const google::protobuf::MessageLite& message,
                             std::shared_ptr<const void> owner, size_t chunk);

  size_t size() const { return size_; }
  // The bytes the rope holds itself (the rest lies in its owner).
  size_t own_bytes() const { return segments_.empty() ? whole_.size() : own_; }
  // Bytes [offset, offset + n), clamped to the end, copied.
  std::string Slice(size_t offset, size_t n) const;
  // All of it in one string (no copy when it was built from one).
  std::string Flatten() &&;

 private:
  class Stream;
  std::string whole_;  // the bytes, when the rope is one string (segments_ empty)
  std::vector<std::unique_ptr<char[]>> chunks_;  // its own bytes, when in segments
  std::vector<std::string_view> segments_;       // in order: into chunks_ or the owner's bytes
  std::vector<size_t> starts_;                   // where each segment starts in the frame
  std::shared_ptr<const void> owner_;
  size_t size_ = 0;
  size_t own_ = 0;
};

}  // namespace convergent::internal
