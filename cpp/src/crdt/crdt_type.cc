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
  const auto i = static_cast<size_t>(t);
  return i >= 1 && i <= std::size(kCrdtTypeNames) ? kCrdtTypeNames[i - 1] : "unknown";
}

}  // namespace convergent
