// NngTransport: the Transport on NNG. The bus is one bus0 socket that listens and dials; point to
// point is a pull0 listener plus one push0 socket per peer. Receives run as aio callbacks on
// NNG's threads and only hand the bytes to the FrameHandler.
//
// Closing works around three defects of NNG 1.5.2 (Debian 12's, which the project builds):
//  - A TCP connection (IPC and TLS alike) closed from this side while a frame arrives on it
//    wedged NNG for good. When the read of the frame's length header has completed but its
//    callback has not run yet, the callback asks for the body on the closed read, NNG refuses
//    that without a callback, and the protocol's receive never completes. NNG's single reaper
//    thread then waits for it forever (pipe_destroy -> bus0_pipe_stop -> nni_aio_stop), no
//    connection in the process is torn down again, and every later nng_close() hangs (upstream
//    issues 1543 and 1813; fixed for TCP in 1.6.0, "Finish receive aio on close", #1636). A
//    connection the peer closes is safe: the read fails. But NNG closes a connection itself when
//    a send on it fails (bus0 does), so a peer that resets its connections mid-frame (a node
//    killed, connections aborted) wedged it all the same: the project's NNG carries the fix for
//    TCP, TLS and IPC (cmake/nng/finish-receive-on-close.patch). What follows still holds.
//  - A connection still negotiating when its dialer or listener closes is leaked (its socket, and
//    a listener's own socket with it).
//  - A dialer whose connection drops redials at once half of the time, whatever
//    NNG_OPT_RECONNMINT says (its random back-off, `(int) nni_random() % back_off`, is negative).
// So this transport never closes a live connection on which a peer may still send, nor an
// endpoint that may be negotiating:
//  - Close() sends a bye on the bus as its last frame. A peer that reads it closes that bus
//    connection (with its dialer, if it made it) and retires its push sockets to this node: it
//    sends nothing after our bye, so this cannot race an arriving frame, and push connections
//    only send. Meanwhile Close() refuses new connections (in NNG_PIPE_EV_ADD_PRE, before the
//    protocol reads), closes each of its dialers as its connection drops (before NNG arms the
//    redial), and waits for NNG's pipe-removal events, within kDrainTimeout, before it closes the
//    sockets. The bye also follows whatever the node sent last (a goodbye): a peer that dropped
//    its connections has read it.
//  - HangUpBus() (a redundant connection, see BusLinks) sends an end instead, the last frame on
//    that one connection, and skips the connection in its broadcasts (bus0 in raw mode skips one
//    connection a message); the peer closes it on reading the end, and the dialer closes as it
//    goes. Tested in nng_transport_test.cc (without this, the test wedges NNG within 40 rounds).

#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "convergent/transport.h"
#include "net/nng_close.h"
#include "net/nng_handshakes.h"
#include "net/nng_pipe_tracker.h"
#include "net/nng_tls.h"

namespace convergent {
namespace {

using internal::Clock;
using internal::DialerOpen;
using internal::HandshakeFailures;
using internal::KeepForever;
using internal::kFirstDialGrace;
using internal::kQuietAfterBye;
using internal::PipeTracker;
using internal::TlsConfig;

// Control frames of the transport, never handed to the node: a NUL byte (no node frame starts
// with one; Broadcast() refuses frames that start like these), "convergent-transport-", a kind
// and a NUL.
//  - bye: the bus frame a closing transport sends last, followed by its bus URL, a NUL and its
//    point-to-point URL;
//  - end: the last frame this node sends on a bus connection it dialed and hangs up, followed by
//    the length (one byte) of the connection's address on its side (TCP: family, port and IP;
//    empty for IPC and inproc), the address, and the URL it dialed.
constexpr char kControlBytes[] = "\0convergent-transport-";
constexpr std::string_view kControl(kControlBytes, sizeof(kControlBytes) - 1);
constexpr char kByeBytes[] = "\0convergent-transport-bye\0";
constexpr std::string_view kBye(kByeBytes, sizeof(kByeBytes) - 1);
constexpr char kEndBytes[] = "\0convergent-transport-end\0";
constexpr std::string_view kEnd(kEndBytes, sizeof(kEndBytes) - 1);
// An end that got no answer (dropped by a full queue) is sent again after this long, and the
// hang-up given up after kEndGiveUp (the connection stays).
constexpr auto kEndResend = std::chrono::milliseconds(1000);
constexpr auto kEndGiveUp = std::chrono::milliseconds(5000);
// How long Close() waits for the peers to drop their connections. They answer within a round
// trip; one that does not (an older version, a hung process) has its connections closed anyway.
constexpr auto kDrainTimeout = std::chrono::milliseconds(500);
// Close() closes its endpoints once no connection came or went for this long: a connection a
// peer made moments ago may still be negotiating on this side, unseen (NNG tells nothing before
// NNG_PIPE_EV_ADD_PRE), and a listener closing then leaks it.
constexpr auto kSettle = std::chrono::milliseconds(10);

bool StartsWith(std::string_view bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() &&
         std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

// A connection's address on one side (NNG_OPT_LOCADDR or NNG_OPT_REMADDR), as bytes to compare:
// the two ends of a TCP connection see the same address from either side. Empty for IPC and
// inproc, whose addresses do not tell two connections apart.
std::string PipeAddress(nng_pipe p, const char* which) {
  nng_sockaddr sa;
  if (nng_pipe_get_addr(p, which, &sa) != 0) return {};
  std::string out(1, static_cast<char>(sa.s_family));
  if (sa.s_family == NNG_AF_INET) {
    out.append(reinterpret_cast<const char*>(&sa.s_in.sa_port), sizeof(sa.s_in.sa_port));
    out.append(reinterpret_cast<const char*>(&sa.s_in.sa_addr), sizeof(sa.s_in.sa_addr));
  } else if (sa.s_family == NNG_AF_INET6) {
    out.append(reinterpret_cast<const char*>(&sa.s_in6.sa_port), sizeof(sa.s_in6.sa_port));
    out.append(reinterpret_cast<const char*>(sa.s_in6.sa_addr), sizeof(sa.s_in6.sa_addr));
  } else {
    return {};
  }
  return out;
}

Status NngError(const std::string& what, int rv) {
  return Status::InvalidArgument(what + ": " + nng_strerror(rv));
}

bool IsTcp(const std::string& url) {
  return url.rfind("tcp://", 0) == 0 || url.rfind("tls+tcp://", 0) == 0;
}
bool IsTls(const std::string& url) { return url.rfind("tls+tcp://", 0) == 0; }

// A tcp or tls+tcp URL's host, without brackets ("" when it has none or is not such a URL).
std::string_view TcpHost(std::string_view url) {
  const size_t start = url.find("://");
  const size_t colon = url.rfind(':');
  if (start == std::string_view::npos || colon == std::string_view::npos || colon < start + 3) {
    return {};
  }
  return url.substr(start + 3, colon - start - 3);
}

bool IsWildcardHost(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "*" || host == "[::]" || host == "::";
}

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

class NngTransport final : public Transport {
 public:
  NngTransport(TransportOptions options, FrameHandler on_frame)
      : options_(std::move(options)), on_frame_(std::move(on_frame)) {}

  ~NngTransport() override { Close(); }

  Status Start() {
    if (const std::string& host = options_.advertise_host; !host.empty()) {
      const bool ipv6 = std::count(host.begin(), host.end(), ':') > 1;
      if (IsWildcardHost(host) || host.find('/') != std::string::npos ||
          (!ipv6 && host.find(':') != std::string::npos)) {
        return Status::InvalidArgument("advertise_host '" + host +
                                       "' is not a host peers can dial (a name or an address, "
                                       "without a port)");
      }
      if (ipv6 && host.front() != '[') options_.advertise_host = "[" + host + "]";
    }
    const std::string p2p =
        options_.p2p_listen.empty() ? DeriveP2p(options_.listen) : options_.p2p_listen;
    for (const std::string& url : {options_.listen, p2p}) {
      if (IsTcp(url) && IsWildcardHost(TcpHost(url)) && options_.advertise_host.empty()) {
        return Status::InvalidArgument(
            "'" + url +
            "' listens on every interface: give the host peers reach this node at "
            "(advertise_host, --advertise-host), or listen on that address");
      }
    }
    // Raw: a broadcast can skip one connection (the one being hung up, see HangUpBus).
    if (int rv = nng_bus0_open_raw(&bus_); rv != 0) return NngError("bus socket", rv);
    nng_socket_set_int(bus_, NNG_OPT_SENDBUF, static_cast<int>(options_.send_buffer));
    bus_open_ = true;
    // bus0 has no option for its connection count, nor a way to list them: NNG's pipe events
    // tell (see PipeTracker).
    for (nng_pipe_ev ev : {NNG_PIPE_EV_ADD_PRE, NNG_PIPE_EV_ADD_POST, NNG_PIPE_EV_REM_POST}) {
      nng_pipe_notify(bus_, ev, &PipeTracker::OnBusPipe, tracker_.get());
    }
    if (int rv = nng_pull0_open(&pull_); rv != 0) return NngError("pull socket", rv);
    pull_open_ = true;
    nng_pipe_notify(pull_, NNG_PIPE_EV_ADD_PRE, &PipeTracker::OnPullPipe, tracker_.get());
    nng_pipe_notify(pull_, NNG_PIPE_EV_REM_POST, &PipeTracker::OnPullPipe, tracker_.get());
    nng_socket_set_size(bus_, NNG_OPT_RECVMAXSZ, NngMaxFrame());
    nng_socket_set_size(pull_, NNG_OPT_RECVMAXSZ, NngMaxFrame());
    if (IsTls(options_.listen)) {
      if (Status s = server_tls_.Init(NNG_TLS_MODE_SERVER, options_); !s.ok()) return s;
      if (Status s = client_tls_.Init(NNG_TLS_MODE_CLIENT, options_); !s.ok()) return s;
    }
    if (Status s = Listen(bus_, options_.listen, &bus_url_); !s.ok()) return s;
    if (Status s = Listen(pull_, p2p, &p2p_url_); !s.ok()) return s;
    if (Status s = bus_rx_.Start(this, bus_, true); !s.ok()) return s;
    return pull_rx_.Start(this, pull_, false);
  }

  const std::string& bus_url() const override { return bus_url_; }
  const std::string& p2p_url() const override { return p2p_url_; }

  bool DialBus(const std::string& url) override {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    CloseRetiredLocked();
    if (auto it = dialers_.find(url); it != dialers_.end()) {
      if (DialerOpen(it->second)) return true;
      ForgetDialerLocked(it);  // closed by a bye
    }
    nng_dialer d;
    {
      std::lock_guard tracked(tracker_->mu);
      if (tracker_->QuietLocked(url)) return true;  // its node just said bye: dialed later
    }
    if (nng_dialer_create(&d, bus_, url.c_str()) != 0) return false;
    ConfigureDialer(d, url);
    auto it = dialers_.emplace(url, d).first;
    {
      std::lock_guard tracked(tracker_->mu);
      PipeTracker::Dialer& dialer = tracker_->dialers[nng_dialer_id(d)];
      dialer.url = url;
      dialer.started = Clock::now();
    }
    if (nng_dialer_start(d, NNG_FLAG_NONBLOCK) != 0) {
      ForgetDialerLocked(it);
      return false;
    }
    return true;
  }

  // A connection closed from this side while a frame of the peer's arrives wedges NNG 1.5.2 (see
  // the top of the file), so the peer closes it: this node sends an end (its last frame on the
  // connection, addressed by the connection's address), skips the connection in its broadcasts,
  // refuses the dialer's new connections, and closes the dialer when the connection goes. One
  // connection at a time (bus0 skips one); the others wait their turn in hangups_.
  void HangUpBus(const std::string& url) override {
    std::unique_lock sending(send_mu_);  // no broadcast slips between the end and the skipping
    std::lock_guard lock(mu_);
    CloseRetiredLocked();
    if (dialers_.count(url) == 0) return;
    if (std::find(hangups_.begin(), hangups_.end(), url) == hangups_.end()) {
      hangups_.push_back(url);
    }
    AdvanceHangUpsLocked();
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
    SetPeerLocked(peer, p2p_url);
  }

  // (With mu_ held.) A push socket that a bye retired is dialed anew once its peer's quiet time
  // is over (the node may have restarted at the same URL): here, or from Send().
  void SetPeerLocked(NodeId peer, const std::string& p2p_url) {
    if (closed_) return;
    CloseRetiredLocked();
    auto it = peers_.find(peer);
    if (it != peers_.end()) {
      if (it->second->url == p2p_url) {
        if (!it->second->retired->load()) return;
        std::lock_guard tracked(tracker_->mu);
        if (tracker_->QuietLocked(p2p_url)) return;  // a bye retired it: redialed later
      }
      RetireLocked(it->second);
      peers_.erase(it);
    }
    auto sock = std::make_shared<PushSocket>();
    sock->url = p2p_url;
    sock->tracker = tracker_;
    if (nng_push0_open(&sock->sock) != 0) return;
    sock->open = true;
    nng_socket_set_int(sock->sock, NNG_OPT_SENDBUF, static_cast<int>(options_.send_buffer));
    nng_pipe_notify(sock->sock, NNG_PIPE_EV_ADD_PRE, &PipeTracker::OnPushPipe, tracker_.get());
    nng_pipe_notify(sock->sock, NNG_PIPE_EV_REM_POST, &PipeTracker::OnPushPipe, tracker_.get());
    nng_dialer d;
    if (nng_dialer_create(&d, sock->sock, p2p_url.c_str()) != 0) return;
    ConfigureDialer(d, p2p_url);
    {
      std::lock_guard tracked(tracker_->mu);
      PipeTracker::Push& push = tracker_->push[nng_socket_id(sock->sock)];
      push.url = p2p_url;
      push.dialer = d;
      push.dialed = Clock::now();
      push.retired_flag = sock->retired;
    }
    nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    peers_[peer] = std::move(sock);
  }

  void RemovePeer(NodeId peer) override {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer);
    if (it != peers_.end()) {
      RetireLocked(it->second);
      peers_.erase(it);
    }
    CloseRetiredLocked();
  }

  bool Broadcast(std::string_view frame) override {
    if (StartsWith(frame, kControl)) {  // reserved for the transport
      ++send_dropped_;
      return false;
    }
    if (hangups_pending_.load()) {
      std::unique_lock sending(send_mu_);
      std::lock_guard lock(mu_);
      AdvanceHangUpsLocked();
    }
    std::shared_lock sending(send_mu_);  // Close() sends the last frame
    if (closed_) return true;
    if (!SendOnBus(frame, tracker_->excluded.load())) {
      ++send_dropped_;
      return false;
    }
    ++frames_sent_;
    bytes_sent_ += frame.size();
    return true;
  }

  bool Send(NodeId peer, std::string_view frame) override {
    std::shared_lock sending(send_mu_);
    std::shared_ptr<PushSocket> sock;
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      auto it = peers_.find(peer);
      if (it != peers_.end() && it->second->retired->load()) {
        SetPeerLocked(peer, std::string(it->second->url));
        it = peers_.find(peer);
      }
      if (it != peers_.end() && !it->second->retired->load()) sock = it->second;
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
    std::vector<uint32_t> sockets;
    {
      std::lock_guard lock(mu_);
      if (bus_open_) sockets.push_back(nng_socket_id(bus_));
      if (pull_open_) sockets.push_back(nng_socket_id(pull_));
      for (const auto& [peer, push] : peers_) sockets.push_back(nng_socket_id(push->sock));
      for (const auto& push : retired_) sockets.push_back(nng_socket_id(push->sock));
    }
    const HandshakeFailures::Counts h = handshakes_.Poll(sockets);
    s.handshakes_refused = h.refused_in;
    s.dials_refused = h.refused_out;
    s.refused_dial_url = h.last_out_url;
    std::lock_guard lock(tracker_->mu);
    for (const auto& [pipe, started] : tracker_->bus) s.bus_peers += started ? 1 : 0;
    return s;
  }

  // Closes nothing a peer may still send on, nor anything negotiating (see the top of the file):
  // says bye, waits for the peers to drop their connections, then closes the rest.
  void Close() override {
    {
      std::unique_lock sending(send_mu_);  // no frame of ours follows the bye
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    const auto deadline = Clock::now() + kDrainTimeout;
    bool told = false;
    {
      // New connections are refused from now on. The bye goes to the connections bus0 has
      // started: those being started are waited for.
      std::unique_lock lock(tracker_->mu);
      tracker_->closing = true;
      tracker_->changed.wait_until(lock, deadline, [&] {
        return std::all_of(tracker_->bus.begin(), tracker_->bus.end(),
                           [](const auto& pipe) { return pipe.second; });
      });
      told = !tracker_->bus.empty();
    }
    if (told && bus_open_) told = SendBye(deadline);
    {
      std::lock_guard lock(mu_);
      for (auto& [peer, sock] : peers_) RetireLocked(sock);
      peers_.clear();
    }
    {
      std::unique_lock lock(tracker_->mu);
      while (Clock::now() < deadline) {
        const auto now = Clock::now();
        // Our pushes, and bus dials that may be on their way: refused when they come, and then
        // closed, rather than closed while negotiating.
        const bool pushes_closable =
            std::all_of(tracker_->push.begin(), tracker_->push.end(),
                        [&](const auto& p) { return p.second.Closable(now); });
        const bool dials_done =
            std::all_of(tracker_->dialers.begin(), tracker_->dialers.end(), [&](const auto& d) {
              return d.second.connected || d.second.closed ||
                     now - d.second.started >= kFirstDialGrace;
            });
        if (pushes_closable && dials_done &&
            (!told || (tracker_->bus.empty() && tracker_->pull.empty())) &&
            now - tracker_->last_event >= kSettle) {
          break;
        }
        // Closable() and the settling also come with time: wake up now and then.
        tracker_->changed.wait_until(lock, std::min(deadline, Clock::now() + kPoll));
      }
    }
    // What is still connected closes from this side now (a peer that did not answer).
    bus_rx_.Stop();
    pull_rx_.Stop();
    std::vector<std::shared_ptr<PushSocket>> retired;
    {
      std::lock_guard lock(mu_);
      while (!dialers_.empty()) ForgetDialerLocked(dialers_.begin());
      retired.swap(retired_);
    }
    retired.clear();  // closes the push sockets (nobody else holds them once senders return)
    for (nng_listener l : listeners_) nng_listener_close(l);
    listeners_.clear();
    bool closed = true;
    if (bus_open_) closed &= internal::CloseGuarded(bus_);
    if (pull_open_) closed &= internal::CloseGuarded(pull_);
    bus_open_ = pull_open_ = false;
    if (!closed) KeepForever(tracker_);
  }

 private:
  static constexpr auto kPoll = std::chrono::milliseconds(2);

  struct PushSocket {
    nng_socket sock = NNG_SOCKET_INITIALIZER;
    bool open = false;
    std::string url;
    std::shared_ptr<PipeTracker> tracker;
    std::shared_ptr<std::atomic<bool>> retired = std::make_shared<std::atomic<bool>>(false);
    ~PushSocket() {
      if (!open) return;
      {
        // It leaves the tracker first: no bye or removal closes its dialer while it closes
        // (NNG 1.5.2 crashes when a dialer closes as its socket does).
        std::unique_lock lock(tracker->mu);
        const int id = nng_socket_id(sock);
        tracker->changed.wait(lock, [&] {
          auto it = tracker->push.find(id);
          return it == tracker->push.end() || it->second.closing_dialer == 0;
        });
        tracker->push.erase(id);
      }
      if (!internal::CloseGuarded(sock)) KeepForever(tracker);
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
        const std::string_view body(static_cast<const char*>(nng_msg_body(msg)), nng_msg_len(msg));
        const int pipe = nng_pipe_id(nng_msg_get_pipe(msg));
        if (self->from_bus_ && StartsWith(body, kControl)) {
          if (StartsWith(body, kBye)) owner.OnBye(pipe, body.substr(kBye.size()));
          if (StartsWith(body, kEnd)) owner.OnEnd(pipe, body.substr(kEnd.size()));
        } else if (owner.closed_) {
          // Closing: nothing is delivered any more.
        } else if (body.size() > owner.options_.max_frame_size) {
          ++owner.frames_oversized_;
        } else {
          std::string bytes(body);
          ++owner.frames_received_;
          owner.bytes_received_ += bytes.size();
          owner.on_frame_(std::move(bytes), self->from_bus_,
                          self->from_bus_ && pipe > 0 ? static_cast<uint32_t>(pipe) : 0);
        }
        nng_msg_free(msg);
      }
      nng_recv_aio(self->sock_, self->aio_);
    }

    NngTransport* owner_ = nullptr;
    nng_socket sock_ = NNG_SOCKET_INITIALIZER;
    nng_aio* aio_ = nullptr;
    bool from_bus_ = false;
    std::atomic<bool> stopping_{false};
  };

  // Sends the bye; false if the bus queue stayed full until `deadline`.
  bool SendBye(Clock::time_point deadline) {
    std::string bye(kBye);
    bye += bus_url_;
    bye += '\0';
    bye += p2p_url_;
    while (true) {
      const int rv = nng_send(bus_, bye.data(), bye.size(), NNG_FLAG_NONBLOCK);
      if (rv == 0) return true;
      if (rv != NNG_EAGAIN || Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Broadcasts `frame`, skipping bus connection `skip` (0: none).
  bool SendOnBus(std::string_view frame, uint32_t skip) {
    if (skip == 0) {
      return nng_send(bus_, const_cast<char*>(frame.data()), frame.size(), NNG_FLAG_NONBLOCK) == 0;
    }
    nng_msg* msg = nullptr;
    if (nng_msg_alloc(&msg, 0) != 0) return false;
    if (nng_msg_append(msg, frame.data(), frame.size()) != 0 ||
        nng_msg_header_append_u32(msg, skip) != 0 ||
        nng_sendmsg(bus_, msg, NNG_FLAG_NONBLOCK) != 0) {
      nng_msg_free(msg);
      return false;
    }
    return true;
  }

  // Hangs up the next dialed connection in hangups_, once the one before is gone; sends an end
  // again if it got no answer (with send_mu_ held exclusively, and mu_).
  void AdvanceHangUpsLocked() {
    const auto now = Clock::now();
    const uint32_t current = tracker_->excluded.load();
    if (closed_) {
      hangups_.clear();
    } else if (current != 0 && now - hangup_started_ >= kEndGiveUp) {
      // The peer never closed it (an IPC path it does not know under that name, or a peer that
      // does not answer): left open, duplicated, rather than closed from this side. Its dialer
      // still closes if it drops.
      uint32_t expected = current;
      tracker_->excluded.compare_exchange_strong(expected, 0);
    } else if (current != 0) {
      if (now - end_sent_ >= kEndResend) SendEnd(current, now);
    }
    if (!closed_ && tracker_->excluded.load() == 0) {
      while (!hangups_.empty()) {
        auto it = dialers_.find(hangups_.front());
        hangups_.erase(hangups_.begin());
        if (it == dialers_.end()) continue;
        uint32_t live = 0;
        {
          std::lock_guard tracked(tracker_->mu);
          for (const auto& [id, started] : tracker_->bus) {
            nng_pipe p = NNG_PIPE_INITIALIZER;
            p.id = id;
            if (started && nng_dialer_id(nng_pipe_dialer(p)) == nng_dialer_id(it->second))
              live = id;
          }
          auto d = tracker_->dialers.find(nng_dialer_id(it->second));
          if (live != 0 && d != tracker_->dialers.end()) d->second.drop = true;
        }
        if (live == 0) {  // not connected: nothing arrives on it
          ForgetDialerLocked(it);
          continue;
        }
        tracker_->excluded.store(live);  // before the end: nothing of ours follows it there
        hangup_url_ = it->first;
        hangup_started_ = now;
        SendEnd(live, now);
        break;
      }
    }
    hangups_pending_.store(!hangups_.empty() || tracker_->excluded.load() != 0);
  }

  // (With mu_.) The end of bus connection `pipe`, dialed to hangup_url_.
  void SendEnd(uint32_t pipe, Clock::time_point now) {
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = pipe;
    const std::string address = PipeAddress(p, NNG_OPT_LOCADDR);
    std::string end(kEnd);
    end += static_cast<char>(address.size());
    end += address;
    end += hangup_url_;
    SendOnBus(end, 0);  // on every connection: the peer finds the one it names
    end_sent_ = now;
  }

  // A peer sent the end of a connection it dialed (see SendEnd), on every connection it has: the
  // end names one by its address on the peer's side (TCP), or by the URL it was dialed to (IPC and
  // inproc, whose addresses tell nothing). When it names this one, nothing of the peer's follows
  // on it, so closing it cannot race an arriving frame; the other copies are ignored (the peer's
  // other connections to this node, and those to other nodes).
  void OnEnd(int bus_pipe, std::string_view end) {
    if (end.empty() || end.size() < 1 + static_cast<size_t>(static_cast<unsigned char>(end[0]))) {
      return;
    }
    const std::string_view address = end.substr(1, static_cast<unsigned char>(end[0]));
    const std::string_view url = end.substr(1 + address.size());
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = static_cast<uint32_t>(bus_pipe);
    if (nng_listener_id(nng_pipe_listener(p)) <= 0) return;  // we dialed it
    if (address.empty() ? url != bus_url_ : PipeAddress(p, NNG_OPT_REMADDR) != address) return;
    nng_pipe_close(p);
  }

  // A peer closes. It sends nothing after its bye, so closing the connection the bye came over
  // cannot race an arriving frame; nor can retiring our push sockets to it (they only send). Our
  // dialers to it close as their connections go (see PipeTracker). The connection is dropped once
  // no push connection of ours to the peer is on its way: the peer waits for the drop before it
  // closes its listeners, which must not be negotiating then. Runs on NNG's receive callback,
  // while the bus socket is open (Close() stops the receivers first).
  void OnBye(int bus_pipe, std::string_view who) {
    const size_t nul = who.find('\0');
    const std::string peer_bus(who.substr(0, nul));
    const std::string peer_p2p(nul == std::string_view::npos ? "" : who.substr(nul + 1));
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = static_cast<uint32_t>(bus_pipe);
    const int dialer = nng_dialer_id(nng_pipe_dialer(p));
    std::vector<PipeTracker::Todo> todo;
    PipeTracker::Todo drop;
    {
      std::lock_guard lock(tracker_->mu);
      const auto until = Clock::now() + kQuietAfterBye;
      tracker_->quiet[peer_bus] = until;
      tracker_->quiet[peer_p2p] = until;
      for (auto& [id, d] : tracker_->dialers) {
        if (id != dialer && d.url != peer_bus) continue;
        d.drop = true;
        tracker_->quiet[d.url] = until;  // the URL we dial it by
      }
      for (auto& [socket, push] : tracker_->push) {
        if (push.url != peer_p2p || push.retired) continue;
        todo.push_back(tracker_->RetireLocked(socket, push));
      }
      tracker_->deferred[peer_p2p].push_back(p.id);
      tracker_->TakeDeferredLocked(peer_p2p, &drop);
    }
    for (const PipeTracker::Todo& t : todo) tracker_->Do(t);
    tracker_->Do(drop);
  }

  // Closes a bus dialer and forgets it (with mu_ held).
  void ForgetDialerLocked(std::map<std::string, nng_dialer>::iterator it) {
    nng_dialer_close(it->second);  // NNG_ENOENT if closed already
    {
      std::lock_guard tracked(tracker_->mu);
      tracker_->dialers.erase(nng_dialer_id(it->second));
    }
    dialers_.erase(it);
  }

  // Retires a push socket, to be closed by CloseRetiredLocked (with mu_ held).
  void RetireLocked(const std::shared_ptr<PushSocket>& sock) {
    PipeTracker::Todo todo;
    {
      std::lock_guard tracked(tracker_->mu);
      auto it = tracker_->push.find(nng_socket_id(sock->sock));
      if (it != tracker_->push.end() && !it->second.retired) {
        todo = tracker_->RetireLocked(it->first, it->second);
      }
    }
    tracker_->Do(todo);
    retired_.push_back(sock);
  }

  // Closes the retired push sockets that may close now (with mu_ held).
  void CloseRetiredLocked() {
    std::vector<std::shared_ptr<PushSocket>> closable;
    {
      std::lock_guard tracked(tracker_->mu);
      const auto now = Clock::now();
      auto keep = std::partition(retired_.begin(), retired_.end(), [&](const auto& sock) {
        auto it = tracker_->push.find(nng_socket_id(sock->sock));
        return it != tracker_->push.end() && !it->second.Closable(now);
      });
      closable.assign(keep, retired_.end());
      retired_.erase(keep, retired_.end());
    }
    closable.clear();  // closes them (without the tracker's lock: their destructors take it)
    PipeTracker::Todo drop;
    {
      std::lock_guard tracked(tracker_->mu);
      std::vector<std::string> urls;
      for (const auto& [url, pipes] : tracker_->deferred) urls.push_back(url);
      for (const std::string& url : urls) tracker_->TakeDeferredLocked(url, &drop);
    }
    tracker_->Do(drop);
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
    // What peers are told: the advertised host in place of a wildcard (or of the listen host).
    if (IsTcp(url) && !options_.advertise_host.empty()) {
      const size_t start = bound->find("://") + 3;
      const size_t colon = bound->rfind(':');
      *bound = bound->substr(0, start) + options_.advertise_host + bound->substr(colon);
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
  std::shared_ptr<PipeTracker> tracker_ = std::make_shared<PipeTracker>();
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

  std::shared_mutex send_mu_;  // senders share it; Close() takes it to send the last frame
  mutable std::mutex mu_;      // guards the maps and closed_ transitions
  std::atomic<bool> closed_{false};
  std::map<std::string, nng_dialer> dialers_;
  mutable HandshakeFailures handshakes_;
  std::vector<nng_listener> listeners_;
  std::map<NodeId, std::shared_ptr<PushSocket>> peers_;
  std::vector<std::shared_ptr<PushSocket>> retired_;  // closed once nothing negotiates
  std::vector<std::string> hangups_;                  // dialed bus URLs to hang up, in turn (mu_)
  Clock::time_point end_sent_;                        // the last end sent (mu_)
  std::string hangup_url_;            // the URL of the connection being hung up (mu_)
  Clock::time_point hangup_started_;  // when its first end went (mu_)
  std::atomic<bool> hangups_pending_{false};

 public:
  std::atomic<uint64_t> frames_sent_{0}, frames_received_{0}, bytes_sent_{0}, bytes_received_{0},
      send_dropped_{0}, frames_oversized_{0};
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeNngTransport(const TransportOptions& options,
                                                    Transport::FrameHandler on_frame) {
  auto t = std::make_unique<NngTransport>(options, std::move(on_frame));
  if (Status s = t->Start(); !s.ok()) return s;
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace convergent
