#include "replica/frame_rope.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace convergent::internal {

// The output stream protobuf serializes into: it hands out chunks, and takes the byte fields
// protobuf offers to alias (those that do not fit in the chunk at hand) as segments of their own.
class FrameRope::Stream : public google::protobuf::io::ZeroCopyOutputStream {
 public:
  Stream(FrameRope* rope, size_t chunk) : rope_(rope), chunk_(chunk) {}

  bool Next(void** data, int* size) override {
    Seal();
    rope_->chunks_.push_back(std::make_unique<char[]>(chunk_));
    open_ = rope_->chunks_.back().get();
    used_ = chunk_;
    *data = open_;
    *size = static_cast<int>(chunk_);
    count_ += static_cast<int64_t>(chunk_);
    return true;
  }
  void BackUp(int count) override {
    used_ -= static_cast<size_t>(count);
    count_ -= count;
  }
  int64_t ByteCount() const override { return count_; }
  bool AllowsAliasing() const override { return true; }
  bool WriteAliasedRaw(const void* data, int size) override {
    Seal();
    Add(std::string_view(static_cast<const char*>(data), static_cast<size_t>(size)));
    count_ += size;
    return true;
  }
  // The chunk at hand, as far as it is written, becomes a segment.
  void Seal() {
    if (open_ != nullptr && used_ > 0) {
      Add(std::string_view(open_, used_));
      rope_->own_ += used_;
    }
    open_ = nullptr;
    used_ = 0;
  }

 private:
  void Add(std::string_view segment) {
    rope_->starts_.push_back(rope_->size_);
    rope_->segments_.push_back(segment);
    rope_->size_ += segment.size();
  }

  FrameRope* rope_;
  size_t chunk_;
  char* open_ = nullptr;  // the chunk handed out last
  size_t used_ = 0;
  int64_t count_ = 0;
};

FrameRope FrameRope::Serialize(const google::protobuf::MessageLite& message,
                               std::shared_ptr<const void> owner, size_t chunk) {
  FrameRope rope;
  rope.owner_ = std::move(owner);
  Stream stream(&rope, std::max<size_t>(chunk, 64));
  {
    google::protobuf::io::CodedOutputStream out(&stream);
    out.EnableAliasing(true);
    message.ByteSizeLong();  // caches the sizes the serializer writes
    message.SerializeWithCachedSizes(&out);
  }  // (the stream is trimmed here)
  stream.Seal();
  return rope;
}

std::string FrameRope::Slice(size_t offset, size_t n) const {
  if (segments_.empty()) return offset < whole_.size() ? whole_.substr(offset, n) : std::string();
  std::string out;
  if (offset >= size_) return out;
  n = std::min(n, size_ - offset);
  out.reserve(n);
  size_t i = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), offset) -
                                 starts_.begin()) -
             1;
  for (size_t at = offset - starts_[i]; out.size() < n; ++i, at = 0) {
    out.append(segments_[i].substr(at, n - out.size()));
  }
  return out;
}

std::string FrameRope::Flatten() && {
  if (segments_.empty()) return std::move(whole_);
  std::string out;
  out.reserve(size_);
  for (std::string_view s : segments_) out.append(s);
  return out;
}

}  // namespace convergent::internal
