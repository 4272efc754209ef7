#include "convergent/crdt/crdt_type.h"

namespace convergent {

const char* CrdtTypeName(CrdtType t) {
  switch (t) {
    case CrdtType::kGCounter:
      return "GCounter";
    case CrdtType::kPNCounter:
      return "PNCounter";
    case CrdtType::kLWWRegister:
      return "LWWRegister";
    case CrdtType::kORSet:
      return "ORSet";
    case CrdtType::kORMap:
      return "ORMap";
    case CrdtType::kFlag:
      return "Flag";
    case CrdtType::kMVRegister:
      return "MVRegister";
    case CrdtType::kGSet:
      return "GSet";
    case CrdtType::kLWWMap:
      return "LWWMap";
    case CrdtType::kPNCounterMap:
      return "PNCounterMap";
    case CrdtType::kORMultiMap:
      return "ORMultiMap";
  }
  return "unknown";
}

}  // namespace convergent
