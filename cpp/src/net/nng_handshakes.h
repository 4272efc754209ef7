// HandshakeFailures: the connections of one NNG transport that failed their handshake, counted
// from NNG's own statistics of its listeners and dialers (NNG counts them but tells nobody: a
// dialer just retries). A failure is NNG's "auth" or "proto": on a tls+tcp:// URL a certificate
// one side refused (not signed by its CA, expired, missing) or a peer not speaking TLS; on any URL
// a peer not speaking this protocol. NNG does not say which.
//
// Thread safety: Poll may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace convergent::internal {

class HandshakeFailures {
 public:
  struct Counts {
    uint64_t refused_in = 0;   // connections to this transport's listeners
    uint64_t refused_out = 0;  // connections its dialers made
    std::string last_out_url;  // the URL of the latest failed dial
  };

  // Adds what failed since the last poll on the listeners and dialers of `sockets` (NNG socket
  // ids) and returns the totals. A dialer closed since keeps what it counted.
  Counts Poll(const std::vector<uint32_t>& sockets);

 private:
  std::mutex mu_;
  std::map<uint32_t, uint64_t> listeners_;  // id -> failures counted so far
  std::map<uint32_t, uint64_t> dialers_;
  Counts totals_;
};

}  // namespace convergent::internal
