// Placeholder fuzzer: replaced by fuzzers for every decoder of untrusted bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "convergent/version.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  volatile bool same = input == convergent::Version();
  (void)same;
  return 0;
}
