#include "net/nng_tls.h"

#include <fstream>
#include <iterator>
#include <string>

namespace convergent::internal {
namespace {

Status NngError(const std::string& what, int rv) {
  return Status::InvalidArgument(what + ": " + nng_strerror(rv));
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

Status TlsConfig::Init(nng_tls_mode mode, const TransportOptions& o) {
  if (o.tls_cert_file.empty() || o.tls_ca_file.empty()) {
    return Status::InvalidArgument(
        "a tls+tcp:// URL needs tls_cert_file (with tls_key_file, or the key in the same PEM "
        "file) and tls_ca_file");
  }
  if (int rv = nng_tls_config_alloc(&cfg_, mode); rv != 0) return NngError("TLS", rv);
  if (int rv = nng_tls_config_ca_file(cfg_, o.tls_ca_file.c_str()); rv != 0) {
    return NngError("TLS CA file '" + o.tls_ca_file + "'", rv);
  }
  if (o.tls_key_file.empty()) {  // one PEM file holds the certificate and its key
    std::string pem;
    if (!ReadFile(o.tls_cert_file, &pem)) {
      return Status::InvalidArgument("cannot read the TLS certificate '" + o.tls_cert_file + "'");
    }
    if (pem.find("PRIVATE KEY-----") == std::string::npos) {
      return Status::InvalidArgument("the TLS certificate file '" + o.tls_cert_file +
                                     "' holds no private key: give its key file too "
                                     "(tls_key_file, --tls-key-file)");
    }
    if (int rv = nng_tls_config_cert_key_file(cfg_, o.tls_cert_file.c_str(), nullptr); rv != 0) {
      return NngError("TLS certificate and key file '" + o.tls_cert_file + "'", rv);
    }
  } else {
    std::string cert, key;
    if (!ReadFile(o.tls_cert_file, &cert)) {
      return Status::InvalidArgument("cannot read the TLS certificate '" + o.tls_cert_file + "'");
    }
    if (!ReadFile(o.tls_key_file, &key)) {
      return Status::InvalidArgument("cannot read the TLS key '" + o.tls_key_file + "'");
    }
    if (key.find("PRIVATE KEY-----") == std::string::npos) {
      return Status::InvalidArgument("the TLS key file '" + o.tls_key_file +
                                     "' holds no private key (PEM)");
    }
    if (int rv = nng_tls_config_own_cert(cfg_, cert.c_str(), key.c_str(), nullptr); rv != 0) {
      return NngError("TLS certificate '" + o.tls_cert_file + "' with key '" + o.tls_key_file + "'",
                      rv);
    }
  }
  if (int rv = nng_tls_config_auth_mode(cfg_, NNG_TLS_AUTH_MODE_REQUIRED); rv != 0) {
    return NngError("TLS auth mode", rv);
  }
  return Status::Ok();
}

}  // namespace convergent::internal
