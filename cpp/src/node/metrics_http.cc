#include "node/metrics_http.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include <string>
#include <utility>
#include <vector>

namespace convergent::internal {

struct MetricsServer::State {
  // NNG shares one server among the holders of a host and port: this one stops it only if it
  // started it, and takes back only the handlers it added.
  nng_http_server* server = nullptr;
  bool started = false;
  std::vector<nng_http_handler*> handlers;
  std::map<std::string, Route> routes;  // never changes once serving: handlers point into it
};

namespace {

void Handle(nng_aio* aio) {
  auto* handler = static_cast<nng_http_handler*>(nng_aio_get_input(aio, 1));
  const auto* route = static_cast<const MetricsServer::Route*>(nng_http_handler_get_data(handler));
  const HttpAnswer answer = (*route)();
  nng_http_res* res = nullptr;
  if (nng_http_res_alloc(&res) != 0) {
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  nng_http_res_set_status(res, static_cast<uint16_t>(answer.status));
  nng_http_res_set_header(res, "Content-Type", answer.content_type.c_str());
  nng_http_res_copy_data(res, answer.body.data(), answer.body.size());
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

Status Error(const std::string& url, int rv) {
  return Status::InvalidArgument("metrics endpoint '" + url + "': " + nng_strerror(rv));
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& url,
                                                            std::map<std::string, Route> routes) {
  std::unique_ptr<MetricsServer> self(new MetricsServer());
  self->state_ = std::make_unique<State>();
  State& s = *self->state_;
  s.routes = std::move(routes);
  nng_url* parsed = nullptr;
  if (int rv = nng_url_parse(&parsed, url.c_str()); rv != 0) return Error(url, rv);
  const std::string host = parsed->u_hostname;
  int rv = nng_http_server_hold(&s.server, parsed);
  nng_url_free(parsed);
  if (rv != 0) return Error(url, rv);
  for (auto& [path, route] : s.routes) {
    nng_http_handler* handler = nullptr;
    if ((rv = nng_http_handler_alloc(&handler, path.c_str(), &Handle)) != 0) return Error(url, rv);
    nng_http_handler_set_method(handler, "GET");
    nng_http_handler_set_data(handler, &route, nullptr);
    if ((rv = nng_http_server_add_handler(s.server, handler)) != 0) {
      nng_http_handler_free(handler);
      return Error(url, rv);
    }
    s.handlers.push_back(handler);
  }
  if ((rv = nng_http_server_start(s.server)) != 0) return Error(url, rv);
  s.started = true;
  nng_sockaddr addr;
  int port = 0;
  if (nng_http_server_get_addr(s.server, &addr) == 0 && addr.s_family == NNG_AF_INET) {
    port = ntohs(addr.s_in.sa_port);
  }
  self->url_ = "http://" + host + ":" + std::to_string(port) + "/metrics";
  return self;
}

MetricsServer::~MetricsServer() {
  if (state_ == nullptr || state_->server == nullptr) return;
  if (state_->started) nng_http_server_stop(state_->server);
  for (nng_http_handler* h : state_->handlers) {
    if (nng_http_server_del_handler(state_->server, h) == 0) nng_http_handler_free(h);
  }
  nng_http_server_release(state_->server);
}

}  // namespace convergent::internal
