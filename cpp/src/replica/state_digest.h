// StateDigest: what a key's state contributes to its digest in the digest tree (KeyStore), and
// its encoded size, exact or estimated. Replicas that hold equal states compute equal digests;
// different states differ but for 64-bit collisions.
//
// Most types are digested by their canonical encoding (XXH64 over its bytes, seeded by the key's
// hash). An ORSet is digested from its parts instead, without encoding it: the sum over its
// (element, dot) pairs of a hash of each, and a hash of its causal context. A set being written
// is re-digested at every step of an anti-entropy round, and encoding it sorts its elements: the
// sum costs a hash per element and no allocation. Its size is then an estimate (an upper bound of
// the encoding, within a few bytes per element). A sum of hashes is not a cryptographic digest:
// crafted elements could collide, which delays a repair until the key changes again.
//
// Changing how a type is digested makes every key of the type differ between versions: in a
// cluster running both, anti-entropy exchanges those keys' contexts each round (and repairs
// nothing) until every node runs the same version.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "convergent/crdt/any_crdt.h"

namespace convergent::internal {

struct StateDigest {
  uint64_t digest = 0;
  size_t size = 0;  // of the encoding: exact when digested by it, else an estimate
};

// Whether values of type `t` are digested by their encoding (DigestOfEncoding).
inline bool DigestedByEncoding(CrdtType t) { return t != CrdtType::kORSet; }

// The digest of `v` as the digest tree holds it, seeded with `seed` (the key's hash).
StateDigest DigestOfState(const AnyCrdt& v, uint64_t seed);
// The XXH64 of v's canonical encoding, seeded with `seed`, which is what a peer's encoded state
// of the key hashes to when it holds the same (KeyStore::Holds); encoded a piece at a time.
StateDigest DigestOfEncoding(const AnyCrdt& v, uint64_t seed);

}  // namespace convergent::internal
