// SeedResolver: expands seed URLs whose host is a DNS name into one URL per address the name
// resolves to (how a Kubernetes headless service lists the pods of a StatefulSet), and resolves
// them again every `interval` on its own thread, so that the node's loop never waits for DNS.
// Seeds with a literal address, and ipc:// or inproc:// seeds, are used as given.
//
// Thread safety: Current() may be called from any thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace convergent::internal {

class SeedResolver {
 public:
  SeedResolver(std::vector<std::string> seeds, double interval_seconds);
  ~SeedResolver();  // stops its thread
  SeedResolver(const SeedResolver&) = delete;
  SeedResolver& operator=(const SeedResolver&) = delete;

  // The seeds with every name expanded; a name that does not resolve (yet) is kept as given.
  std::vector<std::string> Current() const;

  // Whether a seed's host is a DNS name (tcp:// or tls+tcp:// with a non-literal host).
  static bool HasName(const std::string& url);
  // One resolution of `url`: a URL per address (IPv6 in brackets), or empty when it does not
  // resolve; `url` itself when its host is literal.
  static std::vector<std::string> Expand(const std::string& url);

 private:
  void Run();
  std::vector<std::string> Resolve() const;

  const std::vector<std::string> seeds_;
  const double interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> current_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace convergent::internal
