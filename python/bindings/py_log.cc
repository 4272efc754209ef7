// The library's log lines for Python's logging. While capture is on, the process-wide log sink
// (convergent/env.h) queues each line (it runs on node threads, maybe under their locks: it only
// queues); a Python thread of convergent._logging takes them with _log_wait and logs them.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "convergent/env.h"
#include "module.h"
#include "py_gil.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// Lines beyond this many, not yet taken, are dropped (and counted) rather than held.
constexpr size_t kMaxQueued = 10000;

struct LogQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::tuple<int, std::string, std::string>> lines;  // (level, source, message)
  uint64_t dropped = 0;
};

LogQueue& Queue() {
  static auto* q = new LogQueue();  // never destroyed: node threads may log at exit
  return *q;
}

int PythonLevel(LogLevel level) {  // logging.INFO, WARNING, ERROR
  return level == LogLevel::kError ? 40 : level == LogLevel::kWarning ? 30 : 20;
}

}  // namespace

void RegisterLog(py::module_& m) {
  m.def(
      "_log_capture",
      [](bool on) {
        if (!on) {
          SetLogSink(nullptr);
          return;
        }
        SetLogSink([](LogLevel level, std::string_view source, std::string_view message) {
          LogQueue& q = Queue();
          {
            std::lock_guard lock(q.mu);
            if (q.lines.size() >= kMaxQueued) {
              ++q.dropped;
              return;
            }
            q.lines.emplace_back(PythonLevel(level), std::string(source), std::string(message));
          }
          q.cv.notify_one();
        });
      },
      py::arg("on"),
      "Queues the library's log lines for _log_wait (True) or writes them to stderr.");
  m.def(
      "_log_wait",
      [](double timeout) {
        std::vector<std::tuple<int, std::string, std::string>> out;
        uint64_t dropped = 0;
        {
          GilReleased nogil;  // the pump is a daemon thread: it may be ended right here at exit
          LogQueue& q = Queue();
          std::unique_lock lock(q.mu);
          q.cv.wait_for(lock, std::chrono::duration<double>(std::max(timeout, 0.0)),
                        [&] { return !q.lines.empty(); });
          out.assign(std::make_move_iterator(q.lines.begin()),
                     std::make_move_iterator(q.lines.end()));
          q.lines.clear();
          dropped = std::exchange(q.dropped, 0);
        }
        return std::make_pair(out, dropped);
      },
      py::arg("timeout"),
      "The queued log lines, (level, source, message), waiting up to `timeout` seconds for one; "
      "and how many were dropped since the last call because the queue was full.");
}

}  // namespace convergent::bindings
