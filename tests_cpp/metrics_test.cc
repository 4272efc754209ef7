// The metrics catalogue (convergent/metrics.h), its Prometheus exposition, and the node's HTTP
// endpoint: /metrics, and the /ready and /live probes.
#include "convergent/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "convergent/node.h"
#include "node_test_support.h"

namespace convergent {
namespace {

using test::WaitFor;

TEST(MetricCatalogTest, NamesFollowPrometheusConventions) {
  const std::regex valid("convergent_[a-z0-9_]+");
  std::set<std::string_view> sources, names;
  for (const MetricInfo& m : MetricCatalog()) {
    SCOPED_TRACE(std::string(m.source));
    EXPECT_TRUE(sources.insert(m.source).second) << "a source name twice";
    EXPECT_TRUE(names.insert(m.prometheus).second) << "a Prometheus name twice";
    const std::string name(m.prometheus);
    EXPECT_TRUE(std::regex_match(name, valid)) << name;
    const bool total = name.ends_with("_total");
    EXPECT_EQ(total, m.kind == MetricKind::kCounter) << name << ": only counters end in _total";
    if (!m.unit.empty()) {
      const std::string base = total ? name.substr(0, name.size() - 6) : name;
      EXPECT_TRUE(base.ends_with("_" + std::string(m.unit))) << name << " lacks its unit";
    }
    EXPECT_FALSE(m.help.empty());
    EXPECT_TRUE(m.help.ends_with(".")) << "one sentence";
  }
}

TEST(MetricCatalogTest, PlaceholdersMatchTheirLabel) {
  const auto sent = FindMetric("crdt.replicator.bytes.sent.delta");
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->info->prometheus, "convergent_replicator_sent_bytes_total");
  EXPECT_EQ(MetricLabel(*sent->info), "kind");
  EXPECT_EQ(sent->label_value, "delta");
  // A datacenter's name may hold dots: the label is what lies between the fixed parts.
  const auto lag = FindMetric("crdt.replicator.crossdc.dc.eu.west.lag.seconds");
  ASSERT_TRUE(lag.has_value());
  EXPECT_EQ(lag->info->prometheus, "convergent_crossdc_remote_lag_seconds");
  EXPECT_EQ(lag->label_value, "eu.west");
  const auto merges = FindMetric("crdt.replicator.merge.count");
  ASSERT_TRUE(merges.has_value());
  EXPECT_TRUE(merges->label_value.empty());
  EXPECT_FALSE(FindMetric("crdt.replicator.bytes.sent.").has_value());  // an empty label
  EXPECT_FALSE(FindMetric("no.such.metric").has_value());
}

TEST(PrometheusTextTest, FamiliesHaveHelpAndTypeAndTheirSamplesTogether) {
  const std::string text =
      PrometheusText({{"crdt.replicator.merge.count", 3},
                      {"crdt.replicator.crossdc.dc.us.bytes.sent", 10},
                      {"crdt.replicator.crossdc.dc.ap.bytes.sent", 20},
                      {"crdt.replicator.crossdc.dc.ap.reachable", 1},
                      {"crdt.replicator.crossdc.replication.lag", 2.5e9},  // nanoseconds
                      {"some.plugin.value", 7}},
                     "tcp://a:1 \"x\"\\");
  const std::string node = "node=\"tcp://a:1 \\\"x\\\"\\\\\"";
  EXPECT_EQ(
      text,
      "# HELP convergent_replicator_merges_total Remote states and deltas joined into the "
      "store.\n"
      "# TYPE convergent_replicator_merges_total counter\n"
      "convergent_replicator_merges_total{" +
          node +
          "} 3\n"
          "# HELP convergent_crossdc_replication_lag_seconds Time since the newest batch from "
          "any datacenter arrived (0: none yet).\n"
          "# TYPE convergent_crossdc_replication_lag_seconds gauge\n"
          "convergent_crossdc_replication_lag_seconds{" +
          node +
          "} 2.5\n"
          "# HELP convergent_crossdc_remote_reachable 1 when the datacenter has a member to "
          "send to, else 0.\n"
          "# TYPE convergent_crossdc_remote_reachable gauge\n"
          "convergent_crossdc_remote_reachable{" +
          node +
          ",dc=\"ap\"} 1\n"
          "# HELP convergent_crossdc_remote_sent_bytes_total Bytes of batches sent to the "
          "datacenter.\n"
          "# TYPE convergent_crossdc_remote_sent_bytes_total counter\n"
          "convergent_crossdc_remote_sent_bytes_total{" +
          node +
          ",dc=\"ap\"} 20\n"
          "convergent_crossdc_remote_sent_bytes_total{" +
          node +
          ",dc=\"us\"} 10\n"
          "# HELP some_plugin_value A metric outside convergent's catalogue.\n"
          "# TYPE some_plugin_value untyped\n"
          "some_plugin_value{" +
          node + "} 7\n");
}

TEST(PrometheusTextTest, ValuesThatAreNotNumbersAreSpelledAsPrometheusReadsThem) {
  const std::string text =
      PrometheusText({{"crdt.replicator.store.size", std::numeric_limits<double>::quiet_NaN()},
                      {"crdt.replicator.tombstone.count", std::numeric_limits<double>::infinity()},
                      {"convergent.transport.bytes.sent", 1.5e10}},
                     "n");
  EXPECT_NE(text.find("convergent_replicator_keys{node=\"n\"} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("convergent_replicator_tombstones{node=\"n\"} +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("convergent_transport_sent_bytes_total{node=\"n\"} 15000000000\n"),
            std::string::npos);
}

// GET `path` from 127.0.0.1:`port`: the status code and the body ("" and 0 when unreachable).
std::pair<int, std::string> HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return {0, ""};
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
  close(fd);
  const size_t space = response.find(' ');
  const size_t body = response.find("\r\n\r\n");
  if (space == std::string::npos || body == std::string::npos) return {0, ""};
  return {std::stoi(response.substr(space + 1, 3)), response.substr(body + 4)};
}

int PortOf(const std::string& url) {  // http://127.0.0.1:port/metrics
  const size_t colon = url.rfind(':');
  return std::stoi(url.substr(colon + 1));
}

TEST(NodeMetricsTest, EveryMetricANodeReportsIsInTheCatalogue) {
  char tmpl[] = "/tmp/convergent-metrics-test-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  NodeOptions a = test::FastOptions("inproc://catalogue-a");
  a.snapshot_dir = dir;  // the snapshot metrics
  a.datacenter = "eu";   // and the datacenters'
  a.remote_seeds = {{"us", {"inproc://catalogue-b"}}};
  NodeOptions b = test::FastOptions("inproc://catalogue-b");
  b.datacenter = "us";
  b.remote_seeds = {{"eu", {"inproc://catalogue-a"}}};
  auto na = Node::Start(a);
  auto nb = Node::Start(b);
  ASSERT_TRUE(na.ok() && nb.ok());
  ASSERT_TRUE(WaitFor([&] { return (*na)->Metrics()["convergent.datacenters.reachable"] == 1; }));
  const std::map<std::string, double> m = (*na)->Metrics();
  ASSERT_TRUE(m.contains("crdt.replicator.crossdc.dc.us.lag.seconds"));
  ASSERT_TRUE(m.contains("convergent.snapshot.available"));
  for (const auto& [name, value] : m) EXPECT_TRUE(FindMetric(name).has_value()) << name;
  na->reset();
  nb->reset();
  std::filesystem::remove_all(dir);
}

TEST(NodeMetricsTest, TheProbesSayWhetherTheNodeIsReadyAndAlive) {
  NodeOptions o = test::FastOptions("inproc://probes-a", {"inproc://probes-b"});
  o.metrics_listen = "http://127.0.0.1:0";
  auto a = Node::Start(o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const int port = PortOf((*a)->metrics_url());
  // Its seed is not up yet: alive, but not ready, and the probe says what it waits for.
  EXPECT_EQ(HttpGet(port, "/live"), std::make_pair(200, std::string("live\n")));
  const auto [status, body] = HttpGet(port, "/ready");
  EXPECT_EQ(status, 503);
  EXPECT_TRUE(body.starts_with("not ready: ")) << body;
  auto b = Node::Start(test::FastOptions("inproc://probes-b", {"inproc://probes-a"}));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(WaitFor([&] { return HttpGet(port, "/ready").first == 200; }));
  EXPECT_EQ(HttpGet(port, "/ready").second, "ready\n");
  const auto [metrics_status, text] = HttpGet(port, "/metrics");
  EXPECT_EQ(metrics_status, 200);
  EXPECT_NE(text.find("# TYPE convergent_node_ready gauge\nconvergent_node_ready{"),
            std::string::npos);
  EXPECT_EQ(HttpGet(port, "/nothing-here").first, 404);
}

// NNG shares one HTTP server among the holders of a host and port. A second node given the same
// metrics address fails to start, and must leave the first one's endpoint serving (its failed
// start used to stop the shared server).
TEST(NodeMetricsTest, ASecondNodeOnTheSameMetricsAddressFailsAndLeavesTheFirstServing) {
  NodeOptions a = test::FastOptions("inproc://shared-metrics-a");
  a.metrics_listen = "http://127.0.0.1:0";
  auto first = Node::Start(a);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const int port = PortOf((*first)->metrics_url());
  NodeOptions b = test::FastOptions("inproc://shared-metrics-b");
  b.metrics_listen = "http://127.0.0.1:" + std::to_string(port);
  auto second = Node::Start(b);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(HttpGet(port, "/live"), std::make_pair(200, std::string("live\n")));
  EXPECT_EQ(HttpGet(port, "/metrics").first, 200);
}

}  // namespace
}  // namespace convergent
