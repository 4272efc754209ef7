#include <cstdio>

#include "convergent/version.h"

int main() {
  std::printf("convergent %s\n", convergent::Version());
  return 0;
}
