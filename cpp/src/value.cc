#include "convergent/value.h"

namespace convergent {

void Value::CopyToHeap(std::string_view bytes) {
  HeapPart h{new char[bytes.size()], bytes.size()};
  std::memcpy(h.data, bytes.data(), bytes.size());
  std::memcpy(raw_, &h, sizeof h);
  set_tag(kHeap);
}

}  // namespace convergent
