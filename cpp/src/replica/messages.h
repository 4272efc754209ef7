// The replicator's messages as C++ values (the protobuf forms are in
// proto/convergent/v1/replication.proto; frame_codec converts). Internal to the library.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/replicator.h"
#include "replica/pruning_marker.h"

namespace convergent::internal {

struct KeyedState {
  std::string key;
  std::string state;  // an encoded Crdt (EncodeAny / DecodeAny of convergent/codec.h)
  bool full = false;
  PruningMarkers pruning;       // full states only
  uint64_t last_active_us = 0;  // expiring keys: the latest update anywhere (0: not told)
};

// The deletes of a key: dots of the deleting replicas' delete counters, ascending, unique (a key
// deleted concurrently on two replicas has two).
using DeleteDots = CausalContext::DotCloud;

struct Tombstone {
  std::string key;
  CrdtType type = CrdtType::kGCounter;
  uint64_t deleted_at_us = 0;
  DeleteDots dots;  // empty only from a peer or snapshot of an earlier version
};

// What a replica tells the peers it starts anti-entropy rounds with about deletes (see
// replica/tombstone_collector.h): the deletes it has seen without gap, and its collection floor;
// both without the entries its retired set covers when the receiver has the same set
// (replica/retired_deletes.h).
struct DeleteAdvert {
  CausalContext::VersionVector seen;
  CausalContext::VersionVector collected;
  uint64_t members = 0;         // a hash of the member replicas the sender knows (0: none known)
  uint64_t retired_digest = 0;  // the sender's retired set (0: empty)
  // The retired set itself, sent with whole vectors to a peer whose last digest was another.
  std::optional<CausalContext::VersionVector> retired;
  // The sender is unsure (restored, not yet heard every member), or fresh (started empty, not
  // yet heard every member): replica/tombstone_collector.h.
  bool unsure = false;
  bool fresh = false;
};

struct DeltaBatchMsg {
  std::vector<KeyedState> entries;
  std::vector<Tombstone> tombstones;
  bool relayed = false;  // changes from another datacenter (not sent to other datacenters again)
};

struct WriteRequestMsg {
  RequestId request_id = 0;
  std::optional<KeyedState> entry;
  std::optional<Tombstone> tombstone;
  // To another datacenter (DcMajority, DcAll): acknowledged once a majority there applied it.
  bool datacenter = false;
};

struct WriteAckMsg {
  RequestId request_id = 0;
  std::string error;     // empty: applied
  bool deleted = false;  // the error is that the key is deleted there
};

struct ReadRequestMsg {
  RequestId request_id = 0;
  std::string key;
  CrdtType type = CrdtType::kGCounter;
  // To another datacenter: answered once a majority there answered (with what they hold).
  bool datacenter = false;
};

struct ReadReplyMsg {
  RequestId request_id = 0;
  std::optional<KeyedState> entry;
  std::optional<Tombstone> tombstone;
  std::string error;
};

struct DigestStepMsg {
  uint64_t round = 0;
  uint32_t level = 0;
  std::vector<uint32_t> nodes;
  std::vector<uint64_t> digests;
  std::optional<DeleteAdvert> deletes;  // level 1 only
  uint32_t depth = 0;                   // the sender's tree depth (0: the receiver's)
};

struct KeyDigestsMsg {
  uint64_t round = 0;
  std::vector<uint32_t> leaves;
  std::vector<uint32_t> key_count;
  std::vector<uint64_t> key_hashes;
  std::vector<uint64_t> key_digests;
  uint32_t level = 0;  // the tree level of `leaves` (0: the receiver's leaves)
};

// A key's causal context in a repair of a key both replicas hold, differently: the receiver
// answers with the part of the key that the context lacks and, with `reply`, with its own
// context (replica/anti_entropy.cc).
struct KeyContextMsg {
  uint64_t key_hash = 0;
  CausalContext context;
  bool reply = false;
};

struct RepairMsg {
  uint64_t round = 0;
  std::vector<KeyedState> entries;
  std::vector<Tombstone> tombstones;
  std::vector<uint64_t> wanted;  // key hashes wanted back whole
  std::vector<KeyContextMsg> since;
};

struct FragmentMsg {
  uint64_t message_id = 0;
  uint32_t index = 0;
  uint32_t count = 0;
  uint64_t total_size = 0;
  std::string payload;
};

// A gateway's batch of its datacenter's changes to another datacenter, and the answer.
struct DcBatchMsg {
  uint64_t seq = 0;
  std::string datacenter;
  std::vector<KeyedState> entries;
  std::vector<Tombstone> tombstones;
  uint64_t since_wall_us = 0;
};

struct DcAckMsg {
  std::vector<uint64_t> seqs;
};

using FrameBody =
    std::variant<DeltaBatchMsg, WriteRequestMsg, WriteAckMsg, ReadRequestMsg, ReadReplyMsg,
                 DigestStepMsg, KeyDigestsMsg, RepairMsg, FragmentMsg, DcBatchMsg, DcAckMsg>;

struct FrameMsg {
  NodeId from = 0;
  FrameBody body;
  ReplicaId from_replica;  // the sender's incarnation
};

// Calls fn(state) for every key state a body carries (const or not).
template <typename Body, typename Fn>
void ForEachState(Body& body, Fn&& fn) {
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, DeltaBatchMsg> || std::is_same_v<M, RepairMsg> ||
                      std::is_same_v<M, DcBatchMsg>) {
          for (auto& s : m.entries) fn(s);
        } else if constexpr (std::is_same_v<M, WriteRequestMsg> ||
                             std::is_same_v<M, ReadReplyMsg>) {
          if (m.entry) fn(*m.entry);
        }
      },
      body);
}

// Whether a frame of this kind may come from another datacenter: its batches and their acks,
// anti-entropy rounds, the requests of the datacenter levels and their answers, and the pieces of
// large frames. (Delta batches and the other coordinated requests: only between peers.)
inline bool CrossesDatacenters(const FrameBody& b) {
  if (const auto* w = std::get_if<WriteRequestMsg>(&b)) return w->datacenter;
  if (const auto* r = std::get_if<ReadRequestMsg>(&b)) return r->datacenter;
  return std::holds_alternative<DcBatchMsg>(b) || std::holds_alternative<DcAckMsg>(b) ||
         std::holds_alternative<WriteAckMsg>(b) || std::holds_alternative<ReadReplyMsg>(b) ||
         std::holds_alternative<DigestStepMsg>(b) || std::holds_alternative<KeyDigestsMsg>(b) ||
         std::holds_alternative<RepairMsg>(b) || std::holds_alternative<FragmentMsg>(b);
}

// The FrameKind of a body (its index in FrameBody, in the same order as FrameKind).
inline FrameKind KindOf(const FrameBody& b) { return static_cast<FrameKind>(b.index()); }

}  // namespace convergent::internal
