// NngTransport: the Transport on NNG. The bus is one bus0 socket that listens and dials; point to
// point is a pull0 listener plus one push0 socket per peer. Receives run as aio callbacks on
// NNG's threads and only hand the bytes to the FrameHandler.
#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "convergent/transport.h"
#include "net/nng_close.h"

namespace convergent {
namespace {

Status NngError(const std::string& what, int rv) {
  return Status::InvalidArgument(what + ": " + nng_strerror(rv));
}

bool IsTcp(const std::string& url) {
  return url.rfind("tcp://", 0) == 0 || url.rfind("tls+tcp://", 0) == 0;
}
bool IsTls(const std::string& url) { return url.rfind("tls+tcp://", 0) == 0; }

// tcp://host:port -> tcp://host:0 (the system picks the port); other schemes: name + ".p2p".
std::string DeriveP2p(const std::string& bus) {
  if (IsTcp(bus)) {
    const size_t colon = bus.rfind(':');
    if (colon != std::string::npos && colon > bus.find("://") + 2)
      return bus.substr(0, colon) + ":0";
    return bus;
  }
  return bus + ".p2p";
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// A TLS configuration (mutual: the peer's certificate must be signed by the CA).
class TlsConfig {
 public:
  ~TlsConfig() {
    if (cfg_ != nullptr) nng_tls_config_free(cfg_);
  }
  Status Init(nng_tls_mode mode, const TransportOptions& o) {
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
      if (int rv = nng_tls_config_own_cert(cfg_, cert.c_str(), key.c_str(), nullptr); rv != 0) {
        return NngError(
            "TLS certificate '" + o.tls_cert_file + "' with key '" + o.tls_key_file + "'", rv);
      }
    }
    if (int rv = nng_tls_config_auth_mode(cfg_, NNG_TLS_AUTH_MODE_REQUIRED); rv != 0) {
      return NngError("TLS auth mode", rv);
    }
    return Status::Ok();
  }
  nng_tls_config* get() const { return cfg_; }

 private:
  nng_tls_config* cfg_ = nullptr;
};

class NngTransport final : public Transport {
 public:
  NngTransport(TransportOptions options, FrameHandler on_frame)
      : options_(std::move(options)), on_frame_(std::move(on_frame)) {}

  ~NngTransport() override { Close(); }

  Status Start() {
    if (int rv = nng_bus0_open(&bus_); rv != 0) return NngError("bus socket", rv);
    nng_socket_set_int(bus_, NNG_OPT_SENDBUF, static_cast<int>(options_.send_buffer));
    bus_open_ = true;
    // bus0 has no option for its connection count: count pipes as they come and go.
    nng_pipe_notify(bus_, NNG_PIPE_EV_ADD_POST, &NngTransport::OnPipe, this);
    nng_pipe_notify(bus_, NNG_PIPE_EV_REM_POST, &NngTransport::OnPipe, this);
    if (int rv = nng_pull0_open(&pull_); rv != 0) return NngError("pull socket", rv);
    pull_open_ = true;
    nng_socket_set_size(bus_, NNG_OPT_RECVMAXSZ, NngMaxFrame());
    nng_socket_set_size(pull_, NNG_OPT_RECVMAXSZ, NngMaxFrame());
    if (IsTls(options_.listen)) {
      if (Status s = server_tls_.Init(NNG_TLS_MODE_SERVER, options_); !s.ok()) return s;
      if (Status s = client_tls_.Init(NNG_TLS_MODE_CLIENT, options_); !s.ok()) return s;
    }
    if (Status s = Listen(bus_, options_.listen, &bus_url_); !s.ok()) return s;
    const std::string p2p =
        options_.p2p_listen.empty() ? DeriveP2p(options_.listen) : options_.p2p_listen;
    if (Status s = Listen(pull_, p2p, &p2p_url_); !s.ok()) return s;
    if (Status s = bus_rx_.Start(this, bus_, true); !s.ok()) return s;
    return pull_rx_.Start(this, pull_, false);
  }

  const std::string& bus_url() const override { return bus_url_; }
  const std::string& p2p_url() const override { return p2p_url_; }

  bool DialBus(const std::string& url) override {
    std::lock_guard lock(mu_);
    if (closed_ || dialers_.count(url) != 0) return !closed_;
    nng_dialer d;
    if (nng_dialer_create(&d, bus_, url.c_str()) != 0) return false;
    ConfigureDialer(d, url);
    if (nng_dialer_start(d, NNG_FLAG_NONBLOCK) != 0) {
      nng_dialer_close(d);
      return false;
    }
    dialers_.emplace(url, d);
    return true;
  }

  void HangUpBus(const std::string& url) override {
    std::lock_guard lock(mu_);
    auto it = dialers_.find(url);
    if (it == dialers_.end()) return;
    nng_dialer_close(it->second);
    dialers_.erase(it);
  }

  std::string DialedUrl(uint32_t bus_pipe) const override {
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = bus_pipe;
    const int dialer = nng_dialer_id(nng_pipe_dialer(p));
    if (dialer <= 0) return {};
    std::lock_guard lock(mu_);
    for (const auto& [url, d] : dialers_) {
      if (nng_dialer_id(d) == dialer) return url;
    }
    return {};
  }

  void SetPeer(NodeId peer, const std::string& p2p_url) override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    auto it = peers_.find(peer);
    if (it != peers_.end() && it->second->url == p2p_url) return;
    auto sock = std::make_shared<PushSocket>();
    sock->url = p2p_url;
    if (nng_push0_open(&sock->sock) != 0) return;
    nng_socket_set_int(sock->sock, NNG_OPT_SENDBUF, static_cast<int>(options_.send_buffer));
    sock->open = true;
    nng_dialer d;
    if (nng_dialer_create(&d, sock->sock, p2p_url.c_str()) == 0) {
      ConfigureDialer(d, p2p_url);
      nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    }
    peers_[peer] = std::move(sock);
  }

  void RemovePeer(NodeId peer) override {
    std::lock_guard lock(mu_);
    peers_.erase(peer);
  }

  bool Broadcast(std::string_view frame) override {
    if (closed_.load()) return true;
    if (nng_send(bus_, const_cast<char*>(frame.data()), frame.size(), NNG_FLAG_NONBLOCK) != 0) {
      ++send_dropped_;
      return false;
    }
    ++frames_sent_;
    bytes_sent_ += frame.size();
    return true;
  }

  bool Send(NodeId peer, std::string_view frame) override {
    std::shared_ptr<PushSocket> sock;
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      auto it = peers_.find(peer);
      if (it != peers_.end()) sock = it->second;
    }
    if (sock == nullptr || nng_send(sock->sock, const_cast<char*>(frame.data()), frame.size(),
                                    NNG_FLAG_NONBLOCK) != 0) {
      ++send_dropped_;
      return false;
    }
    ++frames_sent_;
    bytes_sent_ += frame.size();
    return true;
  }

  TransportStats stats() const override {
    TransportStats s;
    s.frames_sent = frames_sent_;
    s.frames_received = frames_received_;
    s.bytes_sent = bytes_sent_;
    s.bytes_received = bytes_received_;
    s.send_dropped = send_dropped_;
    s.frames_oversized = frames_oversized_;
    s.bus_peers = static_cast<uint64_t>(std::max(0, bus_pipes_.load()));
    return s;
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    bus_rx_.Stop();
    pull_rx_.Stop();
    std::map<NodeId, std::shared_ptr<PushSocket>> peers;
    {
      std::lock_guard lock(mu_);
      peers.swap(peers_);
      for (auto& [url, d] : dialers_) nng_dialer_close(d);
      dialers_.clear();
    }
    peers.clear();  // closes the push sockets (nobody else holds them once senders return)
    for (nng_listener l : listeners_) nng_listener_close(l);
    listeners_.clear();
    if (bus_open_) internal::CloseGuarded(bus_);
    if (pull_open_) internal::CloseGuarded(pull_);
    bus_open_ = pull_open_ = false;
  }

 private:
  struct PushSocket {
    nng_socket sock = NNG_SOCKET_INITIALIZER;
    bool open = false;
    std::string url;
    ~PushSocket() {
      if (open) internal::CloseGuarded(sock);
    }
  };

  // One receive loop: an aio re-armed after every message.
  class Receiver {
   public:
    Status Start(NngTransport* owner, nng_socket sock, bool from_bus) {
      owner_ = owner;
      sock_ = sock;
      from_bus_ = from_bus;
      if (int rv = nng_aio_alloc(&aio_, &Receiver::Callback, this); rv != 0) {
        return NngError("aio", rv);
      }
      nng_recv_aio(sock_, aio_);
      return Status::Ok();
    }
    void Stop() {
      if (aio_ == nullptr) return;
      stopping_ = true;
      nng_aio_stop(aio_);  // waits for a running callback
      nng_aio_free(aio_);
      aio_ = nullptr;
    }

   private:
    static void Callback(void* arg) {
      auto* self = static_cast<Receiver*>(arg);
      const int rv = nng_aio_result(self->aio_);
      if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || self->stopping_) return;
      if (rv == 0) {
        nng_msg* msg = nng_aio_get_msg(self->aio_);
        NngTransport& owner = *self->owner_;
        if (nng_msg_len(msg) > owner.options_.max_frame_size) {
          ++owner.frames_oversized_;
          nng_msg_free(msg);
        } else {
          std::string bytes(static_cast<const char*>(nng_msg_body(msg)), nng_msg_len(msg));
          const int pipe = nng_pipe_id(nng_msg_get_pipe(msg));
          nng_msg_free(msg);
          ++owner.frames_received_;
          owner.bytes_received_ += bytes.size();
          owner.on_frame_(std::move(bytes), self->from_bus_,
                          self->from_bus_ && pipe > 0 ? static_cast<uint32_t>(pipe) : 0);
        }
      }
      nng_recv_aio(self->sock_, self->aio_);
    }

    NngTransport* owner_ = nullptr;
    nng_socket sock_ = NNG_SOCKET_INITIALIZER;
    nng_aio* aio_ = nullptr;
    bool from_bus_ = false;
    std::atomic<bool> stopping_{false};
  };

  static void OnPipe(nng_pipe, nng_pipe_ev ev, void* arg) {
    static_cast<NngTransport*>(arg)->bus_pipes_ += ev == NNG_PIPE_EV_ADD_POST ? 1 : -1;
  }

  Status Listen(nng_socket sock, const std::string& url, std::string* bound) {
    nng_listener l;
    if (int rv = nng_listener_create(&l, sock, url.c_str()); rv != 0) {
      return NngError("cannot listen on '" + url + "'", rv);
    }
    nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, NngMaxFrame());
    if (server_tls_.get() != nullptr) {
      nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, server_tls_.get());
    }
    if (int rv = nng_listener_start(l, 0); rv != 0) {
      nng_listener_close(l);
      return NngError("cannot listen on '" + url + "'", rv);
    }
    listeners_.push_back(l);
    *bound = url;
    if (IsTcp(url) && url.size() >= 2 && url.compare(url.size() - 2, 2, ":0") == 0) {
      int port = 0;
      if (nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
        *bound = url.substr(0, url.size() - 1) + std::to_string(port);
      }
    }
    return Status::Ok();
  }

  // NNG's limit: twice ours, so that frames a little too large arrive to be counted.
  size_t NngMaxFrame() const {
    const size_t max = options_.max_frame_size;
    return max > SIZE_MAX / 2 ? SIZE_MAX : 2 * max;
  }

  void ConfigureDialer(nng_dialer d, const std::string& url) {
    nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, NngMaxFrame());
    nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 50);
    nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 1000);
    if (IsTls(url) && client_tls_.get() != nullptr) {
      nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, client_tls_.get());
    }
  }

  TransportOptions options_;
  FrameHandler on_frame_;
  nng_socket bus_ = NNG_SOCKET_INITIALIZER;
  nng_socket pull_ = NNG_SOCKET_INITIALIZER;
  bool bus_open_ = false;
  bool pull_open_ = false;
  TlsConfig server_tls_;
  TlsConfig client_tls_;
  std::string bus_url_;
  std::string p2p_url_;
  Receiver bus_rx_;
  Receiver pull_rx_;

  mutable std::mutex mu_;  // guards the maps and closed_ transitions
  std::atomic<bool> closed_{false};
  std::map<std::string, nng_dialer> dialers_;
  std::vector<nng_listener> listeners_;
  std::map<NodeId, std::shared_ptr<PushSocket>> peers_;

 public:
  std::atomic<uint64_t> frames_sent_{0}, frames_received_{0}, bytes_sent_{0}, bytes_received_{0},
      send_dropped_{0}, frames_oversized_{0};
  std::atomic<int> bus_pipes_{0};
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeNngTransport(const TransportOptions& options,
                                                    Transport::FrameHandler on_frame) {
  auto t = std::make_unique<NngTransport>(options, std::move(on_frame));
  if (Status s = t->Start(); !s.ok()) return s;
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace convergent
