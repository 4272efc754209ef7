// MetricsServer: serves a node's metrics over HTTP (NNG's HTTP server) in the Prometheus text
// format, at GET /metrics. The render function runs on NNG's HTTP threads: it must only read
// (Node::Metrics takes the node's lock briefly).
//
// Thread safety: Start and Stop from one owner; rendering happens on NNG's threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "convergent/status.h"

namespace convergent::internal {

// "crdt.replicator.merge.count" -> "crdt_replicator_merge_count"; one line per metric, each
// labelled {node="<name>"}.
std::string PrometheusText(const std::map<std::string, double>& metrics, const std::string& node);

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  // Listens on `url` (http://host:port; port 0 picks a free one). InvalidArgument when it cannot.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& url, Render render);
  ~MetricsServer();  // stops serving
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The URL of the endpoint, with the bound port: http://host:port/metrics.
  const std::string& url() const { return url_; }

 private:
  MetricsServer() = default;
  struct State;
  std::unique_ptr<State> state_;
  std::string url_;
};

}  // namespace convergent::internal
