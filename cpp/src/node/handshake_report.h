// HandshakeReport: tells the node's log about connections that failed their handshake (see
// TransportStats::handshakes_refused): at most one warning per kInterval, with how many were
// refused since the last one, which way, and what that can mean. The counts themselves are
// metrics (convergent.transport.handshakes.refused, convergent.transport.dials.refused).
//
// Thread safety: none; the node core owns it.
#pragma once

#include <cstdint>
#include <string>

#include "convergent/env.h"
#include "convergent/transport.h"

namespace convergent::internal {

class HandshakeReport {
 public:
  static constexpr TimeMicros kInterval = 10'000'000;  // between two warnings
  static constexpr TimeMicros kPoll = 1'000'000;       // between two looks at the transport

  HandshakeReport(Env& env, std::string node_name, bool tls)
      : env_(env), node_name_(std::move(node_name)), tls_(tls) {}

  // Whether Check is due at `now` (reading the transport's statistics is not free).
  bool Due(TimeMicros now) const { return now >= next_poll_; }
  void Check(const TransportStats& t, TimeMicros now);

 private:
  Env& env_;
  std::string node_name_;
  bool tls_;
  TimeMicros next_poll_ = 0;
  TimeMicros next_warning_ = 0;
  uint64_t in_reported_ = 0;
  uint64_t out_reported_ = 0;
};

}  // namespace convergent::internal
