// TlsConfig: an NNG TLS configuration for tls+tcp:// URLs, mutual (the peer's certificate must be
// signed by the CA), from the files named in TransportOptions.
//
// Thread safety: Init() once, before the configuration is handed to NNG; then read-only.
#pragma once

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "convergent/status.h"
#include "convergent/transport.h"

namespace convergent::internal {

class TlsConfig {
 public:
  ~TlsConfig() {
    if (cfg_ != nullptr) nng_tls_config_free(cfg_);
  }
  // `mode`: server (listeners) or client (dialers); the files come from `o`.
  Status Init(nng_tls_mode mode, const TransportOptions& o);
  nng_tls_config* get() const { return cfg_; }

 private:
  nng_tls_config* cfg_ = nullptr;
};

}  // namespace convergent::internal
