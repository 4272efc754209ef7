#include "node/metrics_http.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include <cstdio>
#include <string>
#include <utility>

namespace convergent::internal {

std::string PrometheusText(const std::map<std::string, double>& metrics, const std::string& node) {
  std::string label;
  for (char c : node) {
    if (c == '\\' || c == '"') label.push_back('\\');
    if (c == '\n') {
      label += "\\n";
      continue;
    }
    label.push_back(c);
  }
  std::string out;
  char value[64];
  for (const auto& [name, v] : metrics) {
    std::string n;
    for (char c : name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      n.push_back(ok ? c : '_');
    }
    std::snprintf(value, sizeof value, "%.17g", v);
    out += n + "{node=\"" + label + "\"} " + value + "\n";
  }
  return out;
}

struct MetricsServer::State {
  nng_http_server* server = nullptr;
  nng_http_handler* handler = nullptr;
  Render render;
};

namespace {

void Handle(nng_aio* aio) {
  auto* handler = static_cast<nng_http_handler*>(nng_aio_get_input(aio, 1));
  auto* render = static_cast<MetricsServer::Render*>(nng_http_handler_get_data(handler));
  const std::string body = (*render)();
  nng_http_res* res = nullptr;
  if (nng_http_res_alloc(&res) != 0) {
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  nng_http_res_set_header(res, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  nng_http_res_copy_data(res, body.data(), body.size());
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

Status Error(const std::string& url, int rv) {
  return Status::InvalidArgument("metrics endpoint '" + url + "': " + nng_strerror(rv));
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& url, Render render) {
  std::unique_ptr<MetricsServer> self(new MetricsServer());
  self->state_ = std::make_unique<State>();
  State& s = *self->state_;
  s.render = std::move(render);
  nng_url* parsed = nullptr;
  if (int rv = nng_url_parse(&parsed, url.c_str()); rv != 0) return Error(url, rv);
  const std::string host = parsed->u_hostname;
  int rv = nng_http_server_hold(&s.server, parsed);
  nng_url_free(parsed);
  if (rv != 0) return Error(url, rv);
  if ((rv = nng_http_handler_alloc(&s.handler, "/metrics", &Handle)) != 0) return Error(url, rv);
  nng_http_handler_set_method(s.handler, "GET");
  nng_http_handler_set_data(s.handler, &s.render, nullptr);
  if ((rv = nng_http_server_add_handler(s.server, s.handler)) != 0) {
    nng_http_handler_free(s.handler);
    s.handler = nullptr;
    return Error(url, rv);
  }
  if ((rv = nng_http_server_start(s.server)) != 0) return Error(url, rv);
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
  nng_http_server_stop(state_->server);
  nng_http_server_release(state_->server);
}

}  // namespace convergent::internal
