#include "convergent/process.h"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace convergent {

void ReturnFreedMemoryPromptly() {
#if defined(__GLIBC__)
  constexpr int kThreshold = 128 * 1024;  // glibc's starting values, kept fixed
  mallopt(M_MMAP_THRESHOLD, kThreshold);
  mallopt(M_TRIM_THRESHOLD, kThreshold);
#endif
}

}  // namespace convergent
