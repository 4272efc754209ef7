// libFuzzer target for snapshot records (what a node reads back from its LevelDB store at start,
// untrusted: the disk may be damaged): DecodeRecord on a (key, bytes) pair split from the input,
// and Replicator::Restore of it. Nothing crashes; a record that decodes restores; one that does
// not is refused whole (Corruption) and leaves the replicator empty. Seeds
// (corpus/snapshot_record): records of every type and a tombstone.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "convergent/replicator.h"
#include "replica/snapshot_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte is the key's length (at most the rest).
  const size_t key_len = std::min<size_t>(data[0], size - 1);
  const std::string key(reinterpret_cast<const char*>(data + 1), key_len);
  const std::string bytes(reinterpret_cast<const char*>(data + 1 + key_len), size - 1 - key_len);
  auto decoded = convergent::internal::DecodeRecord(key, bytes);
  convergent::Replicator r(0, convergent::ReplicaId{7}, convergent::ReplicatorOptions{}, 1);
  const convergent::Status s = r.Restore({{key, bytes}});
  if (s.ok() != decoded.ok()) std::abort();  // Restore decodes as DecodeRecord does
  if (!s.ok() && (!r.Keys().empty() || r.tombstone_count() != 0)) std::abort();  // all or nothing
  return 0;
}
