#include "convergent/crdt/crdt_type.h"

#include <string>

namespace convergent {

std::string CrdtTypeWithArticle(CrdtType t) {
  const std::string name = CrdtTypeName(t);
  // Spoken letter by letter: O-R, M-V, L-W-W (and "unknown") take "an".
  const bool an = name.starts_with("OR") || name.starts_with("MV") || name.starts_with("LWW") ||
                  name == "unknown";
  return (an ? "an " : "a ") + name;
}

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
