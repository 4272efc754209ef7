#include "node/handshake_report.h"

namespace convergent::internal {

void HandshakeReport::Check(const TransportStats& t, TimeMicros now) {
  next_poll_ = now + kPoll;
  const uint64_t in = t.handshakes_refused - in_reported_;
  const uint64_t out = t.dials_refused - out_reported_;
  if ((in == 0 && out == 0) || now < next_warning_) return;
  next_warning_ = now + kInterval;
  in_reported_ = t.handshakes_refused;
  out_reported_ = t.dials_refused;
  const std::string why =
      tls_ ? "one side refused the other's certificate: not signed by its CA, expired, or "
             "missing; or the peer does not speak TLS"
           : "the peer does not speak this protocol: TLS, or not a convergent node";
  if (in > 0) {
    env_.Log(LogLevel::kWarning, node_name_,
             std::to_string(in) + " connection(s) to this node failed the handshake (" + why +
                 "); NNG does not tell which");
  }
  if (out > 0) {
    env_.Log(LogLevel::kWarning, node_name_,
             std::to_string(out) + " connection(s) this node dialed failed the handshake, " +
                 "the latest to " + t.refused_dial_url + " (" + why + ")");
  }
}

}  // namespace convergent::internal
