#include "net/nng_close.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "convergent/env.h"

namespace convergent::internal {
namespace {

constexpr auto kCloseTimeout = std::chrono::seconds(2);
std::atomic<uint64_t> left_behind{0};

}  // namespace

bool CloseGuarded(nng_socket s) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> closed = done->get_future();
  std::thread closer([s, done] {
    nng_close(s);
    done->set_value();
  });
  if (closed.wait_for(kCloseTimeout) == std::future_status::ready) {
    closer.join();  // it is ending: no thread of ours outlives a close that completed
    return true;
  }
  closer.detach();
  ++left_behind;
  LogLine(LogLevel::kError, "", "an NNG socket did not close within 2 s; left behind");
  return false;
}

uint64_t SocketsLeftBehind() { return left_behind.load(); }

}  // namespace convergent::internal
