// libFuzzer target for Decode<ORSet> (the checks are in state_fuzz_check.h), and the
// differential check of the ORSet wire reader and writer against protobuf (orset_wire_check.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "orset_wire_check.h"
#include "state_fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string disagreement = convergent::fuzz::WireDisagreement(
      std::string_view(reinterpret_cast<const char*>(data), size));
  convergent::fuzz::Check(disagreement.empty(), disagreement.c_str());
  return convergent::fuzz::CheckStateDecoder<convergent::ORSet>(data, size);
}
