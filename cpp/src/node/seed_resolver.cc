#include "node/seed_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace convergent::internal {
namespace {

struct Parts {
  std::string scheme;  // "tcp://" or "tls+tcp://"
  std::string host;
  std::string port;
};

bool Split(const std::string& url, Parts* out) {
  for (const char* scheme : {"tcp://", "tls+tcp://"}) {
    if (url.rfind(scheme, 0) != 0) continue;
    const std::string rest = url.substr(std::string(scheme).size());
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || rest.empty() || rest[0] == '[') return false;
    *out = Parts{scheme, rest.substr(0, colon), rest.substr(colon + 1)};
    return !out->host.empty() && !out->port.empty();
  }
  return false;
}

bool IsLiteral(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

bool SeedResolver::HasName(const std::string& url) {
  Parts p;
  return Split(url, &p) && !IsLiteral(p.host);
}

std::vector<std::string> SeedResolver::Expand(const std::string& url) {
  Parts p;
  if (!Split(url, &p) || IsLiteral(p.host)) return {url};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(p.host.c_str(), p.port.c_str(), &hints, &found) != 0) return {};
  std::vector<std::string> out;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof text);
      out.push_back(p.scheme + text + ":" + p.port);
    } else if (a->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, text,
                sizeof text);
      out.push_back(p.scheme + "[" + text + "]:" + p.port);
    }
  }
  freeaddrinfo(found);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

SeedResolver::SeedResolver(std::vector<std::string> seeds, double interval_seconds)
    : seeds_(std::move(seeds)), interval_(interval_seconds) {
  current_ = seeds_;  // until the first resolution
  thread_ = std::thread([this] { Run(); });
}

SeedResolver::~SeedResolver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();  // getaddrinfo may take its timeout (seconds) before this returns
}

std::vector<std::string> SeedResolver::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::vector<std::string> SeedResolver::Resolve() const {
  std::vector<std::string> out;
  for (const std::string& seed : seeds_) {
    std::vector<std::string> expanded = Expand(seed);
    if (expanded.empty()) expanded.push_back(seed);
    out.insert(out.end(), expanded.begin(), expanded.end());
  }
  return out;
}

void SeedResolver::Run() {
  while (true) {
    std::vector<std::string> resolved = Resolve();
    std::unique_lock lock(mu_);
    current_ = std::move(resolved);
    if (cv_.wait_for(lock, std::chrono::duration<double>(interval_), [&] { return stop_; })) {
      return;
    }
  }
}

}  // namespace convergent::internal
