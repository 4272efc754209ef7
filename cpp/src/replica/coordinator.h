// Coordinator: a replicator's coordinated requests (Majority, All, To(n)) in flight. A write or
// a read goes to every peer of the role and completes when enough of them have applied it
// (writes) or answered (reads), self counted: Majority is floor(N/2)+1 of the N replicas, N as
// the node counts it now (a member that joins while a request runs raises what it needs, one that
// leaves lowers it and takes its answer back). Not reaching the level in time completes the
// request with a timeout; peers that have not answered are asked again, less and less often.
// The answering side (a peer's request applied here) is the replicator's.
//
// The datacenter levels (DcMajority, DcAll) need a majority of this datacenter's replicas as above
// and, from each other datacenter they count, one answer: the request goes to that datacenter's
// target (the node its gateway talks to), which coordinates a Majority there and answers once
// it is reached (its answer counts for its whole datacenter, once). Unanswered datacenters are
// asked again with the peers, through their target of the moment.
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
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
  // The other datacenters: each one's name and the node to ask there now (nullopt: none).
  virtual std::vector<std::pair<std::string, std::optional<NodeId>>> CoordinationDatacenters()
      const = 0;
  // The datacenter of a member of another datacenter ("" for any other node).
  virtual std::string DatacenterOfMember(NodeId node) const = 0;
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
  // Answers needed from other datacenters for `level` (this one already counted).
  size_t DatacentersNeeded(Consistency level) const;

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
    // The datacenter levels: answers needed from other datacenters; whom each was asked
    // through; those that answered, and those that failed.
    size_t dc_needed = 0;
    std::map<std::string, std::vector<NodeId>> dc_asked;
    std::set<std::string> dc_answered;
    std::set<std::string> dc_failed;
  };

  RequestId Start(Pending r, TimeMicros now, std::optional<double> timeout);
  // Takes a peer's answer to a pending request (or, setting `*dc`, a datacenter's); nullptr
  // when the request is gone or the peer (the datacenter) already answered.
  Pending* TakeAnswer(NodeId from, RequestId id, bool is_read, std::string* dc);
  // Counts the answer of peer `from` (of datacenter `dc`, when not empty) and completes the
  // request when the level is reached (or can no longer be); a failure (ok false) records
  // `error`, a peer's tombstone when `deleted`.
  void CountAnswer(NodeId from, const std::string& dc, RequestId id, Pending& r, bool ok,
                   std::string error, bool deleted = false);
  // Asks the datacenters that have not answered through their target, unless asked through it.
  void AskDatacenters(Pending& r, bool again);
  void Complete(RequestId id, Status status);

  CoordinatorHost& host_;
  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::vector<Completion>& completions_;
  std::map<RequestId, Pending> requests_;
  RequestId next_request_;
};

}  // namespace convergent::internal
