// absl::InlinedVector for the CRDT states (a vector with room for N elements inside the object,
// moved with a memcpy when its elements allow). Included through here with GCC's
// -Wmaybe-uninitialized off for absl's own lines: GCC 12 at -O2 warns falsely inside the move of
// an empty inline vector (the unused heap pointer of the union is copied along). The pragma
// only holds where this is the first include of absl's inlined_vector.h in a translation unit,
// so the CRDT headers include it before any other absl header.
//
// Thread safety: a plain container.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <absl/container/inlined_vector.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
