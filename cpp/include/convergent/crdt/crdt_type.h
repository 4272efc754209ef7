// CrdtType: the type tag of a replicated value. It travels on the wire with every state and is
// checked on every path, so a key can never be read or merged as another type.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <string>

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

template <typename T>
struct CrdtTypeOf;
template <>
struct CrdtTypeOf<GCounter> {
  static constexpr CrdtType value = CrdtType::kGCounter;
};
template <>
struct CrdtTypeOf<PNCounter> {
  static constexpr CrdtType value = CrdtType::kPNCounter;
};
template <>
struct CrdtTypeOf<LWWRegister> {
  static constexpr CrdtType value = CrdtType::kLWWRegister;
};
template <>
struct CrdtTypeOf<ORSet> {
  static constexpr CrdtType value = CrdtType::kORSet;
};
template <>
struct CrdtTypeOf<Flag> {
  static constexpr CrdtType value = CrdtType::kFlag;
};
template <>
struct CrdtTypeOf<MVRegister> {
  static constexpr CrdtType value = CrdtType::kMVRegister;
};
template <>
struct CrdtTypeOf<GSet> {
  static constexpr CrdtType value = CrdtType::kGSet;
};
template <>
struct CrdtTypeOf<ORMap> {
  static constexpr CrdtType value = CrdtType::kORMap;
};
template <>
struct CrdtTypeOf<LWWMap> {
  static constexpr CrdtType value = CrdtType::kLWWMap;
};
template <>
struct CrdtTypeOf<PNCounterMap> {
  static constexpr CrdtType value = CrdtType::kPNCounterMap;
};
template <>
struct CrdtTypeOf<ORMultiMap> {
  static constexpr CrdtType value = CrdtType::kORMultiMap;
};

}  // namespace convergent
