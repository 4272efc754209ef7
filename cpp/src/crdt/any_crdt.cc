#include "convergent/crdt/any_crdt.h"

#include <concepts>
#include <string>

namespace convergent {
namespace {

// The value a reader sees, per type: equal projections mean "no visible change" (an LWW write
// of the same value again is no change).
int64_t Read(const PNCounter& c) { return c.value(); }
uint64_t Read(const GCounter& c) { return c.value(); }
const Value& Read(const LWWRegister& r) { return r.value(); }
std::vector<Value> Read(const ORSet& s) { return s.Elements(); }
std::vector<Value> Read(const GSet& s) { return s.Elements(); }
bool Read(const Flag& f) { return f.enabled(); }
std::vector<Value> Read(const MVRegister& r) { return r.Values(); }

bool SameMapValue(const ORMap& a, const ORMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, entry] : a.store().entries()) {
    if (b.Find(key) == nullptr || b.TypeOf(key) != entry.type()) return false;
    bool same = false;
    switch (entry.type()) {
      case CrdtType::kGCounter:
        same = a.GetGCounter(key)->value() == b.GetGCounter(key)->value();
        break;
      case CrdtType::kPNCounter:
        same = a.GetPNCounter(key)->value() == b.GetPNCounter(key)->value();
        break;
      case CrdtType::kLWWRegister:
        same = a.GetLWWRegister(key)->value() == b.GetLWWRegister(key)->value();
        break;
      case CrdtType::kMVRegister:
        same = a.GetMVRegister(key)->Values() == b.GetMVRegister(key)->Values();
        break;
      case CrdtType::kORSet:
        same = a.GetORSet(key)->Elements() == b.GetORSet(key)->Elements();
        break;
      case CrdtType::kGSet:
        same = a.GetGSet(key)->Elements() == b.GetGSet(key)->Elements();
        break;
      case CrdtType::kFlag:
        same = true;  // a flag entry exists only when enabled
        break;
      default:
        break;
    }
    if (!same) return false;
  }
  return true;
}

}  // namespace

Result<AnyCrdt> AnyCrdt::Empty(CrdtType type) {
  return VisitCrdtType(
      type, [](auto t) -> Result<AnyCrdt> { return AnyCrdt(typename decltype(t)::type()); },
      [&]() -> Result<AnyCrdt> {
        return Status::InvalidArgument("unknown CRDT type number " +
                                       std::to_string(static_cast<int>(type)));
      });
}

CrdtType AnyCrdt::type() const {
  return Visit([](const auto& v) { return CrdtTypeOf<std::decay_t<decltype(v)>>::value; });
}

Status AnyCrdt::Join(const AnyCrdt& other) {
  if (other.v_.index() != v_.index()) {
    return Status::TypeMismatch("cannot join " + CrdtTypeWithArticle(other.type()) + " into " +
                                CrdtTypeWithArticle(type()));
  }
  Visit([&](auto& held) {
    using T = std::decay_t<decltype(held)>;
    held.Join(*other.get_if<T>());
  });
  return Status::Ok();
}

bool AnyCrdt::SameValue(const AnyCrdt& other) const {
  if (other.v_.index() != v_.index()) return false;
  return Visit([&](const auto& held) -> bool {
    using T = std::decay_t<decltype(held)>;
    const T& theirs = *other.get_if<T>();
    if constexpr (std::is_same_v<T, ORMap>) {
      return SameMapValue(held, theirs);
    } else if constexpr (std::is_same_v<T, LWWMap> || std::is_same_v<T, PNCounterMap> ||
                         std::is_same_v<T, ORMultiMap>) {
      return SameMapValue(held.map(), theirs.map());
    } else {
      return Read(held) == Read(theirs);
    }
  });
}

namespace {
template <typename T>
concept Prunable = requires(T& t, const PruningRecord& p) {
  t.PruningCleanup(p);
};
}  // namespace

bool AnyCrdt::NeedsPruningFrom(ReplicaId removed) const {
  return Visit([&](const auto& v) {
    if constexpr (Prunable<std::decay_t<decltype(v)>>) {
      return v.NeedsPruningFrom(removed);
    } else {
      return false;
    }
  });
}

namespace {
template <typename T>
concept Causal = requires(const T& v, const CausalContext& c) {
  { v.context() } -> std::same_as<const CausalContext&>;
  { v.DeltaSince(c) } -> std::same_as<std::optional<T>>;
};
}  // namespace

const CausalContext* AnyCrdt::Context() const {
  return Visit([](const auto& v) -> const CausalContext* {
    if constexpr (Causal<std::decay_t<decltype(v)>>) {
      return &v.context();
    } else {
      return nullptr;
    }
  });
}

std::optional<AnyCrdt> AnyCrdt::DeltaSince(const CausalContext& seen) const {
  return Visit([&](const auto& v) -> std::optional<AnyCrdt> {
    if constexpr (Causal<std::decay_t<decltype(v)>>) {
      auto delta = v.DeltaSince(seen);
      if (!delta) return std::nullopt;
      return AnyCrdt(std::move(*delta));
    } else {
      return std::nullopt;
    }
  });
}

std::vector<ReplicaId> AnyCrdt::ModifiedBy() const {
  return Visit([&](const auto& v) {
    if constexpr (Prunable<std::decay_t<decltype(v)>>) {
      return v.ModifiedBy();
    } else {
      return std::vector<ReplicaId>{};
    }
  });
}

std::optional<PruningRecord> AnyCrdt::Prune(ReplicaId removed, ReplicaId into) {
  return Visit([&](auto& v) -> std::optional<PruningRecord> {
    if constexpr (Prunable<std::decay_t<decltype(v)>>) {
      return v.Prune(removed, into);
    } else {
      return PruningRecord{removed, into, 0, {}, {}};
    }
  });
}

void AnyCrdt::PruningCleanup(const PruningRecord& p) {
  Visit([&](auto& v) {
    if constexpr (Prunable<std::decay_t<decltype(v)>>) v.PruningCleanup(p);
  });
}

}  // namespace convergent
