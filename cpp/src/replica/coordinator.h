// Coordinator: a replicator's coordinated requests (Majority, All, To(n)) in flight. A write or
// a read goes to every peer of the role and completes when enough of them have applied it
// (writes) or answered (reads), self counted: Majority is floor(N/2)+1 of the N replicas, N as
// the node counts it now (a member that joins while a request runs raises what it needs, one that
// leaves lowers it and takes its answer back). Not reaching the level in time completes the
// request with a timeout; peers that have not answered are asked again, less and less often.
// The answering side (a peer's request applied here) is the replicator's.
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convergent/replicator.h"
#include "replica/messages.h"

namespace convergent::internal {

// What a Coordinator needs of its replicator.
class CoordinatorHost {
 public:
  virtual ~CoordinatorHost() = default;
  // The peers of the role now (sorted) and N as the node counts it (never below peers + 1).
  virtual const std::vector<NodeId>& CoordinationPeers() const = 0;
  virtual size_t CoordinationN() const = 0;
  virtual void SendTo(NodeId peer, FrameBody body) = 0;
  // A coordinated read of `key` completed well: joins what the peers answered into the store
  // (a tombstone, or their merged value and its pruning markers) and fills in the completion's
  // value and deleted flag.
  virtual void CompleteRead(const std::string& key, CrdtType type,
                            std::optional<Tombstone> tombstone, std::optional<AnyCrdt> merged,
                            const PruningMarkers& merged_pruning, Completion& completion) = 0;
};

class Coordinator {
 public:
  // `first_request`: request ids start here (random per incarnation, so that a late answer to a
  // previous incarnation of this node is not taken for one to a new request).
  Coordinator(CoordinatorHost& host, const ReplicatorOptions& options, ReplicatorMetrics& metrics,
              std::vector<Completion>& completions, RequestId first_request);

  // Starts a write (the key's delta, or a tombstone); 0 when the level needs no peer.
  RequestId StartWrite(WriteRequestMsg msg, Consistency level, TimeMicros now,
                       std::optional<double> timeout);
  RequestId StartRead(std::string_view key, CrdtType type, Consistency level, TimeMicros now,
                      std::optional<double> timeout);
  void OnWriteAck(NodeId from, const WriteAckMsg& m);
  void OnReadReply(NodeId from, ReadReplyMsg& m);
  // The membership changed: asks the peers that joined since each request started, takes back
  // the answers of peers that left, and sets what each request needs from the N there is now,
  // completing those that now have enough answers.
  void OnMembershipChange();
  // Completes the requests past their deadline with a timeout and resends the others when due.
  void Expire(TimeMicros now);
  // The earliest deadline or resend (max when none).
  TimeMicros NextDeadline() const;
  // Answers needed from peers for `level` (self already counted).
  size_t Needed(Consistency level) const;

 private:
  struct Pending {
    bool is_read = false;
    Consistency level = Consistency::kLocal;
    std::string key;
    CrdtType type = CrdtType::kGCounter;
    size_t needed = 0;  // answers needed from peers (self already counted)
    size_t answers = 0;
    size_t failures = 0;
    // The peers asked that have not answered yet: a peer counts once, however many copies of
    // its answer the network delivers.
    std::vector<NodeId> waiting;
    // Every peer asked so far (sorted): a peer that joins while the request runs is asked too.
    std::vector<NodeId> asked;
    // The peers whose answers counted (answers): one that leaves no longer counts.
    std::vector<NodeId> answered;
    std::string last_error;
    bool last_error_deleted = false;  // the last error was a peer's tombstone (kKeyDeleted)
    TimeMicros deadline = 0;
    // The request as sent, resent to the peers still waiting at next_resend (the interval
    // doubles each time): a lost request or a peer not yet connected does not doom it.
    FrameBody message;
    TimeMicros next_resend = 0;
    TimeMicros resend_interval = 0;
    std::optional<AnyCrdt> merged;  // reads: what the peers answered
    PruningMarkers merged_pruning;  // and its pruning markers
    std::optional<Tombstone> tombstone;
  };

  RequestId Start(Pending r, TimeMicros now, std::optional<double> timeout);
  // Counts a peer's answer to a pending request; nullptr when the request is gone or the peer
  // already answered.
  Pending* TakeAnswer(NodeId from, RequestId id, bool is_read);
  // Counts the answer of peer `from` and completes the request when the level is reached (or
  // can no longer be); a failure (ok false) records `error`, a peer's tombstone when `deleted`.
  void CountAnswer(NodeId from, RequestId id, Pending& r, bool ok, std::string error,
                   bool deleted = false);
  void Complete(RequestId id, Status status);

  CoordinatorHost& host_;
  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::vector<Completion>& completions_;
  std::map<RequestId, Pending> requests_;
  RequestId next_request_;
};

}  // namespace convergent::internal
