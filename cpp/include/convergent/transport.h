// Transport: moves opaque frames between the nodes of a cluster, and knows nothing of CRDTs.
//
// Two paths, both best effort:
//  - the bus: a full mesh with one connection per pair of nodes; Broadcast() sends a frame to
//    every connected peer (delta batches, heartbeats);
//  - point to point: Send() to one peer (anti-entropy, coordinated writes, acks, reads).
// Frames above the size limit are dropped and counted by the receiver; a frame that cannot be
// queued (the peer is slow or gone) is dropped and counted, never blocks the caller. Whatever is
// lost, anti-entropy repairs: correctness never depends on a frame arriving.
//
// Received frames go to the FrameHandler, which runs on the transport's own I/O threads: it
// must only queue the frame for the owner (see Node), never run replication logic.
//
// Thread safety: every method may be called from any thread; Close() once, after which
// nothing is delivered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "convergent/replicator.h"
#include "convergent/status.h"

namespace convergent {

struct TransportOptions {
  // The URL the bus listens on: tcp://host:port, ipc:///path, inproc://name, or
  // tls+tcp://host:port (then the TLS files below are required).
  std::string listen;
  // The URL of the point-to-point listener; empty: derived from `listen` (ipc and inproc: the
  // same name plus ".p2p"; tcp and tls+tcp: the same host on a port the system picks).
  std::string p2p_listen;
  // The host peers reach this node at, for a listener on every interface (host 0.0.0.0, [::] or
  // *): the node tells its peers its bus and point-to-point URLs with this host (and their bound
  // ports). Empty: the listen URL's host, which may then not be such a wildcard (peers would dial
  // themselves), refused at start.
  std::string advertise_host;
  // Bytes: frames larger than this are dropped on receipt and counted (frames_oversized). NNG
  // reads frames up to twice this (NNG_OPT_RECVMAXSZ) so that they can be counted; a peer that
  // sends a larger one has its connection closed by NNG, uncounted here (its dialer reconnects,
  // and the receivers count the bus frames lost meanwhile).
  size_t max_frame_size = 4 << 20;
  // Frames a socket queues before a send is refused (NNG_OPT_SENDBUF, 0..8192; NNG's default 0
  // refuses a send whenever NNG's thread has not yet taken the previous frame, which drops the
  // second frame of a multi-frame repair, or a broadcast during a burst, at once). The bus
  // queues this many broadcasts ahead of its per-connection queues (16 frames each, fixed in
  // NNG); each peer's point-to-point socket queues this many frames for it.
  size_t send_buffer = 32;
  // Mutual TLS for tls+tcp:// URLs: this node's certificate (PEM) and key (PEM; empty: in the
  // certificate file), and the CA that signed every member's certificate (peers without such a
  // certificate are refused, in both directions).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;
};

struct TransportStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t send_dropped = 0;      // could not be queued (a full queue or no connection)
  uint64_t frames_oversized = 0;  // received larger than max_frame_size, dropped
  uint64_t bus_peers = 0;         // bus connections up now
  // Connections that failed their handshake (the NNG transport: on tls+tcp://, a certificate one
  // side refused, as not signed by its CA, expired or missing, or a peer not speaking TLS; on any
  // URL, a peer not speaking this protocol): made to this node, and made by it (the latest to
  // `refused_dial_url`).
  uint64_t handshakes_refused = 0;
  uint64_t dials_refused = 0;
  std::string refused_dial_url;
};

// Where a peer listens.
struct PeerAddress {
  std::string bus;
  std::string p2p;
};

class Transport {
 public:
  // `from_bus`: the frame came by Broadcast (else by Send); `bus_pipe`: then the bus connection
  // it came over (see DialedUrl), else 0.
  using FrameHandler = std::function<void(std::string frame, bool from_bus, uint32_t bus_pipe)>;

  virtual ~Transport() = default;
  // The URLs actually listened on (a system-picked port filled in).
  virtual const std::string& bus_url() const = 0;
  virtual const std::string& p2p_url() const = 0;
  // Dials a bus URL (a seed, or a member this node should connect to) unless already dialed;
  // reconnects on its own after failures. Returns false for a URL NNG rejects.
  virtual bool DialBus(const std::string& url) = 0;
  // Stops dialing `url` and closes the connections it made (the NNG transport has the peer close
  // them, after this node's last frame on them, within a round trip).
  virtual void HangUpBus(const std::string& url) = 0;
  // The URL this node dialed to make bus connection `bus_pipe`; empty when the peer dialed it
  // (or it is gone).
  virtual std::string DialedUrl(uint32_t bus_pipe) const = 0;
  // Sets (or changes) where point-to-point frames to `peer` go.
  virtual void SetPeer(NodeId peer, const std::string& p2p_url) = 0;
  virtual void RemovePeer(NodeId peer) = 0;
  // False when NNG refused the frame (its queue was full). A frame it takes may still be dropped
  // on the way to a slow peer, silently: receivers find that out from the frames' numbers. (The
  // NNG transport keeps frames that start with a NUL byte and "convergent-transport-" for itself,
  // and refuses them.)
  virtual bool Broadcast(std::string_view frame) = 0;
  // False when the frame was dropped (unknown peer, full queue).
  virtual bool Send(NodeId peer, std::string_view frame) = 0;
  virtual TransportStats stats() const = 0;
  // Stops delivering, closes every socket. Idempotent. The NNG transport first tells the peers,
  // after the frames sent so far, and waits (half a second at most) until they have dropped their
  // connections to it: a peer that did has received what was queued for it before.
  virtual void Close() = 0;
};

// An NNG transport (bus0 for the bus; push0/pull0 for point to point), listening once it is
// returned. Errors: a URL NNG cannot listen on, unreadable TLS files.
Result<std::unique_ptr<Transport>> MakeNngTransport(const TransportOptions& options,
                                                    Transport::FrameHandler on_frame);

}  // namespace convergent
