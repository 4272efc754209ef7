// CrdtType: the type tag of a replicated value. It travels on the wire with every state and is
// checked on every path, so a key can never be read or merged as another type.
//
// Thread safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>

namespace convergent {

class GCounter;
class PNCounter;
class Value;
template <typename V>
class BasicLWWRegister;
using LWWRegister = BasicLWWRegister<Value>;
class ORSet;
class Flag;
class MVRegister;
class GSet;
class ORMap;
class LWWMap;
class PNCounterMap;
class ORMultiMap;

enum class CrdtType : uint8_t {
  kGCounter = 1,
  kPNCounter = 2,
  kLWWRegister = 3,
  kORSet = 4,
  kORMap = 5,
  kFlag = 6,
  kMVRegister = 7,
  kGSet = 8,
  kLWWMap = 9,
  kPNCounterMap = 10,
  kORMultiMap = 11,
};

const char* CrdtTypeName(CrdtType t);  // "GCounter", ...; "unknown" for other numbers
// The name with its article, for messages: "a GCounter", "an ORSet", "an LWWMap".
std::string CrdtTypeWithArticle(CrdtType t);

// The CRDT types in CrdtType order (GCounter is 1): the one list from which the type numbers of
// the C++ types (CrdtTypeOf), the names (CrdtTypeName), AnyCrdt's variant and every per-type
// dispatch (VisitCrdtType, convergent/crdt/any_crdt.h) follow. A new type goes here, in
// kCrdtTypeNames and in the enum, at the end.
template <typename... Ts>
struct CrdtTypeList {};
using AllCrdtTypes = CrdtTypeList<GCounter, PNCounter, LWWRegister, ORSet, ORMap, Flag, MVRegister,
                                  GSet, LWWMap, PNCounterMap, ORMultiMap>;
inline constexpr const char* kCrdtTypeNames[] = {"GCounter", "PNCounter",    "LWWRegister", "ORSet",
                                                 "ORMap",    "Flag",         "MVRegister",  "GSet",
                                                 "LWWMap",   "PNCounterMap", "ORMultiMap"};

namespace detail {
template <typename T, typename... Ts>
constexpr int IndexOfType(CrdtTypeList<Ts...>) {
  int i = 0, found = -1;
  ((std::is_same_v<T, Ts> ? (found = i, ++i) : ++i), ...);
  return found;
}
template <typename... Ts>
constexpr size_t CountOf(CrdtTypeList<Ts...>) {
  return sizeof...(Ts);
}
}  // namespace detail
static_assert(detail::CountOf(AllCrdtTypes{}) == std::size(kCrdtTypeNames));
static_assert(detail::CountOf(AllCrdtTypes{}) == static_cast<size_t>(CrdtType::kORMultiMap));

// CrdtTypeOf<T>::value: the type number of a CRDT class (only the classes of the list have one).
template <typename T>
requires(detail::IndexOfType<T>(AllCrdtTypes{}) >= 0) struct CrdtTypeOf {
  static constexpr CrdtType value =
      static_cast<CrdtType>(detail::IndexOfType<T>(AllCrdtTypes{}) + 1);
};

}  // namespace convergent
