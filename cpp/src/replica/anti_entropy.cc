// Anti-entropy: a round compares digest trees top-down with one random peer, descending only
// into the nodes that differ, then exchanges the key digests of the differing leaves and repairs
// both sides. Agreeing replicas exchange one step of 16 digests; differing ones pay in proportion
// to the difference.
//
//   initiator                       responder
//   DigestStep(level 1)      ->
//                            <-     DigestStep(level 2, children of differing nodes)
//   DigestStep(level 3)      ->     ... alternating down to the leaves
//                            <-     KeyDigests(differing leaves: key hash + digest per key)
//   Repair(states + wanted)  ->
//                            <-     Repair(the wanted states)
#include <algorithm>
#include <unordered_map>
#include <utility>

#include "convergent/codec.h"
#include "replica/replicator_impl.h"

namespace convergent {

using internal::DigestStepMsg;
using internal::KeyDigestsMsg;
using internal::KeyedState;
using internal::RepairMsg;
using internal::Tombstone;

void Replicator::Impl::StartAntiEntropy(TimeMicros) {
  if (peers.empty()) return;
  std::uniform_int_distribution<size_t> pick(0, peers.size() - 1);
  StartRound(peers[pick(rng)]);
}

void Replicator::Impl::RunLossRepairs(TimeMicros now) {
  const TimeMicros spacing = Micros(options.loss_repair_interval);
  for (auto& [peer, l] : loss_repairs) {
    if (!l.waiting || (l.started && now < l.last + spacing)) continue;
    l.waiting = false;
    l.started = true;
    l.last = now;
    ++metrics.loss_repair_count;
    StartRound(peer);
  }
}

void Replicator::Impl::StartRound(NodeId peer) {
  store.RefreshDigests();
  ++metrics.antientropy_count;
  DigestStepMsg step{next_round++, 1, {}, {}};
  for (uint32_t i = 0; i < store.tree().Width(1); ++i) {
    step.nodes.push_back(i);
    step.digests.push_back(store.tree().At(1, i));
  }
  Send(peer, std::move(step));
}

void Replicator::Impl::OnDigestStep(NodeId from, const DigestStepMsg& m) {
  store.RefreshDigests();
  const int level = static_cast<int>(m.level);
  if (level > store.tree().depth()) {
    ++metrics.frames_malformed;  // a peer with another tree depth: configuration error
    return;
  }
  std::vector<uint32_t> differing;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (m.nodes[i] >= store.tree().Width(level)) {
      ++metrics.frames_malformed;
      return;
    }
    if (store.tree().At(level, m.nodes[i]) != m.digests[i]) differing.push_back(m.nodes[i]);
  }
  if (differing.empty()) return;  // in agreement: the round ends here
  // Each step (and each key list) stands on its own, so large ones are split into frames of at
  // most max_frame_size (about 12 bytes per tree node, 16 per key).
  if (level < store.tree().depth()) {
    const size_t per_frame = std::max<size_t>(1, options.max_frame_size / 12);
    DigestStepMsg next{m.round, static_cast<uint32_t>(level + 1), {}, {}};
    for (uint32_t node : differing) {
      for (uint32_t c = 0; c < internal::DigestTree::kFanout; ++c) {
        const uint32_t child = node * internal::DigestTree::kFanout + c;
        next.nodes.push_back(child);
        next.digests.push_back(store.tree().At(level + 1, child));
      }
      if (next.nodes.size() + internal::DigestTree::kFanout > per_frame) {
        Send(from, std::exchange(next, DigestStepMsg{m.round, next.level, {}, {}}));
      }
    }
    if (!next.nodes.empty()) Send(from, std::move(next));
    return;
  }
  // Differing leaves: list our keys there.
  const size_t per_frame = std::max<size_t>(1, options.max_frame_size / 16);
  KeyDigestsMsg keys_msg{m.round, {}, {}, {}, {}};
  for (uint32_t leaf : differing) {
    const size_t listed = keys_msg.key_hashes.size() + keys_msg.leaves.size();
    if (listed > 0 && listed + store.LeafMembers(leaf).size() + 1 > per_frame) {
      Send(from, std::exchange(keys_msg, KeyDigestsMsg{m.round, {}, {}, {}, {}}));
    }
    uint32_t count = 0;
    for (const std::string* member : store.LeafMembers(leaf)) {
      const std::string& name = *member;
      uint64_t digest = 0, hash = 0;
      if (const auto* k = store.FindKey(name)) {
        hash = k->key_hash;
        digest = k->digest;
      } else if (const auto* t = store.FindTombstone(name)) {
        hash = t->key_hash;
        digest = t->digest;
      }
      if (digest == 0) continue;
      keys_msg.key_hashes.push_back(hash);
      keys_msg.key_digests.push_back(digest);
      ++count;
    }
    keys_msg.leaves.push_back(leaf);
    keys_msg.key_count.push_back(count);
  }
  if (!keys_msg.leaves.empty()) Send(from, std::move(keys_msg));
}

void Replicator::Impl::AddToRepair(NodeId to, const std::string& name, RepairMsg& repair,
                                   size_t& bytes) {
  if (const auto* k = store.FindKey(name)) {
    KeyedState s{name, EncodeAny(k->value), true};
    MakeRepairRoom(to, EntryBound(s), repair, bytes);
    repair.entries.push_back(std::move(s));
  } else if (const auto* t = store.FindTombstone(name)) {
    Tombstone stone{name, t->type, static_cast<uint64_t>(t->deleted_at)};
    MakeRepairRoom(to, TombstoneBound(stone), repair, bytes);
    repair.tombstones.push_back(std::move(stone));
  }
}

void Replicator::Impl::WantInRepair(NodeId to, uint64_t hash, RepairMsg& repair, size_t& bytes) {
  MakeRepairRoom(to, 10, repair, bytes);  // a packed varint
  repair.wanted.push_back(hash);
}

// Large repairs go in chunks of at most max_frame_size: a chunk is sent before an entry that
// would take it over (only an entry that alone is larger makes a larger frame).
void Replicator::Impl::MakeRepairRoom(NodeId to, size_t entry, RepairMsg& repair, size_t& bytes) {
  if (bytes > 0 && bytes + entry > FrameBudget(options.max_frame_size)) {
    RepairMsg full{repair.round, std::move(repair.entries), std::move(repair.tombstones),
                   std::move(repair.wanted)};
    Send(to, std::move(full));
    repair.entries.clear();
    repair.tombstones.clear();
    repair.wanted.clear();
    bytes = 0;
  }
  bytes += entry;
}

void Replicator::Impl::OnKeyDigests(NodeId from, const KeyDigestsMsg& m) {
  store.RefreshDigests();
  RepairMsg repair{m.round, {}, {}, {}};
  size_t bytes = 0;
  size_t offset = 0;
  for (size_t l = 0; l < m.leaves.size(); ++l) {
    const uint32_t leaf = m.leaves[l];
    if (leaf >= store.leaf_count()) {
      ++metrics.frames_malformed;
      return;
    }
    std::unordered_map<uint64_t, uint64_t> theirs;  // key hash -> digest
    for (uint32_t i = 0; i < m.key_count[l]; ++i, ++offset) {
      theirs[m.key_hashes[offset]] = m.key_digests[offset];
    }
    for (const std::string* member : store.LeafMembers(leaf)) {
      const std::string& name = *member;
      uint64_t hash = internal::KeyStore::KeyHash(name), digest = 0;
      if (const auto* k = store.FindKey(name)) digest = k->digest;
      if (const auto* t = store.FindTombstone(name)) digest = t->digest;
      if (digest == 0) continue;
      auto it = theirs.find(hash);
      if (it != theirs.end() && it->second == digest) {
        theirs.erase(it);
        continue;
      }
      if (it != theirs.end()) {  // both hold it, differently: both sides send theirs
        WantInRepair(from, hash, repair, bytes);
        theirs.erase(it);
      }
      AddToRepair(from, name, repair, bytes);
    }
    for (const auto& [hash, digest] : theirs) WantInRepair(from, hash, repair, bytes);  // theirs
  }
  if (!repair.entries.empty() || !repair.tombstones.empty() || !repair.wanted.empty()) {
    Send(from, std::move(repair));
  }
}

void Replicator::Impl::OnRepair(NodeId from, RepairMsg& m, TimeMicros now) {
  for (const KeyedState& s : m.entries) MergeRemote(s, now);
  for (const Tombstone& t : m.tombstones) ApplyTombstone(t, /*publish=*/false);
  if (m.wanted.empty()) return;
  store.RefreshDigests();
  RepairMsg reply{m.round, {}, {}, {}};
  size_t bytes = 0;
  for (uint64_t hash : m.wanted) {
    for (const std::string* name : store.LeafMembers(store.tree().LeafOf(hash))) {
      if (internal::KeyStore::KeyHash(*name) == hash) AddToRepair(from, *name, reply, bytes);
    }
  }
  if (!reply.entries.empty() || !reply.tombstones.empty()) Send(from, std::move(reply));
}

}  // namespace convergent
