// PrometheusText (convergent/metrics.h): the text exposition format 0.0.4, families in the
// catalogue's order, each with its # HELP and # TYPE lines and all its samples together.
#include <cmath>
#include <cstdio>
#include <vector>

#include "convergent/metrics.h"

namespace convergent {

namespace {

// Escapes a label value (backslash, double quote, newline) or, with `quote` false, a HELP text.
std::string Escaped(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A name outside the catalogue, made a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
std::string Sanitized(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

struct Sample {
  std::string labels;  // the text between the braces
  double value;
};

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::vector<Sample>& samples) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += Escaped(help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  for (const Sample& s : samples) {
    out += name;
    out += '{';
    out += s.labels;
    out += "} ";
    out += Number(s.value);
    out += '\n';
  }
}

}  // namespace

std::string PrometheusText(const std::map<std::string, double>& metrics, std::string_view node) {
  const std::span<const MetricInfo> catalog = MetricCatalog();
  const std::string node_label = "node=\"" + Escaped(node, true) + "\"";
  std::vector<std::vector<Sample>> families(catalog.size());
  std::map<std::string, std::vector<Sample>> unknown;
  for (const auto& [name, value] : metrics) {
    const std::optional<MetricMatch> m = FindMetric(name);
    if (!m) {
      unknown[Sanitized(name)].push_back(Sample{node_label, value});
      continue;
    }
    std::string labels = node_label;
    if (!m->label_value.empty()) {
      labels += ",";
      labels += MetricLabel(*m->info);
      labels += "=\"" + Escaped(m->label_value, true) + "\"";
    }
    families[m->info - catalog.data()].push_back(Sample{std::move(labels), value * m->info->scale});
  }
  std::string out;
  for (size_t i = 0; i < catalog.size(); ++i) {
    if (families[i].empty()) continue;
    const MetricInfo& info = catalog[i];
    Family(out, info.prometheus, info.kind == MetricKind::kCounter ? "counter" : "gauge", info.help,
           families[i]);
  }
  for (const auto& [name, samples] : unknown) {
    Family(out, name, "untyped", "A metric outside convergent's catalogue.", samples);
  }
  return out;
}

}  // namespace convergent
