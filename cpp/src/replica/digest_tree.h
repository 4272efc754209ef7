// DigestTree: the anti-entropy summary of a key store. Keys fall into 16^depth leaf buckets by
// a hash of their name; every tree node holds the XOR of the digests of the keys below it, so
// adding, removing or changing a key costs depth+1 XORs, and two stores that agree compare one
// level and stop. Node (level, i) has children (level+1, 16*i .. 16*i+15); level 0 is the root.
// A node's bucket is a prefix of the key hash (4 bits per level), so trees of different depths
// hold the same digests at the levels they share.
//
// Thread safety: none; owned by one Replicator.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace convergent::internal {

class DigestTree {
 public:
  static constexpr uint32_t kFanout = 16;

  explicit DigestTree(int depth);

  int depth() const { return static_cast<int>(levels_.size()) - 1; }
  uint32_t LeafOf(uint64_t key_hash) const { return static_cast<uint32_t>(key_hash >> shift_); }
  // XORs a key's digest into its leaf and the leaf's ancestors (the same call removes it).
  void Toggle(uint64_t key_hash, uint64_t digest);
  uint64_t At(int level, uint32_t index) const { return levels_[level][index]; }
  uint32_t Width(int level) const { return static_cast<uint32_t>(levels_[level].size()); }
  uint64_t root() const { return levels_[0][0]; }
  // The leaves below node (level, index): [first, first + count).
  std::pair<uint32_t, uint32_t> LeavesUnder(int level, uint32_t index) const {
    const int shift = 4 * (depth() - level);
    return {index << shift, uint32_t{1} << shift};
  }

 private:
  std::vector<std::vector<uint64_t>> levels_;
  int shift_;
};

}  // namespace convergent::internal
