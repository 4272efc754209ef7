// A tiny program built against the installed convergent package (find_package(convergent)):
// it uses the public CRDT headers and the codec, as a user linking the C++ core would.
#include <cstdio>

#include "convergent/codec.h"
#include "convergent/crdt/orset.h"
#include "convergent/version.h"

int main() {
  using convergent::ReplicaId;
  convergent::ORSet a, b;
  b.Join(a.Add(ReplicaId::FromName("A"), convergent::StringValue("hello")));
  auto decoded = convergent::Decode<convergent::ORSet>(convergent::Encode(b));
  if (!decoded.ok() || !(decoded.value() == a)) return 1;
  std::printf("convergent %s: %zu element(s) replicated\n", convergent::Version(), a.size());
  return 0;
}
