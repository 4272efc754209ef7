// node_bench: the targets of real clusters (issue 4), measured on this machine with nodes on tcp
// loopback. A plain program: one "name value unit" line per result. Nodes run in this process
// (each with its own loop thread and NNG sockets over tcp://127.0.0.1), so the transport, the
// framing and the replication work are real; only process isolation differs from a deployment,
// except in throughput_processes, where the two other nodes are processes of their own.
//
//   1. throughput: 3 nodes, one writer updating 10,000 PNCounter keys; updates per second
//      applied on every replica, and updates per NNG message, against the raw bus0 message rate
//      measured in the same run (targets: >= 500,000 updates/s; >= 20 updates per message).
//      throughput_processes: the same with 3 node processes (the writer is this process; the
//      others are this program re-executed as child nodes, driven over pipes), and the raw bus0
//      rate measured between two processes too.
//      writers: 3 node processes, each writing unique updates at full speed from a C++ thread of
//      its own (every process writes; this one only watches): unique elements added to 1,000
//      ORSet keys per writer, then one new ORSet key per update. Updates per second applied on
//      every replica, bytes and frames on the wire per update, CPU seconds per update, against
//      the raw bus0 rate and the codec's rate (encode + decode of a one-add delta) measured in
//      the same run (target: 1,000,000 unique updates/s applied everywhere). Anti-entropy runs
//      every second, as in the other scenarios; WRITERS_AE_INTERVAL=SECONDS sets another interval
//      for the writer processes (30 is the default of a deployment). Deltas are flushed every
//      5 ms; WRITERS_FLUSH_INTERVAL=SECONDS sets another interval (0.2 is the default).
//      nodes (only when asked for: minutes): the writers' unique elements on 3, 5, 10 and 20
//      node processes (MAX_NODES caps it), every one writing; per cluster size the same figures
//      and the resident bytes per node process.
//   2. latency: 10,000 updates/s from one node; time until each is visible on the others
//      (targets: p50 < 1 ms, p99 < 5 ms).
//   3. catch-up: a node joining a 3-node cluster that holds 100,000 keys (target < 5 s).
//   4. memory: resident bytes per PNCounter key at 1,000,000 keys (target < 200 B).
//
// Usage: node_bench [--only throughput|throughput_processes|writers|nodes|latency|catchup|memory]
//                   [--updates N]
// (--child-node SEED, --child-writer W SEED and --child-raw are the modes of the child processes.)
#include <fcntl.h>
#include <malloc.h>
#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "convergent/codec.h"
#include "convergent/node.h"

namespace convergent {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void Report(const char* name, double value, const char* unit) {
  std::printf("%-44s %16.4f %s\n", name, value, unit);
  std::fflush(stdout);
}

bool WaitFor(const std::function<bool()>& done, double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

NodeOptions Options(std::vector<std::string> seeds, double flush) {
  NodeOptions o;
  o.transport.listen = "tcp://127.0.0.1:0";
  o.seeds = std::move(seeds);
  o.heartbeat_interval = 0.1;
  o.failure_timeout = 2.0;
  o.replicator.delta_flush_interval = flush;
  o.replicator.anti_entropy_interval = 1.0;
  return o;
}

std::vector<std::unique_ptr<Node>> StartCluster(int n, double flush) {
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::string> seeds;
  for (int i = 0; i < n; ++i) {
    auto node = Node::Start(Options(seeds, flush));
    if (!node.ok()) {
      std::fprintf(stderr, "node_bench: %s\n", node.status().ToString().c_str());
      std::exit(1);
    }
    seeds.push_back((*node)->bus_url());
    nodes.push_back(std::move(node).value());
  }
  WaitFor(
      [&] {
        for (auto& node : nodes) {
          size_t reachable = 0;
          for (const MemberView& m : node->Members()) reachable += m.reachable ? 1 : 0;
          if (reachable != nodes.size()) return false;
        }
        return true;
      },
      30);
  return nodes;
}

Replicator::Mutation Increment(ReplicaId r, uint64_t n = 1) {
  return [r, n](AnyCrdt& v) -> Result<AnyCrdt> {
    return AnyCrdt(v.get_if<PNCounter>()->Increment(r, n));
  };
}

// Sum of every PNCounter a node holds (keys "k<i>").
int64_t Total(Node& node) {
  int64_t total = 0;
  node.Run([&](Replicator& r, TimeMicros) {
    for (const auto& [key, type] : r.Keys()) {
      auto v = r.Get(key, type);
      if (v.ok() && *v != nullptr) total += (*v)->get_if<PNCounter>()->value();
    }
  });
  return total;
}

// Raw NNG: a bus0 socket listening on tcp loopback that counts the messages it receives.
class RawReceiver {
 public:
  RawReceiver() {
    nng_listener l;
    if (nng_bus0_open(&rx_) != 0 || nng_listen(rx_, "tcp://127.0.0.1:0", &l, 0) != 0) {
      std::fprintf(stderr, "node_bench: cannot listen for the raw rate\n");
      std::exit(1);
    }
    int port = 0;
    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
    url_ = "tcp://127.0.0.1:" + std::to_string(port);
    nng_socket_set_ms(rx_, NNG_OPT_RECVTIMEO, 100);
    reader_ = std::thread([this] {
      while (!stop_) {
        void* buf = nullptr;
        size_t len = 0;
        if (nng_recv(rx_, &buf, &len, NNG_FLAG_ALLOC) == 0) {
          nng_free(buf, len);
          ++received_;
        }
      }
    });
  }
  ~RawReceiver() {
    stop_ = true;
    reader_.join();
    nng_close(rx_);
  }
  const std::string& url() const { return url_; }
  uint64_t received() const { return received_; }

 private:
  nng_socket rx_;
  std::string url_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread reader_;
};

// Sends 16-byte messages from a bus0 socket to `url` as fast as NNG takes them, for `seconds`;
// returns the seconds it sent for, once what was sent had time to arrive.
double SendRawFor(const std::string& url, double seconds) {
  nng_socket tx;
  nng_bus0_open(&tx);
  nng_dial(tx, url.c_str(), nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  char msg[16] = {};
  const auto t0 = Clock::now();
  while (Seconds(t0, Clock::now()) < seconds) nng_send(tx, msg, sizeof msg, 0);
  const double elapsed = Seconds(t0, Clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  nng_close(tx);
  return elapsed;
}

// Raw NNG: messages per second from one bus0 socket to another over tcp loopback.
double RawBusRate(double seconds) {
  RawReceiver rx;
  const double elapsed = SendRawFor(rx.url(), seconds);
  return static_cast<double>(rx.received()) / elapsed;
}

constexpr int kThroughputKeys = 10000;  // the writer's keys in the throughput scenarios

// The throughput writer: `updates` increments over kThroughputKeys PNCounter keys, 1,000 per
// Request (one lock of the node).
void WriteUpdates(Node& writer, int64_t updates) {
  constexpr int kBatch = 1000;
  for (int64_t i = 0; i < updates; i += kBatch) {
    writer.Request([&](Replicator& r, TimeMicros now) {
      for (int64_t j = i; j < std::min<int64_t>(i + kBatch, updates); ++j) {
        r.Update("k" + std::to_string(j % kThroughputKeys), CrdtType::kPNCounter,
                 Increment(writer.replica_id()), Consistency::kLocal, now);
      }
      return Result<RequestId>(RequestId{0});
    });
  }
}

void Throughput(int64_t updates) {
  const double raw = RawBusRate(1.0);
  Report("throughput.raw_bus_messages_per_s", raw, "msg/s (bus0, tcp loopback, 16 B)");
  auto nodes = StartCluster(3, 0.005);
  Node& writer = *nodes[0];
  auto received = [&](const char* name) { return nodes[1]->Metrics().at(name); };
  const double f0 = received("crdt.replicator.frames.received.delta");
  const double d0 = received("crdt.replicator.delta.receive.count");
  const auto t0 = Clock::now();
  WriteUpdates(writer, updates);
  const auto written = Clock::now();
  const bool ok =
      WaitFor([&] { return Total(*nodes[1]) == updates && Total(*nodes[2]) == updates; }, 120);
  const auto applied = Clock::now();
  Report("throughput.updates", static_cast<double>(updates), "updates");
  Report("throughput.writer_updates_per_s", updates / Seconds(t0, written), "updates/s");
  Report("throughput.applied_everywhere_per_s", updates / Seconds(t0, applied),
         ok ? "updates/s (target >= 500000)" : "updates/s (NOT all applied)");
  const double frames = received("crdt.replicator.frames.received.delta") - f0;
  const double key_deltas = received("crdt.replicator.delta.receive.count") - d0;
  Report("throughput.delta_frames_received_by_one_node", frames, "frames");
  Report("throughput.updates_per_message", frames > 0 ? updates / frames : 0,
         "updates/frame (target >= 20; updates of one key in one flush share a key delta)");
  Report("throughput.key_deltas_per_message", frames > 0 ? key_deltas / frames : 0,
         "key deltas/frame");
  Report("throughput.applied_rate_vs_raw_bus_rate", (updates / Seconds(t0, applied)) / raw,
         "x (updates/s over raw messages/s)");
  // The same writer with one Request (lock, update, wake) per update, as a client calls it.
  const int64_t single = std::min<int64_t>(updates, 200000);
  const auto s0 = Clock::now();
  for (int64_t i = 0; i < single; ++i) {
    writer.Request([&](Replicator& r, TimeMicros now) {
      return r.Update("k" + std::to_string(i % kThroughputKeys), CrdtType::kPNCounter,
                      Increment(writer.replica_id()), Consistency::kLocal, now);
    });
  }
  Report("throughput.writer_one_request_per_update_per_s", single / Seconds(s0, Clock::now()),
         "updates/s");
}

void Latency(double seconds) {
  auto nodes = StartCluster(3, 0.0002);
  constexpr int kKeys = 1000;
  for (int i = 1; i < 3; ++i) {
    nodes[i]->Run([&](Replicator& r, TimeMicros) {
      for (int k = 0; k < kKeys; ++k) r.Subscribe("l" + std::to_string(k));
    });
  }
  const int64_t total = static_cast<int64_t>(seconds * 10000);
  std::vector<Clock::time_point> sent(total);
  std::vector<std::vector<double>> lat(3);
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int i = 1; i < 3; ++i) {
    readers.emplace_back([&, i] {
      std::map<std::string, int64_t> seen;
      while (!done) {
        for (ReplicaEvent& e : nodes[i]->WaitEvents(0.05)) {
          const auto now = Clock::now();
          const int k = std::atoi(e.key.c_str() + 1);
          const int64_t value = e.value.get_if<PNCounter>()->value();
          // The value-th update of key k is update (value-1)*kKeys + k; a batch may carry several.
          for (int64_t v = seen[e.key] + 1; v <= value; ++v) {
            const int64_t idx = (v - 1) * kKeys + k;
            if (idx < total)
              lat[i].push_back(std::chrono::duration<double>(now - sent[idx]).count());
          }
          seen[e.key] = std::max(seen[e.key], value);
        }
      }
    });
  }
  const double lost_before = nodes[1]->Metrics().at("convergent.transport.bus.frames.lost");
  const double signals_before = nodes[0]->Metrics().at("convergent.backpressure.congestion.count");
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::microseconds(i * 100));
    sent[i] = Clock::now();
    nodes[0]->Request([&](Replicator& r, TimeMicros now) {
      return r.Update("l" + std::to_string(i % kKeys), CrdtType::kPNCounter,
                      Increment(nodes[0]->replica_id()), Consistency::kLocal, now);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  done = true;
  for (auto& t : readers) t.join();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0 : all[static_cast<size_t>(p * (all.size() - 1))];
  };
  Report("latency.rate", total / seconds, "updates/s");
  Report("latency.observed", static_cast<double>(all.size()), "deliveries (2 receivers)");
  Report("latency.p50", pct(0.5) * 1e3, "ms (target < 1)");
  Report("latency.p99", pct(0.99) * 1e3, "ms (target < 5)");
  Report("latency.max", pct(1.0) * 1e3, "ms");
  const auto m = nodes[0]->Metrics();
  Report("latency.writer_congestion_signals",
         m.at("convergent.backpressure.congestion.count") - signals_before,
         "(back-pressure raised the flush interval this often)");
  Report("latency.bus_frames_lost_at_one_node",
         nodes[1]->Metrics().at("convergent.transport.bus.frames.lost") - lost_before, "frames");
  Report("latency.writer_sends_refused", m.at("convergent.transport.send.dropped"),
         "frames (NNG's send queue was full)");
}

void CatchUp(int keys) {
  auto nodes = StartCluster(3, 0.01);
  nodes[0]->Request([&](Replicator& r, TimeMicros now) {
    for (int k = 0; k < keys; ++k) {
      r.Update("k" + std::to_string(k), CrdtType::kPNCounter, Increment(nodes[0]->replica_id()),
               Consistency::kLocal, now);
    }
    return Result<RequestId>(RequestId{0});
  });
  WaitFor(
      [&] {
        return nodes[1]->StoreDigest() == nodes[0]->StoreDigest() &&
               nodes[2]->StoreDigest() == nodes[0]->StoreDigest();
      },
      120);
  const auto t0 = Clock::now();
  auto joiner = Node::Start(Options({nodes[0]->bus_url()}, 0.01));
  const uint64_t target = nodes[0]->StoreDigest();
  const bool ok = WaitFor([&] { return (*joiner)->StoreDigest() == target; }, 60);
  Report("catchup.keys", keys, "keys");
  Report("catchup.seconds", Seconds(t0, Clock::now()), ok ? "s (target < 5)" : "s (NOT converged)");
}

// ---- separate processes ------------------------------------------------------------------

// A child process of this program (re-executed in a child mode), driven by lines over pipes: a
// command line in, one answer line out. It exits when told to, or when its input closes.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) Die("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    char self[4096] = {};
    if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) Die("readlink");
    std::vector<char*> argv = {self};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, self, &actions, nullptr, argv.data(), environ) != 0) Die("spawn");
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
  }
  ~Child() {
    std::fputs("quit\n", to_);
    std::fclose(to_);
    std::fclose(from_);
    waitpid(pid_, nullptr, 0);
  }
  // The first line the child printed (its "ready URL").
  std::string ReadLine() {
    char buf[4096];
    if (std::fgets(buf, sizeof buf, from_) == nullptr) Die("a child process ended");
    std::string line(buf);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  std::string Ask(const std::string& command) {
    std::fprintf(to_, "%s\n", command.c_str());
    std::fflush(to_);
    return ReadLine();
  }
  double AskNumber(const std::string& command) { return std::atof(Ask(command).c_str()); }

 private:
  static void Die(const char* what) {
    std::fprintf(stderr, "node_bench: %s failed\n", what);
    std::exit(1);
  }
  pid_t pid_ = 0;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// A child's node: started with `options`, its bus URL printed as "ready URL"; null on failure.
std::unique_ptr<Node> StartChildNode(const NodeOptions& options) {
  auto node = Node::Start(options);
  if (!node.ok()) {
    std::fprintf(stderr, "node_bench child: %s\n", node.status().ToString().c_str());
    return nullptr;
  }
  std::printf("ready %s\n", (*node)->bus_url().c_str());
  std::fflush(stdout);
  return std::move(node).value();
}

// Answers a child's commands, one line each, until "quit" or the end of its input: those
// `answer` prints (it returns true), else "reachable" (members reachable), "metric NAME".
void ServeCommands(Node& node, const std::function<bool(const std::string&)>& answer) {
  char buf[4096];
  while (std::fgets(buf, sizeof buf, stdin) != nullptr) {
    std::string command(buf);
    while (!command.empty() && command.back() == '\n') command.pop_back();
    if (command == "quit") break;
    if (answer(command)) {
    } else if (command == "reachable") {
      size_t reachable = 0;
      for (const MemberView& m : node.Members()) reachable += m.reachable ? 1 : 0;
      std::printf("%zu\n", reachable);
    } else if (command.rfind("metric ", 0) == 0) {
      const auto m = node.Metrics();
      auto it = m.find(command.substr(7));
      std::printf("%.17g\n", it == m.end() ? -1.0 : it->second);
    } else {
      std::printf("?\n");
    }
    std::fflush(stdout);
  }
}

// --child-node SEED: a node that joins SEED and answers "total" besides ServeCommands'.
int ChildNode(const std::string& seed) {
  std::unique_ptr<Node> node = StartChildNode(Options({seed}, 0.005));
  if (!node) return 1;
  ServeCommands(*node, [&](const std::string& command) {
    if (command != "total") return false;
    std::printf("%lld\n", static_cast<long long>(Total(*node)));
    return true;
  });
  node->Stop(false);
  return 0;
}

// ---- many writers, unique updates ----

double RawBusRateBetweenProcesses(double seconds);

// The ORSet keys writer w writes in the "elements" mode ("w<w>-s<j>"), and the one key of its
// i-th update in the "keys" mode ("w<w>-k<i>").
constexpr int kWriterSetKeys = 1000;

// Adds `element` to the ORSet as the node's replica.
Replicator::Mutation AddElement(ReplicaId r, const std::string& element) {
  return [r, element](AnyCrdt& v) -> Result<AnyCrdt> {
    return AnyCrdt(v.get_if<ORSet>()->Add(r, StringValue(element)));
  };
}

// Writes `updates` unique updates as writer w, 1,000 per Request: elements "<w>-<i>" added to
// writer w's set keys round robin ("elements"), or each to a key of its own ("keys").
void WriteUnique(Node& node, int w, int64_t updates, bool new_keys) {
  constexpr int kBatch = 1000;
  const std::string prefix = "w" + std::to_string(w);
  for (int64_t i = 0; i < updates; i += kBatch) {
    node.Request([&](Replicator& r, TimeMicros now) {
      for (int64_t j = i; j < std::min<int64_t>(i + kBatch, updates); ++j) {
        const std::string key = new_keys ? prefix + "-k" + std::to_string(j)
                                         : prefix + "-s" + std::to_string(j % kWriterSetKeys);
        r.Update(key, CrdtType::kORSet,
                 AddElement(node.replica_id(), prefix + "-" + std::to_string(j)),
                 Consistency::kLocal, now);
      }
      return Result<RequestId>(RequestId{0});
    });
  }
}

// The elements of every ORSet a node holds.
int64_t Elements(Node& node) {
  int64_t total = 0;
  node.Run([&](Replicator& r, TimeMicros) {
    for (const auto& [key, type] : r.Keys()) {
      auto v = r.Get(key, type);
      if (v.ok() && *v != nullptr) total += static_cast<int64_t>((*v)->get_if<ORSet>()->size());
    }
  });
  return total;
}

// CPU seconds this process used (user + system).
double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

size_t ResidentBytes();

// --child-writer W SEED: writer W's node ("-": no seed) that answers, besides ServeCommands',
// "elements", "keys", "cpu", "rss", "write N elements|keys" (starts writing; "ok") and "written"
// (the seconds the writing took once it is done, else -1).
int ChildWriter(int w, const std::string& seed) {
  NodeOptions options =
      Options(seed == "-" ? std::vector<std::string>{} : std::vector{seed}, 0.005);
  if (const char* ae = std::getenv("WRITERS_AE_INTERVAL")) {
    options.replicator.anti_entropy_interval = std::atof(ae);
  }
  if (const char* flush = std::getenv("WRITERS_FLUSH_INTERVAL")) {
    options.replicator.delta_flush_interval = std::atof(flush);
  }
  std::unique_ptr<Node> node = StartChildNode(options);
  if (!node) return 1;
  std::thread writer;
  std::atomic<double> written{-1};
  ServeCommands(*node, [&](const std::string& command) {
    if (command == "elements") {
      std::printf("%lld\n", static_cast<long long>(Elements(*node)));
    } else if (command == "keys") {
      std::printf("%.17g\n", node->Metrics().at("crdt.replicator.store.size"));
    } else if (command == "cpu") {
      std::printf("%.17g\n", CpuSeconds());
    } else if (command == "rss") {
      std::printf("%.17g\n", static_cast<double>(ResidentBytes()));
    } else if (command.rfind("write ", 0) == 0) {
      const int64_t n = std::atoll(command.c_str() + 6);
      const bool new_keys = command.find(" keys") != std::string::npos;
      if (writer.joinable()) writer.join();
      written = -1;
      writer = std::thread([&, n, new_keys] {
        const auto t0 = Clock::now();
        WriteUnique(*node, w, n, new_keys);
        written = Seconds(t0, Clock::now());
      });
      std::printf("ok\n");
    } else if (command == "written") {
      std::printf("%.17g\n", written.load());
    } else {
      return false;
    }
    return true;
  });
  if (writer.joinable()) writer.join();
  node->Stop(false);
  return 0;
}

// Encodes and decodes one-add ORSet deltas (the unique updates' deltas) for `seconds`: per second.
double CodecRate(double seconds) {
  ORSet set;
  const ReplicaId me = ReplicaId::FromName("codec");
  int64_t n = 0;
  const auto t0 = Clock::now();
  while (Seconds(t0, Clock::now()) < seconds) {
    for (int i = 0; i < 1000; ++i, ++n) {
      const std::string bytes = Encode(set.Add(me, StringValue("w0-" + std::to_string(n))));
      if (!Decode<ORSet>(bytes).ok()) std::exit(1);
    }
  }
  return static_cast<double>(n) / Seconds(t0, Clock::now());
}

// One run of the writers scenario: each of `writers` writes `per_writer` updates at once.
// The counters of the writer processes a writers run reports the growth of (summed over them).
constexpr const char* kWritersCounters[] = {
    "convergent.transport.bytes.sent",
    "convergent.transport.frames.sent",
    "convergent.transport.bus.frames.lost",
    "crdt.replicator.antientropy.count",
    "crdt.replicator.antientropy.loss_repair.count",
    "crdt.replicator.bytes.sent.delta",
    "crdt.replicator.bytes.sent.digest",
    "crdt.replicator.bytes.sent.key_digests",
    "crdt.replicator.bytes.sent.repair",
};

void WritersRun(std::vector<std::unique_ptr<Child>>& writers, int64_t per_writer, bool new_keys,
                const std::string& name) {
  const std::string mode = new_keys ? "keys" : "elements";
  const double total = static_cast<double>(per_writer) * static_cast<double>(writers.size());
  const auto counters = [&] {
    std::map<std::string, double> sum{{"cpu", 0}};
    for (auto& c : writers) {
      sum["cpu"] += c->AskNumber("cpu");
      for (const char* m : kWritersCounters) sum[m] += c->AskNumber(std::string("metric ") + m);
    }
    return sum;
  };
  std::vector<double> have0;
  for (auto& c : writers) have0.push_back(c->AskNumber(mode));
  std::map<std::string, double> growth = counters();
  const auto t0 = Clock::now();
  for (auto& c : writers) c->Ask("write " + std::to_string(per_writer) + " " + mode);
  const bool ok = WaitFor(
      [&] {
        for (size_t i = 0; i < writers.size(); ++i) {
          if (writers[i]->AskNumber(mode) - have0[i] < total) return false;
        }
        return true;
      },
      300);
  const double seconds = Seconds(t0, Clock::now());
  for (const auto& [m, v] : counters()) growth[m] = v - growth[m];
  double written = 0;
  for (auto& c : writers) written = std::max(written, c->AskNumber("written"));
  const double frames = growth["convergent.transport.frames.sent"];
  const auto report = [&](const char* what, double value, const char* unit) {
    Report((name + "." + what).c_str(), value, unit);
  };
  report("updates", total, "unique updates (all writers)");
  report("written_per_s", total / written, "updates/s (the writers' own rate)");
  report("applied_everywhere_per_s", total / seconds,
         ok ? "updates/s (target >= 1000000)" : "updates/s (NOT all applied)");
  report("wire_bytes_per_update", growth["convergent.transport.bytes.sent"] / total,
         "B handed to NNG per update (all nodes; a broadcast counted once)");
  // The replicator counts a broadcast once per peer: the bytes that cross the network.
  double to_peers = 0;
  for (const char* kind : {"delta", "digest", "key_digests", "repair"}) {
    const double sent = growth[std::string("crdt.replicator.bytes.sent.") + kind];
    to_peers += sent;
    Report((name + ".bytes_per_update." + kind).c_str(), sent / total,
           "B per update to peers in frames of this kind (all nodes)");
  }
  report("bytes_to_peers_per_update", to_peers / total,
         "B per update to peers (all nodes; a broadcast counted per peer)");
  report("frames_per_s", frames / seconds, "frames sent/s (all nodes)");
  report("updates_per_frame", frames > 0 ? total / frames : 0, "updates per frame sent");
  report("cpu_us_per_update", growth["cpu"] / total * 1e6,
         "us CPU (all processes) per update applied on every node");
  report("bus_frames_lost", growth["convergent.transport.bus.frames.lost"], "frames (all nodes)");
  report("antientropy_rounds", growth["crdt.replicator.antientropy.count"], "rounds (all nodes)");
  report("loss_repair_rounds", growth["crdt.replicator.antientropy.loss_repair.count"],
         "rounds after lost frames (all nodes)");
}

// `n` writer processes (--child-writer), formed into one cluster (the program exits if they do
// not form within a minute).
std::vector<std::unique_ptr<Child>> StartWriters(int n) {
  std::vector<std::unique_ptr<Child>> writers;
  std::string seed = "-";
  for (int w = 0; w < n; ++w) {
    writers.push_back(std::make_unique<Child>(
        std::vector<std::string>{"--child-writer", std::to_string(w), seed}));
    const std::string url = writers.back()->ReadLine().substr(6);  // "ready URL"
    if (w == 0) seed = url;
  }
  const bool formed = WaitFor(
      [&] {
        for (auto& c : writers) {
          if (c->AskNumber("reachable") != n) return false;
        }
        return true;
      },
      60);
  if (!formed) {
    std::fprintf(stderr, "node_bench: the writer processes did not find each other\n");
    std::exit(1);
  }
  return writers;
}

void Writers(int64_t updates) {
  const double raw = RawBusRateBetweenProcesses(1.0);
  Report("writers.raw_bus_messages_per_s", raw,
         "msg/s (bus0, tcp loopback, 16 B, process to process)");
  Report("writers.codec_one_add_deltas_per_s", CodecRate(1.0),
         "encode + decode of a one-add ORSet delta, one thread");
  std::vector<std::unique_ptr<Child>> writers = StartWriters(3);
  const int64_t per_writer = updates / 3;
  WritersRun(writers, per_writer, false, "writers.elements");
  WritersRun(writers, per_writer, true, "writers.keys");
}

// The writers scenario's unique elements over clusters of 3 to MAX_NODES (20) node processes,
// every one writing: the rate applied everywhere, bytes, CPU and resident memory per node as
// the cluster grows (each update reaches every other node: bytes and CPU per update should grow
// with the nodes, not faster).
void Nodes(int64_t updates) {
  const char* max_env = std::getenv("MAX_NODES");
  const int max_nodes = max_env != nullptr ? std::atoi(max_env) : 20;
  for (int n : {3, 5, 10, 20}) {
    if (n > max_nodes) break;
    std::vector<std::unique_ptr<Child>> writers = StartWriters(n);
    const std::string name = "nodes." + std::to_string(n);
    WritersRun(writers, updates / n, false, name);
    double rss = 0;
    for (auto& c : writers) rss += c->AskNumber("rss");
    Report((name + ".resident_bytes_per_node").c_str(), rss / n,
           "B resident per node process (mean)");
  }
}

// --child-raw: a RawReceiver that answers every line with the count of messages so far.
int ChildRaw() {
  RawReceiver rx;
  std::printf("ready %s\n", rx.url().c_str());
  std::fflush(stdout);
  char buf[256];
  while (std::fgets(buf, sizeof buf, stdin) != nullptr) {
    if (std::strncmp(buf, "quit", 4) == 0) break;
    std::printf("%llu\n", static_cast<unsigned long long>(rx.received()));
    std::fflush(stdout);
  }
  return 0;
}

// Raw NNG between two processes: messages per second from this process's bus0 socket to a
// child's (16-byte messages).
double RawBusRateBetweenProcesses(double seconds) {
  Child rx({"--child-raw"});
  const std::string url = rx.ReadLine().substr(6);  // "ready URL"
  const double before = rx.AskNumber("count");
  const double elapsed = SendRawFor(url, seconds);
  return (rx.AskNumber("count") - before) / elapsed;
}

void ThroughputProcesses(int64_t updates) {
  const double raw = RawBusRateBetweenProcesses(1.0);
  Report("throughput_processes.raw_bus_messages_per_s", raw,
         "msg/s (bus0, tcp loopback, 16 B, process to process)");
  auto writer_node = Node::Start(Options({}, 0.005));
  if (!writer_node.ok()) std::exit(1);
  Node& writer = **writer_node;
  std::vector<std::unique_ptr<Child>> others;
  for (int i = 0; i < 2; ++i) {
    others.push_back(
        std::make_unique<Child>(std::vector<std::string>{"--child-node", writer.bus_url()}));
    others.back()->ReadLine();  // ready
  }
  const bool formed = WaitFor(
      [&] {
        size_t reachable = 0;
        for (const MemberView& m : writer.Members()) reachable += m.reachable ? 1 : 0;
        return reachable == 3 && others[0]->AskNumber("reachable") == 3 &&
               others[1]->AskNumber("reachable") == 3;
      },
      30);
  if (!formed) {
    std::fprintf(stderr, "node_bench: the node processes did not find each other\n");
    std::exit(1);
  }
  const std::string frames_metric = "metric crdt.replicator.frames.received.delta";
  const std::string deltas_metric = "metric crdt.replicator.delta.receive.count";
  const double f0 = others[0]->AskNumber(frames_metric);
  const double d0 = others[0]->AskNumber(deltas_metric);
  const auto t0 = Clock::now();
  WriteUpdates(writer, updates);
  const auto written = Clock::now();
  const bool ok = WaitFor(
      [&] {
        return others[0]->AskNumber("total") == static_cast<double>(updates) &&
               others[1]->AskNumber("total") == static_cast<double>(updates);
      },
      120);
  const auto applied = Clock::now();
  const double rate = updates / Seconds(t0, applied);
  Report("throughput_processes.updates", static_cast<double>(updates), "updates");
  Report("throughput_processes.writer_updates_per_s", updates / Seconds(t0, written), "updates/s");
  Report("throughput_processes.applied_everywhere_per_s", rate,
         ok ? "updates/s (target >= 500000)" : "updates/s (NOT all applied)");
  const double frames = others[0]->AskNumber(frames_metric) - f0;
  const double key_deltas = others[0]->AskNumber(deltas_metric) - d0;
  Report("throughput_processes.delta_frames_received_by_one_node", frames, "frames");
  Report("throughput_processes.updates_per_message", frames > 0 ? updates / frames : 0,
         "updates/frame (target >= 20)");
  Report("throughput_processes.key_deltas_per_message", frames > 0 ? key_deltas / frames : 0,
         "key deltas/frame");
  Report("throughput_processes.applied_rate_vs_raw_bus_rate", rate / raw,
         "x (updates/s over raw messages/s)");
  Report("throughput_processes.bus_frames_lost_at_one_node",
         others[0]->AskNumber("metric convergent.transport.bus.frames.lost"), "frames");
  Report("throughput_processes.writer_flush_interval_at_end",
         writer.Metrics().at("convergent.backpressure.flush.interval.seconds") * 1e3, "ms");
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void Memory(int keys) {
  auto node = Node::Start(Options({}, 0.01));
  const size_t before = ResidentBytes();
  (*node)->Request([&](Replicator& r, TimeMicros now) {
    for (int k = 0; k < keys; ++k) {
      r.Update("key-" + std::to_string(k), CrdtType::kPNCounter, Increment((*node)->replica_id()),
               Consistency::kLocal, now);
    }
    return Result<RequestId>(RequestId{0});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the flush frees pending deltas
  (*node)->StoreDigest();                                       // and digests are up to date
  const size_t peak = ResidentBytes();
  malloc_trim(0);  // hand what the transient buffers freed back to the system
  const size_t after = ResidentBytes();
  Report("memory.bytes_per_key_before_trim", static_cast<double>(peak - before) / keys,
         "B resident (freed transient buffers still held by malloc)");
  Report("memory.keys", keys, "PNCounter keys");
  Report("memory.bytes_per_key", static_cast<double>(after - before) / keys,
         "B resident (target < 200)");
}

}  // namespace
}  // namespace convergent

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child-node") == 0) return convergent::ChildNode(argv[2]);
  if (argc == 2 && std::strcmp(argv[1], "--child-raw") == 0) return convergent::ChildRaw();
  if (argc == 4 && std::strcmp(argv[1], "--child-writer") == 0) {
    return convergent::ChildWriter(std::atoi(argv[2]), argv[3]);
  }
  std::string only;
  int64_t updates = 2000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    if (std::strcmp(argv[i], "--updates") == 0) updates = std::atoll(argv[i + 1]);
  }
  // Memory first: memory freed by the other scenarios would hide part of its growth.
  if (only.empty() || only == "memory") convergent::Memory(1000000);
  if (only.empty() || only == "throughput") convergent::Throughput(updates);
  if (only.empty() || only == "throughput_processes") convergent::ThroughputProcesses(updates);
  if (only.empty() || only == "writers") convergent::Writers(updates);
  if (only == "nodes") convergent::Nodes(updates);  // (minutes: not part of a full run)
  if (only.empty() || only == "latency") convergent::Latency(3.0);
  if (only.empty() || only == "catchup") convergent::CatchUp(100000);
  return 0;
}
