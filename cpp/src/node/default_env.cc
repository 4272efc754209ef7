// Env::Default(): the real world for a node (see convergent/env.h).
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "convergent/env.h"

namespace convergent {
namespace {

class DefaultEnv final : public Env {
 public:
  TimeMicros MonotonicMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  TimeMicros WallMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void Log(LogLevel level, std::string_view source, std::string_view message) override {
    LogLine(level, source, message);
  }
  uint64_t Random() override {
    std::lock_guard lock(mu_);
    return (static_cast<uint64_t>(device_()) << 32) ^ device_() ^
           static_cast<uint64_t>(MonotonicMicros());
  }
  Result<std::unique_ptr<Transport>> NewTransport(const TransportOptions& options,
                                                  Transport::FrameHandler on_frame) override {
    return MakeNngTransport(options, std::move(on_frame));
  }
  Result<std::unique_ptr<SnapshotStore>> OpenSnapshotStore(const std::string& path,
                                                           std::string* damage) override {
    return OpenLevelDbSnapshotStore(path, damage);
  }

 private:
  std::mutex mu_;
  std::random_device device_;
};

struct SinkState {
  std::mutex mu;
  std::shared_ptr<const LogSink> sink;  // null: stderr
};

SinkState& Sink() {
  static auto* state = new SinkState();  // never destroyed: threads may log during exit
  return *state;
}

}  // namespace

void SetLogSink(LogSink s) {
  SinkState& state = Sink();
  std::lock_guard lock(state.mu);
  state.sink = s ? std::make_shared<const LogSink>(std::move(s)) : nullptr;
}

void LogLine(LogLevel level, std::string_view source, std::string_view message) {
  std::shared_ptr<const LogSink> to;
  {
    SinkState& state = Sink();
    std::lock_guard lock(state.mu);
    to = state.sink;
  }
  if (to != nullptr) {
    (*to)(level, source, message);
    return;
  }
  const char* what = level == LogLevel::kError     ? "error"
                     : level == LogLevel::kWarning ? "warning"
                                                   : "info";
  if (source.empty()) {  // the process's, not a node's
    std::fprintf(stderr, "convergent: %s: %.*s\n", what, static_cast<int>(message.size()),
                 message.data());
    return;
  }
  std::fprintf(stderr, "convergent node %.*s: %s: %.*s\n", static_cast<int>(source.size()),
               source.data(), what, static_cast<int>(message.size()), message.data());
}

Env& Env::Default() {
  static DefaultEnv* env = new DefaultEnv();  // never destroyed: nodes may outlive statics
  return *env;
}

}  // namespace convergent
