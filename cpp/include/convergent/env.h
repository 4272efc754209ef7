// Env: everything a node takes from the world around it, in one place (as LevelDB's Env): a
// monotonic clock for every timer, a wall clock only for LWW timestamps, tombstone ages and
// incarnation numbers, a logger, fresh randomness, and the factories of its transport and
// snapshot store. The node core (cpp/src/node/node_core.h) reads nothing else, so the same code
// runs on NNG, LevelDB and the real clocks (Env::Default) and in the deterministic simulator
// (virtual time, skewable wall clocks, a simulated network and an in-memory store).
//
// Thread safety: Env::Default() is safe from any thread. Other implementations say their own;
// the simulator's are used by its one thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "convergent/snapshot_store.h"
#include "convergent/status.h"
#include "convergent/transport.h"

namespace convergent {

enum class LogLevel { kInfo, kWarning, kError };

class Env {
 public:
  virtual ~Env() = default;

  // Microseconds of a clock that never steps (timers, failure detection, pacing).
  virtual TimeMicros MonotonicMicros() = 0;
  // Microseconds since the Unix epoch, as the wall clock says (it may step either way).
  virtual TimeMicros WallMicros() = 0;
  // One line for the operator: `source` names who speaks (a node's name).
  virtual void Log(LogLevel level, std::string_view source, std::string_view message) = 0;
  // 64 fresh random bits (replica ids, seeds of the replicator's choices).
  virtual uint64_t Random() = 0;

  // The transport of a node: listening once returned, delivering frames to `on_frame`.
  virtual Result<std::unique_ptr<Transport>> NewTransport(const TransportOptions& options,
                                                          Transport::FrameHandler on_frame) = 0;
  // Opens (creating if needed) the snapshot store at `path`. A store found damaged is reset to
  // empty and `*damage` says what was wrong (empty: nothing); other failures are errors.
  virtual Result<std::unique_ptr<SnapshotStore>> OpenSnapshotStore(const std::string& path,
                                                                   std::string* damage) = 0;

  // The real world: steady_clock, system_clock, stderr (or the log sink), std::random_device,
  // NNG and LevelDB.
  static Env& Default();
};

// Where Env::Default() and the transport's process-wide warnings send their log lines: stderr
// ("convergent node <source>: <level>: <message>", one line each; "convergent: <level>: ..." for
// an empty source, the process's own) while no sink is set. The sink
// runs on the nodes' threads, possibly while they hold their locks: it must return soon and must
// not call into a node (queue the line; the Python package hands it to Python's logging).
// Process-wide; thread-safe. An empty function restores stderr.
using LogSink =
    std::function<void(LogLevel level, std::string_view source, std::string_view message)>;
void SetLogSink(LogSink sink);
// Writes one line through the sink (or to stderr): what Env::Default().Log does.
void LogLine(LogLevel level, std::string_view source, std::string_view message);

}  // namespace convergent
