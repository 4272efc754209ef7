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
//   Repair(states + wanted   ->
//          + contexts)
//                            <-     Repair(the wanted states, the parts the contexts lack
//                                          + contexts)
//   Repair(the parts         ->
//          these lack)
//
// A key both sides hold, differently, is repaired by the part each lacks when it can be (delta-
// state anti-entropy, convergent/crdt/delta_since.h): an ORSet, an MVRegister or a map without
// pruning markers. The side that found the difference sends the key's causal context instead of
// its state; the other answers with the part that context lacks and its own context; the first
// answers that with the part the second lacks. A key written while rounds run (its deltas still
// on their way) then costs its contexts and its newest adds, not two whole states. Otherwise
// (another type, pruning markers, or a part that would list more removed dots than the whole
// state costs) both send the whole state, as for a key one side lacks.
//
// Each store's tree deepens as it grows (replica/key_store.h), so two trees may differ in depth:
// steps carry their sender's depth, a round descends to the shallower tree's leaves, and the
// deeper side lists (or compares) the keys of all its leaves below such a node.
#include "replica/anti_entropy.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "replica/frame_budget.h"

namespace convergent::internal {
namespace {

// The level a round between trees of depths `own` and `theirs` (0: unknown, as ours) descends to:
// the shallower tree's leaves, which the deeper one holds as inner nodes.
int CommonDepth(int own, uint32_t theirs) {
  return theirs == 0 ? own : std::min(own, static_cast<int>(theirs));
}

}  // namespace

AntiEntropy::AntiEntropy(AntiEntropyHost& host, KeyStore& store, const ReplicatorOptions& options,
                         ReplicatorMetrics& metrics, std::mt19937_64& rng)
    : host_(host), store_(store), options_(options), metrics_(metrics), rng_(rng) {}

void AntiEntropy::Start(TimeMicros now) {
  std::uniform_real_distribution<double> offset(0.0, options_.anti_entropy_interval);
  next_round_at_ = now + MicrosOf(offset(rng_));
}

void AntiEntropy::Tick(TimeMicros now) {
  const std::vector<NodeId>& peers = host_.AntiEntropyPeers();
  if (now >= next_round_at_) {
    next_round_at_ = now + MicrosOf(options_.anti_entropy_interval);
    if (!peers.empty()) {
      std::uniform_int_distribution<size_t> pick(0, peers.size() - 1);
      StartRound(peers[pick(rng_)]);
    }
  }
  for (NodeId peer : std::exchange(meetings_, {})) {
    if (!IsPeer(peer)) continue;
    ++metrics_.meeting_count;
    StartRound(peer);
  }
  const TimeMicros spacing = MicrosOf(options_.loss_repair_interval);
  for (auto& [peer, l] : loss_repairs_) {
    if (!l.waiting || (l.started && now < l.last + spacing)) continue;
    l.waiting = false;
    l.started = true;
    l.last = now;
    ++metrics_.loss_repair_count;
    StartRound(peer);
  }
}

TimeMicros AntiEntropy::NextDeadline() const {
  if (!meetings_.empty()) return std::numeric_limits<TimeMicros>::min();
  TimeMicros t = next_round_at_;
  const TimeMicros spacing = MicrosOf(options_.loss_repair_interval);
  for (const auto& [peer, l] : loss_repairs_) {
    if (l.waiting) {
      t = std::min(t, l.started ? l.last + spacing : std::numeric_limits<TimeMicros>::min());
    }
  }
  return t;
}

bool AntiEntropy::IsPeer(NodeId peer) const {
  const std::vector<NodeId>& peers = host_.AntiEntropyPeers();
  return std::find(peers.begin(), peers.end(), peer) != peers.end();
}

void AntiEntropy::RepairFrom(NodeId peer) {
  if (IsPeer(peer)) loss_repairs_[peer].waiting = true;
}

void AntiEntropy::SyncWith(NodeId peer) {
  if (!IsPeer(peer)) return;
  if (std::find(meetings_.begin(), meetings_.end(), peer) == meetings_.end()) {
    meetings_.push_back(peer);
  }
}

void AntiEntropy::KeepOnly(const std::vector<NodeId>& peers) {
  std::erase_if(large_sent_, [&](const auto& entry) {
    return !std::binary_search(peers.begin(), peers.end(), entry.first.first);
  });
  std::erase_if(loss_repairs_, [&](const auto& entry) {
    return !std::binary_search(peers.begin(), peers.end(), entry.first);
  });
}

void AntiEntropy::StartRound(NodeId peer) {
  store_.RefreshDigests();
  ++metrics_.antientropy_count;
  DigestStepMsg step{
      next_round_++, 1, {}, {}, host_.AdvertTo(peer), static_cast<uint32_t>(store_.tree().depth())};
  for (uint32_t i = 0; i < store_.tree().Width(1); ++i) {
    step.nodes.push_back(i);
    step.digests.push_back(store_.tree().At(1, i));
  }
  host_.SendTo(peer, std::move(step));
}

void AntiEntropy::OnDigestStep(NodeId from, const DigestStepMsg& m) {
  store_.RefreshDigests(m.level == 1 ? KeyStore::Refresh::kChanged : KeyStore::Refresh::kCheap);
  const DigestTree& tree = store_.tree();
  const int level = static_cast<int>(m.level);
  const int common = CommonDepth(tree.depth(), m.depth);
  if (level > common) {
    ++metrics_.frames_malformed;  // below the leaves of one of the two trees
    return;
  }
  std::vector<uint32_t> differing;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (m.nodes[i] >= tree.Width(level)) {
      ++metrics_.frames_malformed;
      return;
    }
    if (tree.At(level, m.nodes[i]) != m.digests[i]) differing.push_back(m.nodes[i]);
  }
  if (differing.empty()) return;  // in agreement: the round ends here
  // A step that names a node twice (a peer's bug, or forged) is answered once per node.
  std::sort(differing.begin(), differing.end());
  differing.erase(std::unique(differing.begin(), differing.end()), differing.end());
  // Each step (and each key list) stands on its own, so large ones are split into frames of at
  // most max_frame_size (about 12 bytes per tree node, 16 per key).
  if (level < common) {
    const size_t per_frame = std::max<size_t>(1, options_.max_frame_size / 12);
    auto next_step = [&] {
      DigestStepMsg next{m.round, static_cast<uint32_t>(level + 1), {}, {}, {}};
      next.depth = static_cast<uint32_t>(tree.depth());
      return next;
    };
    DigestStepMsg next = next_step();
    for (uint32_t node : differing) {
      for (uint32_t c = 0; c < DigestTree::kFanout; ++c) {
        const uint32_t child = node * DigestTree::kFanout + c;
        next.nodes.push_back(child);
        next.digests.push_back(tree.At(level + 1, child));
      }
      if (next.nodes.size() + DigestTree::kFanout > per_frame) {
        host_.SendTo(from, std::exchange(next, next_step()));
      }
    }
    if (!next.nodes.empty()) host_.SendTo(from, std::move(next));
    return;
  }
  // Differing nodes at the shallower tree's leaves: list our keys below them.
  const size_t per_frame = std::max<size_t>(1, options_.max_frame_size / 16);
  auto next_list = [&] {
    KeyDigestsMsg list{m.round, {}, {}, {}, {}};
    list.level = static_cast<uint32_t>(level);
    return list;
  };
  KeyDigestsMsg keys_msg = next_list();
  for (uint32_t node : differing) {
    const auto leaves = store_.MembersUnder(level, node);
    size_t members = 0;
    for (const auto& leaf : leaves) members += leaf.size();
    const size_t listed = keys_msg.key_hashes.size() + keys_msg.leaves.size();
    if (listed > 0 && listed + members + 1 > per_frame) {
      host_.SendTo(from, std::exchange(keys_msg, next_list()));
    }
    PrefetchMembers(leaves);
    uint32_t count = 0;
    for (const auto& leaf : leaves) {
      for (const LeafMember member : leaf) {
        if (member.digest() == 0) continue;  // not in the tree
        keys_msg.key_hashes.push_back(member.key_hash());
        keys_msg.key_digests.push_back(member.digest());
        ++count;
      }
    }
    keys_msg.leaves.push_back(node);
    keys_msg.key_count.push_back(count);
  }
  if (!keys_msg.leaves.empty()) host_.SendTo(from, std::move(keys_msg));
}

bool AntiEntropy::SentRecently(NodeId to, const std::string& name, uint64_t digest,
                               TimeMicros now) {
  // Long enough for a transfer at tens of MB/s, and for the peer's next round to see it.
  const TimeMicros window =
      std::max<TimeMicros>(5'000'000, 3 * MicrosOf(options_.anti_entropy_interval));
  std::erase_if(large_sent_, [&](const auto& e) { return now - e.second.second >= window; });
  auto [it, added] = large_sent_.try_emplace({to, name}, digest, now);
  if (!added && it->second.first == digest) {
    ++metrics_.large_repairs_deferred;
    return true;
  }
  it->second = {digest, now};
  return false;
}

void AntiEntropy::AddToRepair(NodeId to, const std::string& name, RepairMsg& repair, size_t& bytes,
                              TimeMicros now) {
  if (const auto* k = store_.FindKey(name)) {
    if (store_.LargeSize(name) != 0 && SentRecently(to, name, k->digest, now)) return;
    KeyedState s = host_.FullState(name, *k);
    ++metrics_.repairs_whole;
    MakeRepairRoom(to, EntryBound(s), repair, bytes);
    repair.entries.push_back(std::move(s));
  } else if (const auto* t = store_.FindTombstone(name)) {
    Tombstone stone = KeyStore::ToTombstone(name, *t);
    MakeRepairRoom(to, TombstoneBound(stone), repair, bytes);
    repair.tombstones.push_back(std::move(stone));
  }
}

void AntiEntropy::WantInRepair(NodeId to, uint64_t hash, RepairMsg& repair, size_t& bytes) {
  MakeRepairRoom(to, 10, repair, bytes);  // a packed varint
  repair.wanted.push_back(hash);
}

// Large repairs go in chunks of at most max_frame_size: a chunk is sent before an entry that
// would take it over (only an entry that alone is larger makes a larger frame).
void AntiEntropy::MakeRepairRoom(NodeId to, size_t entry, RepairMsg& repair, size_t& bytes) {
  if (bytes > 0 && bytes + entry > FrameBudget(options_.max_frame_size)) {
    RepairMsg full{repair.round, std::move(repair.entries), std::move(repair.tombstones),
                   std::move(repair.wanted), std::move(repair.since)};
    host_.SendTo(to, std::move(full));
    repair.entries.clear();
    repair.tombstones.clear();
    repair.wanted.clear();
    repair.since.clear();
    bytes = 0;
  }
  bytes += entry;
}

void AntiEntropy::OnKeyDigests(NodeId from, const KeyDigestsMsg& m, TimeMicros now) {
  store_.RefreshDigests(KeyStore::Refresh::kCheap);
  RepairMsg repair{m.round, {}, {}, {}, {}};
  size_t bytes = 0;
  size_t offset = 0;
  // The level of the listed nodes: our leaves, or inner nodes when our tree is the deeper.
  const int level = m.level == 0 ? store_.tree().depth() : static_cast<int>(m.level);
  if (level > store_.tree().depth()) {
    ++metrics_.frames_malformed;
    return;
  }
  // The keys they list under one node, by hash (for a hash listed twice, the last), and whether
  // one of ours matched it; reused from node to node.
  struct Listed {
    uint64_t hash;
    uint64_t digest;
    bool matched;
  };
  std::vector<Listed> theirs;
  for (size_t l = 0; l < m.leaves.size(); ++l) {
    const uint32_t node = m.leaves[l];
    if (node >= store_.tree().Width(level)) {
      ++metrics_.frames_malformed;
      return;
    }
    theirs.clear();
    for (uint32_t i = 0; i < m.key_count[l]; ++i, ++offset) {
      theirs.push_back({m.key_hashes[offset], m.key_digests[offset], false});
    }
    const auto by_hash = [](const Listed& a, const Listed& b) { return a.hash < b.hash; };
    std::stable_sort(theirs.begin(), theirs.end(), by_hash);
    const auto firsts = std::unique(theirs.rbegin(), theirs.rend(),
                                    [](const auto& a, const auto& b) { return a.hash == b.hash; });
    theirs.erase(theirs.begin(), firsts.base());
    const auto leaves = store_.MembersUnder(level, node);
    PrefetchMembers(leaves);
    for (const auto& leaf : leaves) {
      for (const LeafMember member : leaf) {
        const uint64_t hash = member.key_hash();
        const uint64_t digest = member.digest();
        if (digest == 0) continue;  // not in the tree
        auto it = std::lower_bound(theirs.begin(), theirs.end(), Listed{hash, 0, false}, by_hash);
        const bool listed = it != theirs.end() && it->hash == hash && !it->matched;
        if (listed) it->matched = true;
        if (listed && it->digest == digest) continue;
        const std::string& name = member.name();
        if (listed) {                                               // both hold it, differently
          if (const CausalContext* ctx = PartialContextOf(name)) {  // each sends the part...
            SinceInRepair(from, KeyContextMsg{hash, *ctx, /*reply=*/true}, repair, bytes);
            continue;
          }
          WantInRepair(from, hash, repair, bytes);  // ... or both send their whole states
        }
        AddToRepair(from, name, repair, bytes, now);
      }
    }
    for (const Listed& t : theirs) {
      if (!t.matched) WantInRepair(from, t.hash, repair, bytes);  // theirs only
    }
  }
  if (!repair.entries.empty() || !repair.tombstones.empty() || !repair.wanted.empty() ||
      !repair.since.empty()) {
    host_.SendTo(from, std::move(repair));
  }
}

void AntiEntropy::OnRepair(NodeId from, RepairMsg& m, TimeMicros now) {
  for (KeyedState& s : m.entries) host_.MergeRemote(s, now);
  for (const Tombstone& t : m.tombstones) host_.ApplyRemoteTombstone(t);
  if (m.wanted.empty() && m.since.empty()) return;
  store_.RefreshDigests(KeyStore::Refresh::kCheap);
  RepairMsg reply{m.round, {}, {}, {}, {}};
  size_t bytes = 0;
  for (uint64_t hash : m.wanted) {
    ForEachNamed(hash,
                 [&](const std::string& name) { AddToRepair(from, name, reply, bytes, now); });
  }
  for (const KeyContextMsg& c : m.since) {
    bool held = false;
    ForEachNamed(c.key_hash, [&](const std::string& name) {
      held = true;
      AddPartToRepair(from, name, c, reply, bytes, now);
    });
    // Not here (deleted and collected, or expired, since the key lists): theirs, whole.
    if (!held && c.reply) WantInRepair(from, c.key_hash, reply, bytes);
  }
  if (!reply.entries.empty() || !reply.tombstones.empty() || !reply.wanted.empty() ||
      !reply.since.empty()) {
    host_.SendTo(from, std::move(reply));
  }
}

template <typename Fn>
void AntiEntropy::ForEachNamed(uint64_t hash, Fn&& fn) const {
  for (const LeafMember member : store_.LeafMembers(store_.tree().LeafOf(hash))) {
    if (member.key_hash() == hash) fn(member.name());
  }
}

const CausalContext* AntiEntropy::PartialContextOf(const std::string& name) const {
  const KeyEntry* k = store_.FindKey(name);
  if (k == nullptr || store_.MarkersOf(name) != nullptr) return nullptr;
  return k->value.Context();
}

void AntiEntropy::SinceInRepair(NodeId to, KeyContextMsg c, RepairMsg& repair, size_t& bytes) {
  // The hash and the framing, then an 8-byte replica and a varint per vector entry or cloud dot.
  const size_t bound = 24 + 20 * (c.context.version_vector().size() + c.context.dot_cloud().size());
  MakeRepairRoom(to, bound, repair, bytes);
  repair.since.push_back(std::move(c));
}

void AntiEntropy::AddPartToRepair(NodeId to, const std::string& name, const KeyContextMsg& theirs,
                                  RepairMsg& repair, size_t& bytes, TimeMicros now) {
  const CausalContext* mine = PartialContextOf(name);
  std::optional<AnyCrdt> part;
  if (mine != nullptr) part = store_.FindKey(name)->value.DeltaSince(theirs.context);
  if (!part) {  // the whole state (or the tombstone), and, when asked, theirs whole
    AddToRepair(to, name, repair, bytes, now);
    if (theirs.reply && store_.FindKey(name) != nullptr) {
      WantInRepair(to, theirs.key_hash, repair, bytes);
    }
    return;
  }
  if (!part->Context()->empty()) {  // (an empty context: nothing they lack)
    KeyedState s{name, EncodeAny(*part), false, {}, 0};
    const KeyEntry* k = store_.FindKey(name);
    if (s.state.size() <= options_.max_frame_size || !SentRecently(to, name, k->digest, now)) {
      ++metrics_.repairs_partial;
      MakeRepairRoom(to, EntryBound(s), repair, bytes);
      repair.entries.push_back(std::move(s));
    }
  }
  if (theirs.reply) SinceInRepair(to, KeyContextMsg{theirs.key_hash, *mine, false}, repair, bytes);
}

}  // namespace convergent::internal
