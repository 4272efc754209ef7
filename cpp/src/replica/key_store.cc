// Header-only xxHash: no library to link (for us or for consumers of the static library).
#define XXH_INLINE_ALL
#include "replica/key_store.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "replica/state_digest.h"

namespace convergent::internal {
namespace {

// Over the key, its type and its delete dots: replicas that saw different deletes of a key
// differ, and anti-entropy joins their dots.
uint64_t TombstoneDigest(uint64_t key_hash, CrdtType type, const DeleteDots& dots) {
  static constexpr char kTag[] = "tombstone";
  uint64_t h = XXH64(kTag, sizeof kTag - 1, key_hash ^ static_cast<uint64_t>(type));
  for (const Dot& d : dots) {
    const uint64_t words[2] = {d.replica.value, d.counter};
    h = XXH64(words, sizeof words, h);
  }
  return h == 0 ? 1 : h;
}

// Joins `from` into the ascending, unique `into`; true when it grew.
bool JoinDots(DeleteDots& into, const DeleteDots& from) {
  bool grew = false;
  for (const Dot& d : from) {
    auto at = std::lower_bound(into.begin(), into.end(), d);
    if (at != into.end() && *at == d) continue;
    into.insert(at, d);
    grew = true;
  }
  return grew;
}

}  // namespace

size_t NameHash::operator()(const std::string& s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

KeyStore::KeyStore(int digest_tree_depth, size_t large, ReplicatorMetrics& metrics,
                   std::vector<ReplicaEvent>& events)
    : metrics_(metrics),
      events_(events),
      large_threshold_(large),
      leaf_members_(size_t{1} << (4 * digest_tree_depth)),
      tree_(digest_tree_depth) {}

uint64_t KeyStore::KeyHash(std::string_view key) { return XXH64(key.data(), key.size(), 0); }

void KeyStore::LeafInsert(uint64_t key_hash, LeafMember member) {
  leaf_members_[tree_.LeafOf(key_hash)].push_back(member);
  if (++member_count_ > kMaxLeafAverage * leaf_members_.size() && tree_.depth() < kMaxTreeDepth) {
    DeepenTree();
  }
}

void KeyStore::DeepenTree() {
  // Every key and tombstone in the maps is in the tree with its `digest` (0: not in it), so the
  // deeper tree is those digests again; each leaf's list splits into its 16.
  DigestTree deeper(tree_.depth() + 1);
  for (const auto& [name, e] : keys_) {
    if (e.digest != 0) deeper.Toggle(e.key_hash, e.digest);
  }
  for (const auto& [name, t] : tombstones_) {
    if (t.digest != 0) deeper.Toggle(t.key_hash, t.digest);
  }
  std::vector<std::vector<LeafMember>> members(leaf_members_.size() * DigestTree::kFanout);
  for (const std::vector<LeafMember>& leaf : leaf_members_) {
    for (const LeafMember m : leaf) members[deeper.LeafOf(m.key_hash())].push_back(m);
  }
  tree_ = std::move(deeper);
  leaf_members_ = std::move(members);
}

void KeyStore::LeafErase(uint64_t key_hash, LeafMember member) {
  std::vector<LeafMember>& leaf = leaf_members_[tree_.LeafOf(key_hash)];
  auto at = std::find(leaf.begin(), leaf.end(), member);
  if (at != leaf.end()) {
    *at = leaf.back();
    leaf.pop_back();
    --member_count_;
  }
}

std::pair<const std::string*, KeyEntry*> KeyStore::AddKey(std::string name, AnyCrdt value) {
  const uint64_t hash = KeyHash(name);
  const CrdtType type = value.type();
  auto [it, added] = keys_.emplace(
      std::move(name),
      KeyEntry{.key_hash = hash, .value = std::move(value), .type = type, .digest_dirty = false});
  assert(added && "AddKey: the key is in the store already (its leaf would list it twice)");
  LeafInsert(hash, LeafMember(&*it));
  return {&it->first, &it->second};
}

bool KeyStore::MergeValue(const std::string& name, AnyCrdt value) {
  if (tombstones_.count(name)) return true;
  auto it = keys_.find(name);
  if (it != keys_.end() && it->second.type != value.type()) {
    ++metrics_.entries_mistyped;
    return false;
  }
  ++metrics_.merge_count;
  const bool subscribed = Subscribed(name);
  std::optional<AnyCrdt> before;
  if (it == keys_.end()) {
    if (subscribed) before = *AnyCrdt::Empty(value.type());
    auto [stored, e] = AddKey(name, std::move(value));
    MarkChanged(*stored, *e, before);
    return true;
  }
  if (subscribed) before = it->second.value;
  it->second.value.Join(value);  // types checked above
  MarkChanged(it->first, it->second, before);
  return true;
}

KeyStore::Deletion KeyStore::ApplyTombstone(const Tombstone& t, bool publish) {
  if (auto it = tombstones_.find(t.key); it != tombstones_.end()) {
    if (it->second.type != t.type) {
      ++metrics_.entries_mistyped;
      return Deletion::kMistyped;
    }
    TombstoneEntry& known = it->second;
    known.deleted_at = std::min<TimeMicros>(known.deleted_at, t.deleted_at_us);
    if (JoinDots(known.dots, t.dots)) {  // (a digest of 0 is out of the tree: no toggle)
      if (known.digest != 0) tree_.Toggle(known.key_hash, known.digest);
      known.digest = TombstoneDigest(known.key_hash, known.type, known.dots);
      tree_.Toggle(known.key_hash, known.digest);
      known.under_floor_since = 0;
      if (track_changes_) changed_.insert(t.key);
    }
    return Deletion::kKnown;
  }
  const uint64_t hash = KeyHash(t.key);
  if (auto it = keys_.find(t.key); it != keys_.end()) {
    if (it->second.type != t.type) {
      ++metrics_.entries_mistyped;
      return Deletion::kMistyped;
    }
    if (it->second.digest != 0) tree_.Toggle(hash, it->second.digest);
    LeafErase(hash, LeafMember(&*it));
    keys_.erase(it);  // its pending delta and dirty digest go with it (skipped by name later)
    markers_.erase(t.key);
    activity_.erase(t.key);
    large_.erase(t.key);
  }
  TombstoneEntry tomb{.key_hash = hash,
                      .type = t.type,
                      .deleted_at = static_cast<TimeMicros>(t.deleted_at_us),
                      .dots = {},
                      .pending = publish};
  JoinDots(tomb.dots, t.dots);  // sorts what a peer sent
  tomb.digest = TombstoneDigest(hash, t.type, tomb.dots);
  tree_.Toggle(hash, tomb.digest);
  LeafInsert(hash, LeafMember(&*tombstones_.emplace(t.key, tomb).first));
  if (track_changes_) changed_.insert(t.key);
  if (Subscribed(t.key))
    events_.push_back({ReplicaEvent::Kind::kDeleted, t.key, t.type, AnyCrdt()});
  return Deletion::kAdded;
}

KeyStore::Tombstones::iterator KeyStore::EraseTombstone(Tombstones::iterator it) {
  if (it->second.digest != 0) tree_.Toggle(it->second.key_hash, it->second.digest);
  LeafErase(it->second.key_hash, LeafMember(&*it));
  if (track_changes_) changed_.insert(it->first);
  return tombstones_.erase(it);
}

std::pair<std::string, AnyCrdt> KeyStore::TakeKey(Keys::iterator it) {
  if (it->second.digest != 0) tree_.Toggle(it->second.key_hash, it->second.digest);
  LeafErase(it->second.key_hash, LeafMember(&*it));
  if (track_changes_) changed_.insert(it->first);
  markers_.erase(it->first);
  activity_.erase(it->first);
  large_.erase(it->first);
  auto node = keys_.extract(it);
  return {std::move(node.key()), std::move(node.mapped().value)};
}

void KeyStore::SetMarkers(const std::string& name, PruningMarkers markers) {
  auto it = keys_.find(name);
  if (it == keys_.end()) return;
  if (markers.empty()) {
    if (markers_.erase(name) == 0) return;
  } else {
    markers_[name] = std::move(markers);
  }
  MarkChanged(it->first, it->second, std::nullopt);
}

void KeyStore::NoteActivity(const std::string& name, TimeMicros t) {
  auto it = keys_.find(name);
  if (it == keys_.end()) return;
  TimeMicros& held = activity_[name];
  if (t <= held) return;
  held = t;
  MarkChanged(it->first, it->second, std::nullopt);
}

void KeyStore::ExpireKey(const std::string& name) {
  auto it = keys_.find(name);
  if (it == keys_.end()) return;
  const CrdtType type = it->second.type;
  TakeKey(it);
  if (Subscribed(name)) events_.push_back({ReplicaEvent::Kind::kExpired, name, type, AnyCrdt()});
}

void KeyStore::Unsubscribe(const std::string& name) {
  auto it = subscriptions_.find(name);
  if (it != subscriptions_.end() && --it->second <= 0) subscriptions_.erase(it);
}

namespace {

// A key's digest: its state's (replica/state_digest.h, seeded with the key's hash), its markers
// and its activity.
uint64_t KeyDigest(uint64_t state_digest, uint64_t key_hash, const PruningMarkers* markers,
                   TimeMicros active) {
  uint64_t digest = state_digest;
  if (markers != nullptr) digest ^= MarkersDigest(*markers);
  if (active != 0) {
    digest ^= XXH64(&active, sizeof active, key_hash + 1);  // replicas agree on expiry too
  }
  return digest == 0 ? 1 : digest;  // 0 means "not in the tree"
}

}  // namespace

bool KeyStore::Holds(const KeyedState& s) {
  auto it = keys_.find(s.key);
  if (it == keys_.end()) return false;
  KeyEntry& e = it->second;
  uint64_t ours = 0;
  if (DigestedByEncoding(e.type)) {
    if (e.digest_dirty) RefreshDigest(it->first, e);  // (it stays listed: the refresh skips it)
    ours = e.digest;
  } else {  // encoded now, a piece at a time (a set's digest is not of its encoding)
    ours = KeyDigest(DigestOfEncoding(e.value, e.key_hash).digest, e.key_hash, MarkersOf(it->first),
                     ActivityOf(it->first));
  }
  return KeyDigest(XXH64(s.state.data(), s.state.size(), e.key_hash), e.key_hash,
                   s.pruning.empty() ? nullptr : &s.pruning,
                   static_cast<TimeMicros>(s.last_active_us)) == ours;
}

void KeyStore::RefreshDigestOf(const std::string& name) {
  auto it = keys_.find(name);
  if (it != keys_.end() && it->second.digest_dirty) RefreshDigest(it->first, it->second);
}

void KeyStore::NoteEncodedSize(const std::string& name, size_t size) {
  if (size > large_threshold_) {
    large_[name] = size;
  } else if (!large_.empty()) {
    large_.erase(name);
  }
}

void KeyStore::RefreshDigest(const std::string& name, KeyEntry& e) {
  const StateDigest state = DigestOfState(e.value, e.key_hash);
  NoteEncodedSize(name, state.size);
  e.costly_digest = state.size > kCheapDigestBytes;
  const uint64_t digest = KeyDigest(state.digest, e.key_hash, MarkersOf(name), ActivityOf(name));
  if (e.digest != 0) tree_.Toggle(e.key_hash, e.digest);
  tree_.Toggle(e.key_hash, digest);
  e.digest = digest;
  e.digest_dirty = false;
}

void KeyStore::RefreshDigests(Refresh which) {
  std::vector<std::string> waiting;
  for (std::string& name : dirty_digests_) {
    auto it = keys_.find(name);
    if (it == keys_.end() || !it->second.digest_dirty) continue;
    const KeyEntry& e = it->second;
    if ((e.unpublished && which != Refresh::kAll) ||
        (which == Refresh::kCheap && e.costly_digest && e.digest != 0)) {
      waiting.push_back(std::move(name));
    } else {
      RefreshDigest(name, it->second);
    }
  }
  ReleaseIfLarge(dirty_digests_);
  if (!waiting.empty()) dirty_digests_ = std::move(waiting);
}

}  // namespace convergent::internal
