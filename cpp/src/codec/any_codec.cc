// EncodeAny / DecodeAny (convergent/codec.h): the typed codec, dispatched on the held type or on
// the type an encoding names.
#include <utility>

#include "codec/state_codec.h"
#include "convergent/codec.h"

namespace convergent {
namespace {

template <typename T>
Result<AnyCrdt> DecodeAs(std::string_view bytes) {
  auto v = Decode<T>(bytes);
  if (!v.ok()) return v.status();
  return AnyCrdt(std::move(v).value());
}

}  // namespace

std::string EncodeAny(const AnyCrdt& v) {
  return v.Visit([](const auto& x) { return Encode(x); });
}

void EncodeAnyTo(const AnyCrdt& v, const std::function<void(std::string_view)>& sink) {
  if (const ORSet* set = v.get_if<ORSet>()) return internal::EncodeORSetTo(*set, sink);
  sink(EncodeAny(v));
}

Result<AnyCrdt> DecodeAny(std::string_view bytes) {
  auto type = PeekType(bytes);
  if (!type.ok()) return type.status();
  return VisitCrdtType(
      *type, [&](auto t) { return DecodeAs<typename decltype(t)::type>(bytes); },
      []() -> Result<AnyCrdt> { return Status::Corruption("unknown CRDT type"); });
}

}  // namespace convergent
