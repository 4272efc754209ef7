// EventQueue: the simulation's agenda, a min-heap of events ordered by (virtual time, sequence
// number). The sequence number is the order of scheduling, so events due at the same time run
// in the order they were scheduled and every run of a script is the same.
//
// Thread safety: none; owned by one Simulation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "convergent/replicator.h"

namespace convergent::sim {

template <typename Event>
class EventQueue {
 public:
  void Push(TimeMicros time, Event event) {
    heap_.push_back(Entry{time, next_seq_++, std::move(event)});
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  TimeMicros next_time() const { return heap_.front().time; }
  // Removes and returns the earliest event (the queue must not be empty).
  std::pair<TimeMicros, Event> Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    Entry e = std::move(heap_.back());
    heap_.pop_back();
    return {e.time, std::move(e.event)};
  }

 private:
  struct Entry {
    TimeMicros time;
    uint64_t seq;
    Event event;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  std::vector<Entry> heap_;  // a binary heap, earliest first
  uint64_t next_seq_ = 0;
};

}  // namespace convergent::sim
