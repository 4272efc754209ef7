// EncodeAny / DecodeAny (convergent/codec.h): the typed codec, dispatched on the held type or on
// the type an encoding names.
#include <utility>

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

Result<AnyCrdt> DecodeAny(std::string_view bytes) {
  auto type = PeekType(bytes);
  if (!type.ok()) return type.status();
  switch (*type) {
    case CrdtType::kGCounter:
      return DecodeAs<GCounter>(bytes);
    case CrdtType::kPNCounter:
      return DecodeAs<PNCounter>(bytes);
    case CrdtType::kLWWRegister:
      return DecodeAs<LWWRegister>(bytes);
    case CrdtType::kORSet:
      return DecodeAs<ORSet>(bytes);
    case CrdtType::kORMap:
      return DecodeAs<ORMap>(bytes);
    case CrdtType::kFlag:
      return DecodeAs<Flag>(bytes);
    case CrdtType::kMVRegister:
      return DecodeAs<MVRegister>(bytes);
    case CrdtType::kGSet:
      return DecodeAs<GSet>(bytes);
    case CrdtType::kLWWMap:
      return DecodeAs<LWWMap>(bytes);
    case CrdtType::kPNCounterMap:
      return DecodeAs<PNCounterMap>(bytes);
    case CrdtType::kORMultiMap:
      return DecodeAs<ORMultiMap>(bytes);
  }
  return Status::Corruption("unknown CRDT type");
}

}  // namespace convergent
