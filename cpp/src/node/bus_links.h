// BusLinks: the bus connections each member is heard on, so that a pair of nodes keeps one.
// Two nodes that dial each other at once (or one that dials a member under two URLs) end up with
// two bus0 connections, and every frame between them travels twice. Both ends see both
// connections carry the other's heartbeats and apply one rule, so they agree without talking:
// the connection dialed by the node with the smaller id stays (the oldest one, if it dialed
// several); the other node hangs up its own dialer. Only the dialing end can close a connection
// for good (a connection closed by the listening end is dialed again at once). Pure logic: the
// node feeds it the heartbeats it receives and acts on the answers.
//
// It also knows whose each connection is: a bus connection joins two nodes, so once it carried a
// member's heartbeats, a frame on it that claims another sender is forged (OwnerOf).
//
// Thread safety: none; the node's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "convergent/replicator.h"

namespace convergent::internal {

class BusLinks {
 public:
  // `stale_after`: a connection not heard on for this long is gone.
  BusLinks(NodeId self, TimeMicros stale_after);

  // A heartbeat of `member` came over bus connection `pipe`, which this node dialed when
  // `dialed`. Returns a connection this node dialed and should hang up (a redundant one).
  std::optional<uint32_t> Heard(NodeId member, uint32_t pipe, bool dialed, TimeMicros now);
  void Forget(NodeId member);
  // The member whose heartbeats bus connection `pipe` carried (nothing: none yet, or none for
  // kOwnerMemory stale intervals).
  std::optional<NodeId> OwnerOf(uint32_t pipe) const;

 private:
  static constexpr int kOwnerMemory = 10;
  struct Owner {
    NodeId member = 0;
    TimeMicros last_heard = 0;
  };
  struct Link {
    uint32_t pipe = 0;
    bool dialed = false;
    TimeMicros first_heard = 0;
    TimeMicros last_heard = 0;
  };
  NodeId self_;
  TimeMicros stale_after_;
  std::map<NodeId, std::vector<Link>> links_;
  std::map<uint32_t, Owner> owners_;  // by pipe
};

}  // namespace convergent::internal
