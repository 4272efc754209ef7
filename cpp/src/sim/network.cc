#include "sim/network.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

namespace convergent::sim {

TimeMicros ToMicros(double seconds) { return static_cast<TimeMicros>(std::llround(seconds * 1e6)); }

SimNetwork::SimNetwork(double latency, double jitter, double loss, double duplication)
    : latency_(latency), jitter_(jitter), loss_(loss), duplication_(duplication) {}

Status SimNetwork::CheckProbability(double p, const char* what) {
  if (!(p >= 0.0 && p < 1.0)) {
    return Status::InvalidArgument(std::string(what) + " must be in [0, 1), got " +
                                   std::to_string(p));
  }
  return Status::Ok();
}

Status SimNetwork::CheckLatency(double mean, double jitter) {
  // An hour bounds the delays so that microsecond times cannot overflow.
  if (!(mean >= 0.0 && mean <= 3600.0)) {
    return Status::InvalidArgument("latency must be in [0, 3600] seconds");
  }
  if (!(jitter >= 0.0 && jitter <= 3600.0)) {
    return Status::InvalidArgument("jitter must be in [0, 3600] seconds");
  }
  return Status::Ok();
}

Status SimNetwork::SetLoss(double p) {
  if (Status s = CheckProbability(p, "loss"); !s.ok()) return s;
  loss_ = p;
  return Status::Ok();
}

Status SimNetwork::SetLatency(double mean, double jitter) {
  if (Status s = CheckLatency(mean, jitter); !s.ok()) return s;
  latency_ = mean;
  jitter_ = jitter;
  return Status::Ok();
}

Status SimNetwork::SetDuplication(double p) {
  if (Status s = CheckProbability(p, "duplication"); !s.ok()) return s;
  duplication_ = p;
  return Status::Ok();
}

Status SimNetwork::SetLinkLoss(NodeId a, NodeId b, double p, bool one_way) {
  // A link may be cut entirely (p = 1), unlike the default loss.
  if (!(p >= 0.0 && p <= 1.0)) return Status::InvalidArgument("link loss must be in [0, 1]");
  if (one_way) {
    one_way_loss_[{a, b}] = p;
  } else {
    links_[Key(a, b)].loss = p;
    one_way_loss_.erase({a, b});
    one_way_loss_.erase({b, a});
  }
  return Status::Ok();
}

Status SimNetwork::SetLinkLatency(NodeId a, NodeId b, double mean, double jitter) {
  if (Status s = CheckLatency(mean, jitter); !s.ok()) return s;
  links_[Key(a, b)].latency = std::make_pair(mean, jitter);
  return Status::Ok();
}

Status SimNetwork::SetDatacenterLatency(int a, int b, double mean, double jitter) {
  if (Status s = CheckLatency(mean, jitter); !s.ok()) return s;
  between_[std::minmax(a, b)] = std::make_pair(mean, jitter);
  return Status::Ok();
}

const std::pair<double, double>* SimNetwork::Between(NodeId a, NodeId b) const {
  if (between_.empty()) return nullptr;
  const int x = DatacenterOf(a), y = DatacenterOf(b);
  if (x < 0 || y < 0 || x == y) return nullptr;
  auto it = between_.find(std::minmax(x, y));
  return it == between_.end() ? nullptr : &it->second;
}

int SimNetwork::GroupOf(NodeId n) const {
  if (group_of_.empty()) return 0;
  auto it = group_of_.find(n);
  return it == group_of_.end() ? 0 : it->second;
}

TimeMicros SimNetwork::Delay(double mean, double jitter, std::mt19937_64& rng) const {
  double d = mean;
  if (jitter > 0) d += (2.0 * Uniform01(rng) - 1.0) * jitter;
  return std::max<TimeMicros>(0, ToMicros(d));
}

TimeMicros SimNetwork::MeanDelay(NodeId a, NodeId b) const {
  double mean = latency_;
  if (const auto* between = Between(a, b)) mean = between->first;
  if (auto it = links_.find(Key(a, b)); it != links_.end() && it->second.latency) {
    mean = it->second.latency->first;
  }
  return ToMicros(mean);
}

FrameFate SimNetwork::Decide(NodeId from, NodeId to, std::mt19937_64& rng) const {
  double loss = loss_, mean = latency_, jitter = jitter_;
  if (const auto* between = Between(from, to)) std::tie(mean, jitter) = *between;
  if (!links_.empty()) {
    if (auto it = links_.find(Key(from, to)); it != links_.end()) {
      if (it->second.loss) loss = *it->second.loss;
      if (it->second.latency) std::tie(mean, jitter) = *it->second.latency;
    }
  }
  if (!one_way_loss_.empty()) {
    if (auto it = one_way_loss_.find({from, to}); it != one_way_loss_.end()) loss = it->second;
  }
  FrameFate fate;
  if (loss > 0 && Uniform01(rng) < loss) {
    fate.lost = true;
    return fate;
  }
  fate.copies = 1;
  fate.delays[0] = Delay(mean, jitter, rng);
  if (duplication_ > 0 && Uniform01(rng) < duplication_) {
    fate.copies = 2;
    fate.delays[1] = Delay(mean, jitter, rng);
  }
  return fate;
}

}  // namespace convergent::sim
