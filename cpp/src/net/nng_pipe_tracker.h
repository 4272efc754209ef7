// PipeTracker: what NNG's pipe events and the peers' byes tell the NNG transport about its
// connections, and the closes that follow from them (nng_transport.cc tells why NNG 1.5.2 needs
// this care). The pipe callbacks run on NNG's threads (the removals on its reaper thread, before
// the connection is torn down) and the byes on its receive callbacks: they take no lock but `mu`,
// and never hold it while calling NNG. They get a raw pointer: kept alive for good if a socket is
// left behind open (see KeepForever).
//
// Dialers are closed from the removal event of one of their connections, before NNG arms the
// redial: the connection (still listed in its socket) keeps the socket open meanwhile, and none
// of the dialer's callbacks runs on the reaper thread. (NNG 1.5.2 crashes when a dialer closes
// as its socket does.)
//
// Thread safety: every field but `excluded` under `mu`; the callbacks run on NNG's threads.
#pragma once

#include <nng/nng.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace convergent::internal {

using Clock = std::chrono::steady_clock;

// After a bye, its sender's URLs are not dialed again for this long: its listeners are closing.
constexpr auto kQuietAfterBye = std::chrono::milliseconds(1000);
// A push socket's first connection is awaited this long before the socket closes without it:
// one to a live peer is made within a round trip, and must not be negotiating at the close.
constexpr auto kFirstDialGrace = std::chrono::milliseconds(250);

struct PipeTracker {
  struct Dialer {  // a bus dialer
    std::string url;
    Clock::time_point started;
    bool connected = false;  // ever
    bool drop = false;       // its node said bye, or it is hung up: closed when its connection goes
    bool closed = false;
  };

  // A push socket (point to point, to one peer). It is retired rather than closed at once: its
  // connection is closed (or refused when it comes), which closes its dialer before it redials,
  // and then the socket closes with nothing negotiating.
  struct Push {
    std::string url;
    nng_dialer dialer = NNG_DIALER_INITIALIZER;
    Clock::time_point dialed;
    uint32_t pipe = 0;       // its connection, while up
    bool connected = false;  // ever
    bool retired = false;    // to be closed: its connections are refused
    bool dialer_closed = false;
    int closing_dialer = 0;                           // closes under way (without mu)
    std::shared_ptr<std::atomic<bool>> retired_flag;  // the socket's, read by Send()

    // Whether the socket may close now (with mu held).
    bool Closable(Clock::time_point now) const {
      return retired && closing_dialer == 0 &&
             (dialer_closed || (!connected && now - dialed >= kFirstDialGrace));
    }
    // Whether its connection is on its way, or up, to a node that said bye.
    bool InFlight() const { return retired && !dialer_closed; }
  };

  // What to close, once mu is released.
  struct Todo {
    std::vector<nng_pipe> pipes;
    nng_dialer dialer = NNG_DIALER_INITIALIZER;
    int push_socket = 0;
  };

  std::mutex mu;
  std::condition_variable changed;
  // The bus connection being hung up: its end was sent, and our broadcasts skip it (bus0 in raw
  // mode skips one connection a message) until it is gone. 0: none.
  std::atomic<uint32_t> excluded{0};
  Clock::time_point last_event;                    // a connection came or went
  bool closing = false;                            // Close() began: connections are refused
  std::map<uint32_t, bool> bus;                    // bus connection -> started (bus0 sends)
  std::set<uint32_t> pull;                         // point-to-point connections in
  std::map<int, Dialer> dialers;                   // by dialer id
  std::map<int, Push> push;                        // by push socket id
  std::map<std::string, Clock::time_point> quiet;  // URL of a bye's sender -> dial after
  // Bus connections to drop once our push connections to the p2p URL are no longer on their way:
  // their node waits for the drop before it closes its listeners.
  std::map<std::string, std::vector<uint32_t>> deferred;

  // Whether `url` said bye moments ago (with mu held).
  bool QuietLocked(const std::string& url);

  // Retires a push socket (with mu held).
  Todo RetireLocked(int push_socket, Push& p);

  // The bus connections deferred for `url` that may go now (with mu held).
  void TakeDeferredLocked(const std::string& url, Todo* todo);

  void Do(const Todo& todo);

  static void OnBusPipe(nng_pipe p, nng_pipe_ev ev, void* arg);

  static void OnPullPipe(nng_pipe p, nng_pipe_ev ev, void* arg);

  static void OnPushPipe(nng_pipe p, nng_pipe_ev ev, void* arg);
};

// Keeps `t` alive for good: a socket left behind open may still call back into it.
void KeepForever(const std::shared_ptr<PipeTracker>& t);
// Whether dialer `d` is still open.
bool DialerOpen(nng_dialer d);

}  // namespace convergent::internal
