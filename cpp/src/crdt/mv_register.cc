#include "convergent/crdt/mv_register.h"

#include <algorithm>
#include <utility>

namespace convergent {

MVRegister MVRegister::Set(ReplicaId replica, Value v) {
  MVRegister delta;
  store_.TakeObserved(delta.ctx_, [](const Dot&) {});  // overwrites what it observed
  const Dot d = ctx_.Next(replica);
  store_.Insert(d, v);
  delta.store_.Insert(d, std::move(v));
  delta.ctx_.Insert(d);
  return delta;
}

void MVRegister::Join(const MVRegister& other) {
  store_.DropRemoved(&other.store_, other.ctx_, [](const Dot&) {});
  store_.AddUnseen(other.store_, ctx_, [](const Dot&) {});
  ctx_.Join(other.ctx_);
}

std::vector<Value> MVRegister::Values() const {
  std::vector<Value> out;
  for (const auto& e : store_) out.push_back(e.value);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<MVRegister> MVRegister::FromParts(Store store, CausalContext ctx) {
  for (const auto& e : store) {
    if (!ctx.Contains(e.dot)) return Status::Corruption("MVRegister: a dot outside the context");
  }
  MVRegister r;
  r.store_ = std::move(store);
  r.ctx_ = std::move(ctx);
  return r;
}

}  // namespace convergent
