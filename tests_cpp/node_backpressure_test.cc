// Back-pressure in real nodes: a node whose bus frames are lost on the way (here a transport
// wrapper drops every other delta batch it broadcasts, as bus0 does when a queue is full) is told
// so by its peers' heartbeats and makes fewer, larger batches, while the peers count the loss
// and repair it by early anti-entropy rounds with it (the regular rounds are too far away to).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convergent/node.h"
#include "node/node_codec.h"
#include "node_test_support.h"

namespace convergent {
namespace {

using test::FastOptions;
using test::GValue;
using test::Increment;
using test::Reachable;
using test::WaitFor;

// Forwards everything to the real transport, except every other bus frame that carries a
// replication frame (a delta batch), which it drops and counts.
class LossyTransport final : public Transport {
 public:
  LossyTransport(std::unique_ptr<Transport> inner, std::shared_ptr<std::atomic<int>> dropped)
      : inner_(std::move(inner)), dropped_(std::move(dropped)) {}
  const std::string& bus_url() const override { return inner_->bus_url(); }
  const std::string& p2p_url() const override { return inner_->p2p_url(); }
  bool DialBus(const std::string& url) override { return inner_->DialBus(url); }
  void HangUpBus(const std::string& url) override { inner_->HangUpBus(url); }
  std::string DialedUrl(uint32_t pipe) const override { return inner_->DialedUrl(pipe); }
  void SetPeer(NodeId peer, const std::string& url) override { inner_->SetPeer(peer, url); }
  void RemovePeer(NodeId peer) override { inner_->RemovePeer(peer); }
  bool Broadcast(std::string_view frame) override {
    const bool delta = frame.size() > internal::kBusHeaderSize &&
                       frame[internal::kBusHeaderSize] == internal::kReplicationTag;
    if (delta && (deltas_++ % 2) == 1) {
      ++*dropped_;
      return true;  // as bus0 does: taken, then lost on the way
    }
    return inner_->Broadcast(frame);
  }
  bool Send(NodeId peer, std::string_view frame) override { return inner_->Send(peer, frame); }
  TransportStats stats() const override { return inner_->stats(); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<Transport> inner_;
  std::shared_ptr<std::atomic<int>> dropped_;
  int deltas_ = 0;  // the node's loop is the only caller of Broadcast
};

NodeOptions Options(const std::string& name, std::vector<std::string> seeds) {
  NodeOptions o = FastOptions("inproc://backpressure-" + name, std::move(seeds));
  o.replicator.anti_entropy_interval = 1000;  // only loss repairs can fix what is lost
  o.replicator.loss_repair_interval = 0.05;
  o.max_delta_flush_interval = 0.16;  // 16 x the 10 ms flush interval of FastOptions
  return o;
}

double Metric(Node& n, const std::string& name) { return n.Metrics().at(name); }

TEST(NodeBackPressureTest, LostBatchesAreCountedRepairedAndTheSenderBatchesMore) {
  auto dropped = std::make_shared<std::atomic<int>>(0);
  NodeOptions lossy = Options("0", {});
  lossy.wrap_transport = [dropped](std::unique_ptr<Transport> t) -> std::unique_ptr<Transport> {
    return std::make_unique<LossyTransport>(std::move(t), dropped);
  };
  auto n0 = Node::Start(lossy);
  ASSERT_TRUE(n0.ok()) << n0.status().ToString();
  auto n1 = Node::Start(Options("1", {(*n0)->bus_url()}));
  auto n2 = Node::Start(Options("2", {(*n0)->bus_url()}));
  ASSERT_TRUE(n1.ok() && n2.ok());
  Node& sender = **n0;
  std::vector<Node*> receivers = {n1->get(), n2->get()};
  ASSERT_TRUE(WaitFor([&] {
    return Reachable(sender) == 3 && Reachable(*receivers[0]) == 3 && Reachable(*receivers[1]) == 3;
  }));
  EXPECT_EQ(Metric(sender, "convergent.backpressure.flush.interval.seconds"), 0.01);

  // Keep writing until the sender has been told of its losses and flushes less often.
  int rounds = 0;
  ASSERT_TRUE(WaitFor([&] {
    for (int k = 0; k < 20; ++k) Increment(sender, "k" + std::to_string(k));
    ++rounds;
    return Metric(sender, "convergent.backpressure.flush.interval.seconds") >= 0.04;
  }));
  EXPECT_GE(Metric(sender, "convergent.backpressure.congestion.count"), 2);
  EXPECT_LE(Metric(sender, "convergent.backpressure.flush.interval.seconds"), 0.16);  // the cap

  // Every receiver converges on every count, through loss repairs only.
  const uint64_t want = static_cast<uint64_t>(rounds);
  for (Node* r : receivers) {
    ASSERT_TRUE(WaitFor([&] {
      for (int k = 0; k < 20; ++k) {
        if (GValue(*r, "k" + std::to_string(k)) != want) return false;
      }
      return true;
    })) << "a receiver did not converge";
    EXPECT_GT(Metric(*r, "convergent.transport.bus.frames.lost"), 0);
    EXPECT_GT(Metric(*r, "crdt.replicator.antientropy.loss_repair.count"), 0);
  }
  EXPECT_GT(dropped->load(), 0);
  EXPECT_EQ(Metric(sender, "crdt.replicator.antientropy.loss_repair.count"), 0);  // lost nothing

  // Once nothing is lost any more, the interval comes back down to the configured one.
  ASSERT_TRUE(WaitFor(
      [&] { return Metric(sender, "convergent.backpressure.flush.interval.seconds") == 0.01; }));
}

}  // namespace
}  // namespace convergent
