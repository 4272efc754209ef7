// The NNG transport on its own (the node's transport): bursts of frames, as a multi-frame
// anti-entropy repair or a busy flush makes, are queued rather than refused.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "convergent/transport.h"
#include "node_test_support.h"

namespace convergent {
namespace {

using test::WaitFor;

TEST(NodeTransportTest, BurstsOfFramesAreQueuedNotRefused) {
  std::mutex mu;
  std::vector<std::string> bus, p2p;
  TransportOptions a, b;
  a.listen = "inproc://transport-burst-a";
  b.listen = "inproc://transport-burst-b";
  auto ta = MakeNngTransport(a, [](std::string, bool, uint32_t) {});
  auto tb = MakeNngTransport(b, [&](std::string frame, bool from_bus, uint32_t) {
    std::lock_guard lock(mu);
    (from_bus ? bus : p2p).push_back(std::move(frame));
  });
  ASSERT_TRUE(ta.ok() && tb.ok());
  Transport& sender = **ta;
  ASSERT_TRUE(sender.DialBus((*tb)->bus_url()));
  sender.SetPeer(1, (*tb)->p2p_url());
  auto count = [&](const std::vector<std::string>& frames, char tag) {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const std::string& f : frames) n += f[0] == tag ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(WaitFor([&] {  // connected both ways
    sender.Broadcast("h");
    sender.Send(1, "h");
    return count(bus, 'h') > 0 && count(p2p, 'h') > 0;
  }));
  const uint64_t refused = sender.stats().send_dropped;
  // On the bus, as many as NNG's per-connection queue holds (16, fixed: beyond it bus0 drops
  // silently when the connection is slow, which the nodes' numbered frames find out); point to
  // point, more (the socket's own queue holds them).
  constexpr int kBusBurst = 16, kP2pBurst = 24;
  for (int i = 0; i < kP2pBurst; ++i) {
    if (i < kBusBurst) {
      EXPECT_TRUE(sender.Broadcast("b" + std::to_string(i)));
    }
    EXPECT_TRUE(sender.Send(1, "p" + std::to_string(i)));
  }
  EXPECT_EQ(sender.stats().send_dropped, refused);
  EXPECT_TRUE(WaitFor([&] { return count(bus, 'b') == kBusBurst && count(p2p, 'p') == kP2pBurst; }))
      << count(bus, 'b') << " broadcasts and " << count(p2p, 'p') << " sends arrived";
  sender.Close();
  (*tb)->Close();
}

}  // namespace
}  // namespace convergent
