// MetricsServer: a node's HTTP endpoint (NNG's HTTP server) for monitoring and orchestration:
// GET /metrics (the Prometheus text exposition), /ready and /live (the probes of a Kubernetes
// pod: 200 when ready or alive, 503 with the reason when not). Each path answers with what its
// Route returns; routes run on NNG's HTTP threads, so they must only read (the node's routes take
// its lock briefly).
//
// Thread safety: Start and the destructor from one owner; routes run on NNG's threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "convergent/status.h"

namespace convergent::internal {

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

class MetricsServer {
 public:
  using Route = std::function<HttpAnswer()>;
  // Listens on `url` (http://host:port; port 0 picks a free one) and answers GET on each path of
  // `routes` ("/metrics", ...). InvalidArgument when it cannot listen.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& url,
                                                      std::map<std::string, Route> routes);
  ~MetricsServer();  // stops serving
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The URL of the metrics endpoint, with the bound port: http://host:port/metrics.
  const std::string& url() const { return url_; }

 private:
  MetricsServer() = default;
  struct State;
  std::unique_ptr<State> state_;
  std::string url_;
};

}  // namespace convergent::internal
