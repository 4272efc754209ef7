// CloseGuarded: nng_close() that cannot hang its caller. nng_close can block while NNG still
// tears pipes down, for instance with a send pending on a connection the peer cut (upstream
// issues 1543 and 1813). The close runs on a helper thread; after 2 s the caller stops waiting
// and the socket is left behind (counted, and reported on stderr).
//
// Thread safety: callable from any thread.
#pragma once

#include <nng/nng.h>

#include <cstdint>

namespace convergent::internal {

// Closes `s`; false if it did not close within 2 s (it is then left behind).
bool CloseGuarded(nng_socket s);
// How many sockets were left behind so far, in this process.
uint64_t SocketsLeftBehind();

}  // namespace convergent::internal
