#include "net/nng_handshakes.h"

#include <nng/nng.h>

#include <algorithm>

namespace convergent::internal {
namespace {

uint64_t Value(nng_stat* scope, const char* name) {
  nng_stat* s = nng_stat_find(scope, name);
  return s == nullptr ? 0 : nng_stat_value(s);
}

}  // namespace

HandshakeFailures::Counts HandshakeFailures::Poll(const std::vector<uint32_t>& sockets) {
  std::lock_guard lock(mu_);
  nng_stat* root = nullptr;
  if (nng_stats_get(&root) != 0) return totals_;
  std::map<uint32_t, uint64_t> listeners, dialers;
  for (nng_stat* s = nng_stat_child(root); s != nullptr; s = nng_stat_next(s)) {
    const std::string kind = nng_stat_name(s);
    if (kind != "listener" && kind != "dialer") continue;
    const auto socket = static_cast<uint32_t>(Value(s, "socket"));
    if (std::find(sockets.begin(), sockets.end(), socket) == sockets.end()) continue;
    const auto id = static_cast<uint32_t>(Value(s, "id"));
    const uint64_t failed = Value(s, "auth") + Value(s, "proto");
    const bool listener = kind == "listener";
    auto& seen = listener ? listeners_ : dialers_;
    const uint64_t before = seen.count(id) ? seen[id] : 0;
    if (failed > before) {
      (listener ? totals_.refused_in : totals_.refused_out) += failed - before;
      if (!listener) {
        nng_stat* url = nng_stat_find(s, "url");
        if (url != nullptr && nng_stat_type(url) == NNG_STAT_STRING) {
          totals_.last_out_url = nng_stat_string(url);
        }
      }
    }
    (listener ? listeners : dialers)[id] = std::max(failed, before);
  }
  nng_stats_free(root);
  listeners_ = std::move(listeners);  // the closed ones leave, their failures counted
  dialers_ = std::move(dialers);
  return totals_;
}

}  // namespace convergent::internal
