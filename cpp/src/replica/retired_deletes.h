// RetiredDeletes: the delete-vector entries that a replica leaves out of its adverts
// (replica/tombstone_collector.h), so that an advert's size follows the live replicas, not every
// incarnation that ever deleted.
//
// Every replica that deletes keeps one entry in each delete vector (what it has seen, and the
// collection floor), and a restart makes a new replica: with only those, an advert grows by two
// entries per deleting incarnation for as long as the cluster lives. An entry (r, n) retires
// once it is under the floor and r is not a member: every member has seen r's deletes up to n.
// Retired entries stay in the vectors (a stale replica is judged against them as before). Every
// advert names the sender's retired set by a digest. To a peer whose last advert named the same
// set, an advert leaves out every entry the set covers, and the peer puts them back from its own.
// To any other peer (or one not heard yet, or of an earlier version) an advert carries whole
// vectors and the set itself, which the peer joins: a retired set is within the sender's floor,
// which the peer adopts with it. So the sets converge, and they change only when a replica
// retires. An advert that left out entries of a set the receiver no longer has (it grew since)
// is ignored and answered with a round of its own, which carries the new set.
//
// Thread safety: none; owned by one TombstoneCollector.
#pragma once

#include <cstdint>

#include "convergent/crdt/causal_context.h"

namespace convergent::internal {

class RetiredDeletes {
 public:
  using Vector = CausalContext::VersionVector;

  const Vector& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  // Names the set: equal sets have equal digests; 0 only for the empty set.
  uint64_t digest() const { return digest_; }
  static uint64_t DigestOf(const Vector& entries);

  // Joins entries into the set (each replica's highest counter); true when it grew.
  bool Join(const Vector& more);
  // Whether (r, n) is covered: n is at most the retired counter of r.
  bool Covers(ReplicaId r, uint64_t n) const;
  // `vv` without the entries the set covers: what an advert carries.
  Vector Without(const Vector& vv) const;
  // `vv` with `retired` joined back: the vector an advert stands for.
  static Vector With(const Vector& vv, const Vector& retired);

 private:
  Vector entries_;  // ascending by replica
  uint64_t digest_ = 0;
};

}  // namespace convergent::internal
