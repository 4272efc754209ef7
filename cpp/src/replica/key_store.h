// KeyStore: a replicator's live keys and tombstones, and what is derived from them: the digest
// tree and the leaf index that anti-entropy walks, the names changed since the last snapshot
// (when tracking), and the change events of subscribed keys. Every insertion, join, deletion and
// expiry goes through it, so that these stay right; values are mutated in place through
// FindKey() followed by MarkChanged().
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "convergent/replicator.h"
#include "replica/digest_tree.h"
#include "replica/messages.h"
#include "replica/pruning_marker.h"

namespace convergent::internal {

inline constexpr uint32_t kNoPending = 0xffffffffu;

// Empties a buffer that is refilled in bursts; a large one (a burst of 64k+ entries, megabytes)
// gives its memory back, a smaller one keeps it for the next burst.
template <typename T>
void ReleaseIfLarge(std::vector<T>& v) {
  if (v.capacity() > (size_t{1} << 16)) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}

// One live key. Fields ordered for size (a million keys pay for every byte), the hash and digest
// first: anti-entropy reads them from the map's node right after the name (LeafMember).
struct KeyEntry {
  uint64_t key_hash = 0;
  uint64_t digest = 0;  // its contribution to the digest tree (0: none yet)
  AnyCrdt value;
  // Local deltas joined since the last flush: an index into DeltaFlush's pending deltas
  // (kNoPending: none). Kept out of the entry so that idle keys cost no delta space.
  uint32_t pending = kNoPending;
  CrdtType type = CrdtType::kGCounter;
  bool digest_dirty = true;
  // Created by a local update and its first delta not sent yet: out of the digest tree until it
  // is (a round would repair the whole key that the next flush sends as a delta). Bounded: the
  // flush clears it whatever comes next.
  bool unpublished = false;
  // The tombstone collector's epoch of the last local write (0: none); a quarantine keeps the
  // keys written in the current one (replica/tombstone_collector.h).
  uint16_t written_epoch = 0;
  // Its state was larger than KeyStore::kCheapDigestBytes at its last digest: a refresh of
  // cheap digests leaves it to the next full refresh.
  bool costly_digest = false;
};

struct TombstoneEntry {  // the hash and digest first, as KeyEntry's
  uint64_t key_hash = 0;
  uint64_t digest = 0;
  CrdtType type;
  TimeMicros deleted_at = 0;
  DeleteDots dots;  // the deletes of the key (replica/tombstone_collector.h)
  // Local time its dots were first seen all under the collection floor (0: not yet); from then
  // on it is out of the digest tree (digest 0).
  TimeMicros under_floor_since = 0;
  bool pending = false;  // to be published in the next delta batch
};

// A member of a digest-tree leaf: a key's or a tombstone's entry in KeyStore's maps, and a tag
// bit saying which. The maps are node-based: the pointer stays valid until the entry is erased,
// which also removes it from its leaf. 8 bytes per key; its name, hash and digest without a
// lookup (anti-entropy lists the members of every differing leaf).
class LeafMember {
 public:
  using KeyNode = std::pair<const std::string, KeyEntry>;
  using TombstoneNode = std::pair<const std::string, TombstoneEntry>;

  explicit LeafMember(const KeyNode* k) : bits_(reinterpret_cast<uintptr_t>(k)) {}
  explicit LeafMember(const TombstoneNode* t) : bits_(reinterpret_cast<uintptr_t>(t) | 1) {}

  bool is_tombstone() const { return (bits_ & 1) != 0; }
  const std::string& name() const { return is_tombstone() ? tombstone().first : key().first; }
  uint64_t key_hash() const {
    return is_tombstone() ? tombstone().second.key_hash : key().second.key_hash;
  }
  friend bool operator==(LeafMember, LeafMember) = default;

  // Its contribution to the digest tree (0: none).
  uint64_t digest() const {
    return is_tombstone() ? tombstone().second.digest : key().second.digest;
  }
  // Asks the CPU to fetch the entry's hash and digest: a listing prefetches a leaf's members
  // first, so that their cache misses overlap instead of coming one after the other.
  void Prefetch() const {
    const char* at = is_tombstone() ? reinterpret_cast<const char*>(&tombstone().second.key_hash)
                                    : reinterpret_cast<const char*>(&key().second.key_hash);
    __builtin_prefetch(at);
    __builtin_prefetch(at + 2 * sizeof(uint64_t) - 1);  // the digest's last byte's line
  }

 private:
  const KeyNode& key() const { return *reinterpret_cast<const KeyNode*>(bits_); }
  const TombstoneNode& tombstone() const {
    return *reinterpret_cast<const TombstoneNode*>(bits_ & ~uintptr_t{1});
  }

  uintptr_t bits_;
};

// Prefetches every member of `leaves` (LeafMember::Prefetch), before a loop that reads them.
inline void PrefetchMembers(std::span<const std::vector<LeafMember>> leaves) {
  for (const std::vector<LeafMember>& leaf : leaves) {
    for (const LeafMember member : leaf) member.Prefetch();
  }
}

// The hash of key names in the stores: xxHash, and cheap enough that the maps do not cache it in
// every node (libstdc++ caches std::hash<std::string>).
struct NameHash {
  size_t operator()(const std::string& s) const noexcept;
};

class KeyStore {
 public:
  using Keys = std::unordered_map<std::string, KeyEntry, NameHash>;
  using Tombstones = std::unordered_map<std::string, TombstoneEntry, NameHash>;

  // `metrics`: merges and mistyped entries are counted there; `events`: where the change events
  // of subscribed keys go.
  // `large`: keys whose encoded state is larger are noted (LargeSize) when their digest is
  // computed. `digest_tree_depth`: the tree's first depth; it deepens as the store grows.
  KeyStore(int digest_tree_depth, size_t large, ReplicatorMetrics& metrics,
           std::vector<ReplicaEvent>& events);

  // The digest tree deepens (16 times the leaves) when its leaves hold more than
  // kMaxLeafAverage keys and tombstones on average, up to kMaxTreeDepth (a million leaves), so
  // that what a round lists of the keys of a differing leaf stays small whatever the store's
  // size. It does not shrink.
  static constexpr size_t kMaxLeafAverage = 32;
  static constexpr int kMaxTreeDepth = 5;

  static uint64_t KeyHash(std::string_view key);

  const Keys& keys() const { return keys_; }
  const Tombstones& tombstones() const { return tombstones_; }
  KeyEntry* FindKey(const std::string& name) {
    auto it = keys_.find(name);
    return it == keys_.end() ? nullptr : &it->second;
  }
  const KeyEntry* FindKey(const std::string& name) const {
    auto it = keys_.find(name);
    return it == keys_.end() ? nullptr : &it->second;
  }
  TombstoneEntry* FindTombstone(const std::string& name) {
    auto it = tombstones_.find(name);
    return it == tombstones_.end() ? nullptr : &it->second;
  }
  const TombstoneEntry* FindTombstone(const std::string& name) const {
    auto it = tombstones_.find(name);
    return it == tombstones_.end() ? nullptr : &it->second;
  }
  bool IsDeleted(const std::string& name) const { return tombstones_.count(name) != 0; }
  bool Subscribed(const std::string& name) const { return subscriptions_.count(name) != 0; }

  // A new live key (not in the store, not deleted) holding `value`; returns its entry and the
  // name as the store holds it. Call MarkChanged after.
  std::pair<const std::string*, KeyEntry*> AddKey(std::string name, AnyCrdt value);
  // After a change of entry `e` of `name`: its digest is recomputed at the next refresh, the name
  // is tracked for the snapshot, and subscribers see an event if the value moved from `before`
  // (nullopt: nobody subscribed).
  // (Inline: every local update calls it.)
  void MarkChanged(const std::string& name, KeyEntry& e, const std::optional<AnyCrdt>& before) {
    if (!e.digest_dirty) {
      e.digest_dirty = true;
      dirty_digests_.push_back(name);
    }
    if (track_changes_) changed_.insert(name);
    if (before && !before->SameValue(e.value)) {
      events_.push_back({ReplicaEvent::Kind::kChanged, name, e.type, e.value});
    }
  }
  // Joins a value into the key (ignored for a deleted key); false when mistyped.
  bool MergeValue(const std::string& name, AnyCrdt value);
  // Applies a tombstone: the live key goes, the tombstone stays. kAdded for a new tombstone
  // (marked pending when `publish`), kKnown when the key was deleted already (the dots join),
  // kMistyped when the key (or its tombstone) has another type.
  enum class Deletion { kAdded, kKnown, kMistyped };
  Deletion ApplyTombstone(const Tombstone& t, bool publish);
  // The tombstone as it goes to a peer.
  static Tombstone ToTombstone(const std::string& name, const TombstoneEntry& t) {
    return Tombstone{name, t.type, static_cast<uint64_t>(t.deleted_at), t.dots};
  }
  // The collector's pass: `collect(entry)` says whether a tombstone goes. One whose
  // under_floor_since it set (every member has it) leaves the digest tree at once: every replica
  // that has not missed it holds it, so anti-entropy has nothing to repair with it, and it stays
  // only to ignore late frames until it goes.
  template <typename Pred>
  size_t CollectTombstones(Pred&& collect) {
    size_t n = 0;
    for (auto it = tombstones_.begin(); it != tombstones_.end();) {
      const bool go = collect(it->second);
      if (it->second.under_floor_since != 0 && it->second.digest != 0) {
        tree_.Toggle(it->second.key_hash, it->second.digest);
        it->second.digest = 0;
      }
      if (!go) {
        ++it;
        continue;
      }
      it = EraseTombstone(it);
      ++n;
    }
    return n;
  }
  // Takes the live keys for which `take(entry)` says so out of the store (with their markers),
  // as a quarantine does.
  template <typename Pred>
  std::vector<std::pair<std::string, AnyCrdt>> TakeKeysIf(Pred&& take) {
    std::vector<std::pair<std::string, AnyCrdt>> out;
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (!take(it->second)) {
        ++it;
        continue;
      }
      out.push_back(TakeKey(it++));
    }
    return out;
  }

  void Subscribe(const std::string& name) { ++subscriptions_[name]; }
  void Unsubscribe(const std::string& name);

  // ---- pruning markers (replica/pruning_marker.h), of live keys ----
  using Markers = std::unordered_map<std::string, PruningMarkers, NameHash>;
  const PruningMarkers* MarkersOf(const std::string& name) const {
    if (markers_.empty()) return nullptr;  // the common case: no pruning under way, no hashing
    auto it = markers_.find(name);
    return it == markers_.end() ? nullptr : &it->second;
  }
  const Markers& markers() const { return markers_; }
  // Replaces a live key's markers (empty: none); its digest and snapshot record follow.
  void SetMarkers(const std::string& name, PruningMarkers markers);

  // ---- activity (expiring keys only: replica/key_expiry.h) ----
  // The latest update of a live key on any replica (wall clock; 0: none noted).
  TimeMicros ActivityOf(const std::string& name) const {
    if (activity_.empty()) return 0;
    auto it = activity_.find(name);
    return it == activity_.end() ? 0 : it->second;
  }
  // Raises a live key's activity to `t`; its digest and snapshot record follow.
  void NoteActivity(const std::string& name, TimeMicros t);
  // Removes a live key that expired (no tombstone) and tells its subscribers.
  void ExpireKey(const std::string& name);

  // Notes the encoded size of a live key's state (LargeSize).
  void NoteEncodedSize(const std::string& name, size_t size);
  // The encoded size of a live key larger than `large` as of its last digest (estimated for a
  // set: replica/state_digest.h) or NoteEncodedSize (0: not large).
  size_t LargeSize(const std::string& name) const {
    if (large_.empty()) return 0;
    auto it = large_.find(name);
    return it == large_.end() ? 0 : it->second;
  }

  // ---- digests (anti-entropy) ----
  // Which keys changed since their last digest a refresh digests: kChanged all but the
  // unpublished ones (KeyEntry), which wait for the refresh after their flush; kCheap those of
  // kChanged whose state was at most kCheapDigestBytes at their last digest, or that have none
  // yet (the later steps of an anti-entropy round: each side's first step digests every key, and
  // a large key written meanwhile, which the peer's deltas do not match yet either, is not
  // digested again at every step); kAll every one.
  enum class Refresh { kChanged, kCheap, kAll };
  static constexpr size_t kCheapDigestBytes = 1024;
  void RefreshDigests(Refresh which = Refresh::kChanged);
  // Whether a peer's full state is what the key holds, by the digest of its bytes, markers and
  // activity, without decoding it: compared with the key's digest (refreshed first if the key
  // changed since), or for a set, whose digest is not of its encoding, with its encoding's.
  bool Holds(const KeyedState& s);
  // Digests a key changed since its last digest now, rather than at the next round.
  void RefreshDigestOf(const std::string& name);
  const DigestTree& tree() const { return tree_; }
  // The keys and tombstones of a digest-tree leaf, in no particular order.
  const std::vector<LeafMember>& LeafMembers(uint32_t leaf) const { return leaf_members_[leaf]; }
  // The member lists of the leaves below tree node (level, index), in leaf order.
  std::span<const std::vector<LeafMember>> MembersUnder(int level, uint32_t index) const {
    const auto [first, count] = tree_.LeavesUnder(level, index);
    return {leaf_members_.data() + first, count};
  }

  // ---- snapshots ----
  void TrackChanges() { track_changes_ = true; }
  bool tracking_changes() const { return track_changes_; }
  // The names changed since the last call (and those given back).
  std::set<std::string> TakeChanged() { return std::exchange(changed_, {}); }
  void GiveBack(const std::string& name) {
    if (track_changes_) changed_.insert(name);
  }

 private:
  Tombstones::iterator EraseTombstone(Tombstones::iterator it);
  std::pair<std::string, AnyCrdt> TakeKey(Keys::iterator it);
  void RefreshDigest(const std::string& name, KeyEntry& e);
  void LeafInsert(uint64_t key_hash, LeafMember member);
  void LeafErase(uint64_t key_hash, LeafMember member);
  // Rebuilds the tree and the leaf lists one level deeper.
  void DeepenTree();

  ReplicatorMetrics& metrics_;
  std::vector<ReplicaEvent>& events_;
  Keys keys_;
  Tombstones tombstones_;
  Markers markers_;                                                 // the keys that have any, only
  std::unordered_map<std::string, TimeMicros, NameHash> activity_;  // expiring keys only
  size_t large_threshold_;
  std::unordered_map<std::string, size_t, NameHash> large_;  // large keys only
  // The keys and tombstones of each digest-tree leaf, in no particular order: a member goes in
  // at the end and out by swapping with the last (found by its node, no name compared).
  std::vector<std::vector<LeafMember>> leaf_members_;
  size_t member_count_ = 0;  // in all leaves
  DigestTree tree_;
  std::vector<std::string> dirty_digests_;  // keys whose digest must be recomputed
  std::unordered_map<std::string, int> subscriptions_;
  bool track_changes_ = false;
  std::set<std::string> changed_;
};

}  // namespace convergent::internal
