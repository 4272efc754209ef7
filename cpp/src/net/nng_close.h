// CloseGuarded: nng_close() that cannot hang its caller. nng_close can block for good while NNG
// still tears pipes down: in NNG 1.5.2 a TCP or IPC connection closed from this side while a frame
// is arriving on it wedges NNG's reaper thread, and every later close in the process waits for it
// (upstream issues 1543 and 1813; see nng_transport.cc, whose Close() and HangUpBus() avoid it).
// The close runs on a helper thread; after 2 s the caller stops waiting and the socket is left
// behind (counted, and reported on stderr). A last resort: the transport's closes should never get
// there.
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
