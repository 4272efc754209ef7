// The catalogue of a node's metrics, and their Prometheus text exposition.
//
// Node::Metrics() (and r.metrics() in Python) report each metric under the seed system's dotted
// instrument name ("crdt.replicator.merge.count", "convergent.transport.bytes.sent"); OpenTelemetry
// instruments keep those names. The catalogue says, for each, whether it is a counter or a gauge,
// its unit, what it means, and its name by Prometheus's conventions: one "convergent_" prefix,
// units in the name (_seconds, _bytes), counters ending in _total. A placeholder in a source name
// ("{kind}", "{dc}") is a label: "crdt.replicator.bytes.sent.delta" is the sample
// convergent_replicator_sent_bytes_total{kind="delta"}.
//
// Thread safety: everything here is immutable or pure; call it from any thread.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace convergent {

enum class MetricKind {
  kCounter,  // only grows (from 0 at the node's start)
  kGauge,    // a level that goes up and down
};

struct MetricInfo {
  std::string_view source;      // the dotted name, with at most one "{label}" placeholder
  std::string_view prometheus;  // the family's name in the exposition
  MetricKind kind;
  std::string_view unit;  // "seconds", "bytes", or "" (a number of things)
  std::string_view help;  // one sentence
  double scale = 1.0;     // exposition value = reported value * scale (to the unit's base)
};

// Every metric a node reports, in the order of the exposition.
std::span<const MetricInfo> MetricCatalog();

// The name of an entry's label ("kind" of "crdt.replicator.bytes.sent.{kind}"); empty if none.
std::string_view MetricLabel(const MetricInfo& info);

// A reported name's catalogue entry and the value of its label (empty when it has none).
struct MetricMatch {
  const MetricInfo* info;
  std::string label_value;
};
std::optional<MetricMatch> FindMetric(std::string_view name);

// The Prometheus text exposition (format 0.0.4) of a node's metrics: a # HELP and # TYPE line per
// family, then its samples, each labelled node="<node>" (and its placeholder's label). A name not
// in the catalogue is exposed as an untyped family under its sanitized name, never dropped.
std::string PrometheusText(const std::map<std::string, double>& metrics, std::string_view node);

}  // namespace convergent
