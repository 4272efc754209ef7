#include "replica/pruning_marker_codec.h"

#include <algorithm>
#include <utility>

namespace convergent::internal {
namespace {

template <typename R>
bool StrictlyAscending(const R& r) {
  return std::adjacent_find(r.begin(), r.end(), [](auto a, auto b) { return !(a < b); }) == r.end();
}

}  // namespace

void PutMarkers(const PruningMarkers& markers,
                google::protobuf::RepeatedPtrField<v1::PruningMarker>* out) {
  out->Reserve(static_cast<int>(markers.size()));
  for (const PruningMarker& m : markers) {
    v1::PruningMarker* p = out->Add();
    p->set_removed(m.removed.value);
    p->set_owner(m.owner.value);
    for (ReplicaId r : m.seen) p->add_seen(r.value);
    if (!m.performed) continue;
    const PruningRecord& rec = *m.performed;
    p->set_performed(true);
    p->set_into(rec.into.value);
    p->set_first(rec.first);
    for (uint64_t c : rec.moved) p->add_moved(c);
    for (const PruningRecord::Fold& f : rec.folds) {
      p->add_fold_removed(f.removed_counter);
      p->add_fold_target(f.target_counter);
      p->add_fold_counter(f.counter);
    }
  }
}

Result<PruningMarkers> GetMarkers(const google::protobuf::RepeatedPtrField<v1::PruningMarker>& in) {
  PruningMarkers out;
  out.reserve(in.size());
  for (const v1::PruningMarker& p : in) {
    const auto bad = [](const char* what) {
      return Status::Corruption(std::string("pruning marker: ") + what);
    };
    if (p.removed() == 0 || p.owner() == 0) return bad("a replica id of 0");
    if (!out.empty() && !(out.back().removed.value < p.removed())) {
      return bad("markers not ascending by removed replica");
    }
    if (!StrictlyAscending(p.seen())) return bad("seen not strictly ascending");
    PruningMarker m;
    m.removed = ReplicaId{p.removed()};
    m.owner = ReplicaId{p.owner()};
    m.seen.reserve(p.seen_size());
    for (uint64_t r : p.seen()) m.seen.push_back(ReplicaId{r});
    if (p.performed()) {
      if (p.into() == 0 || p.into() == p.removed()) return bad("a bad target");
      if (!StrictlyAscending(p.moved())) return bad("moved not strictly ascending");
      if (p.fold_removed_size() != p.fold_target_size() ||
          p.fold_removed_size() != p.fold_counter_size()) {
        return bad("fold lists of different lengths");
      }
      // The moved dots are first .. first + n - 1 of the target: they must not wrap.
      if (p.moved_size() > 0 && (p.first() == 0 || p.first() - 1 > UINT64_MAX - p.moved_size())) {
        return bad("moved dots beyond the counter range");
      }
      PruningRecord rec{ReplicaId{p.removed()},
                        ReplicaId{p.into()},
                        p.first(),
                        {p.moved().begin(), p.moved().end()},
                        {}};
      for (int i = 0; i < p.fold_removed_size(); ++i) {
        if (p.fold_removed(i) == 0 || p.fold_counter(i) == 0) return bad("a fold of dot 0");
        rec.folds.push_back({p.fold_removed(i), p.fold_target(i), p.fold_counter(i)});
      }
      m.performed = std::move(rec);
    } else if (p.into() != 0 || p.moved_size() != 0 || p.fold_removed_size() != 0) {
      return bad("a record without `performed`");
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace convergent::internal
