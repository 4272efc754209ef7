// Header-only xxHash: no library to link (for us or for consumers of the static library).
#define XXH_INLINE_ALL
#include "replica/state_digest.h"

#include <xxhash.h>

#include "codec/wire_format.h"
#include "convergent/codec.h"
#include "convergent/crdt/orset.h"

namespace convergent::internal {
namespace {

using wire::VarintSize;

// The context's dots in their compact form (unique: CausalContext).
uint64_t ContextHash(const CausalContext& ctx, size_t* size) {
  XXH64_state_t h;
  XXH64_reset(&h, 0);
  const uint64_t counts[2] = {ctx.version_vector().size(), ctx.dot_cloud().size()};
  XXH64_update(&h, counts, sizeof counts);
  for (const CausalContext::VectorEntry& e : ctx.version_vector()) {
    const uint64_t words[2] = {e.replica.value, e.counter};
    XXH64_update(&h, words, sizeof words);
    *size += 9 + VarintSize(e.counter);
  }
  for (const Dot& d : ctx.dot_cloud()) {
    const uint64_t words[2] = {d.replica.value, d.counter};
    XXH64_update(&h, words, sizeof words);
    *size += 10 + VarintSize(d.counter);
  }
  return XXH64_digest(&h);
}

StateDigest DigestOfORSet(const ORSet& v, uint64_t seed) {
  StateDigest out;
  out.size = 32;  // the envelope's head and field headers
  uint64_t sum = 0;
  uint64_t pairs = 0;
  for (const auto& [element, dots] : v.store()) {
    const std::string_view bytes = element.bytes();
    const uint64_t element_hash = XXH3_64bits(bytes.data(), bytes.size());
    out.size += bytes.size() + 1 + VarintSize(bytes.size()) + VarintSize(dots.size());
    for (const auto& e : dots) {
      const uint64_t words[2] = {e.dot.replica.value, e.dot.counter};
      sum += XXH3_64bits_withSeed(words, sizeof words, element_hash);
      out.size += 1 + VarintSize(e.dot.counter);
      ++pairs;
    }
  }
  const uint64_t parts[4] = {static_cast<uint64_t>(CrdtType::kORSet), pairs, sum,
                             ContextHash(v.context(), &out.size)};
  out.digest = XXH3_64bits_withSeed(parts, sizeof parts, seed);
  return out;
}

}  // namespace

StateDigest DigestOfEncoding(const AnyCrdt& v, uint64_t seed) {
  XXH64_state_t hash;
  XXH64_reset(&hash, seed);
  StateDigest out;
  EncodeAnyTo(v, [&](std::string_view piece) {
    XXH64_update(&hash, piece.data(), piece.size());
    out.size += piece.size();
  });
  out.digest = XXH64_digest(&hash);
  return out;
}

StateDigest DigestOfState(const AnyCrdt& v, uint64_t seed) {
  if (DigestedByEncoding(v.type())) return DigestOfEncoding(v, seed);
  return DigestOfORSet(*v.get_if<ORSet>(), seed);  // the one type digested from its parts
}

}  // namespace convergent::internal
