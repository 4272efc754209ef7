// libFuzzer target for Decode<ORMap> (the checks are in state_fuzz_check.h).
#include <cstddef>
#include <cstdint>

#include "state_fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return convergent::fuzz::CheckStateDecoder<convergent::ORMap>(data, size);
}
