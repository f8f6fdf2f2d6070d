#include "common/metrics/prometheus.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace edge::metrics {

namespace {

void AppendLabelValue(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

void AppendValue(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    absl::StrAppendFormat(out, "%.0f", value);
  } else {
    absl::StrAppendFormat(out, "%.9g", value);
  }
}

}  // namespace

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppendFormat(&text_, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void PrometheusText::Sample(std::string_view name, Labels labels, double value) {
  text_.append(name.data(), name.size());
  if (labels.size() > 0) {
    text_.push_back('{');
    bool first = true;
    for (const auto& [key, val] : labels) {
      if (!first) text_.push_back(',');
      first = false;
      text_.append(key.data(), key.size());
      text_.append("=\"");
      AppendLabelValue(&text_, val);
      text_.push_back('"');
    }
    text_.push_back('}');
  }
  text_.push_back(' ');
  AppendValue(&text_, value);
  text_.push_back('\n');
}

void DurationHistogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kDurationBuckets.size() && seconds > kDurationBuckets[i]) ++i;
  counts_[i].store(counts_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
}

void DurationHistogram::AddTo(std::array<uint64_t, kBuckets>* counts, double* sum) const {
  for (size_t i = 0; i < kBuckets; ++i) (*counts)[i] += counts_[i].load(std::memory_order_relaxed);
  *sum += sum_.load(std::memory_order_relaxed);
}

void WriteHistogram(PrometheusText* out, std::string_view name, std::string_view help,
                    const std::array<uint64_t, DurationHistogram::kBuckets>& counts, double sum) {
  out->Family(name, "histogram", help);
  std::string bucket = absl::StrFormat("%s_bucket", name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < DurationHistogram::kBuckets; ++i) {
    cumulative += counts[i];
    std::string le =
        i < kDurationBuckets.size() ? absl::StrFormat("%g", kDurationBuckets[i]) : "+Inf";
    out->Sample(bucket, {{"le", le}}, static_cast<double>(cumulative));
  }
  out->Sample(absl::StrFormat("%s_sum", name), {}, sum);
  out->Sample(absl::StrFormat("%s_count", name), {}, static_cast<double>(cumulative));
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

}  // namespace edge::metrics
