#include "replica/digest_tree.h"

#include <cstddef>

namespace convergent::internal {

DigestTree::DigestTree(int depth) : shift_(64 - 4 * depth) {
  size_t width = 1;
  for (int level = 0; level <= depth; ++level, width *= kFanout) levels_.emplace_back(width, 0);
}

void DigestTree::Toggle(uint64_t key_hash, uint64_t digest) {
  uint32_t index = LeafOf(key_hash);
  for (int level = depth(); level >= 0; --level, index /= kFanout) levels_[level][index] ^= digest;
}

}  // namespace convergent::internal
