#include "common/log/access_log_config.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"

namespace edge::log {

bool ReadSampleRate(config::TableReader& r, std::string_view key, double* out) {
  const toml::node* node = r.Get(key);
  if (node == nullptr) return false;
  double value;
  if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    r.Error(key,
            absl::StrFormat("expected a number from 0 to 1, got a %s", config::TypeName(*node)));
    return false;
  }
  if (!std::isfinite(value) || value < 0.0 || value > 1.0) {
    r.Error(key, absl::StrFormat("expected a number from 0 to 1, got %g", value));
    return false;
  }
  *out = value;
  return true;
}

namespace {

// A query parameter name as configured: visible ASCII without the bytes that delimit parameters.
bool IsParameterName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (c <= 0x20 || c >= 0x7F || c == '&' || c == '=' || c == ';' || c == '#' || c == '?') {
      return false;
    }
  }
  return true;
}

}  // namespace

void ReadAccessLogConfig(config::TableReader& parent, std::string_view key, bool allow_redact,
                         AccessLogConfig* out) {
  const toml::table* table = parent.ReadTable(key);
  if (table == nullptr) return;
  const std::string prefix = std::string(key) + ".";
  config::TableReader r = allow_redact
                              ? config::TableReader(*table, parent.errors(), parent.context(),
                                                    {"path", "sample", "redact", "queue"}, prefix)
                              : config::TableReader(*table, parent.errors(), parent.context(),
                                                    {"path", "sample", "queue"}, prefix);
  std::string path;
  if (r.ReadString("path", &path)) {
    if (path.empty()) {
      r.Error("path", "must be a file path, \"stdout\" or \"off\"");
    } else if (path.find('\0') != std::string::npos) {
      r.Error("path", "must not contain a NUL byte");
    } else {
      out->path = path;
    }
  }
  ReadSampleRate(r, "sample", &out->sample);
  if (allow_redact) {
    std::vector<std::string> names;
    if (r.ReadStringArray("redact", &names)) {
      const toml::array* array = r.Get("redact")->as_array();
      for (size_t i = 0; i < names.size(); ++i) {
        if (IsParameterName(names[i])) {
          out->redact.push_back(names[i]);
        } else {
          parent.errors().Add(*array->get(i), r.context(),
                              absl::StrFormat("%sredact[%d]", prefix, i),
                              absl::StrFormat("not a query parameter name: %s "
                                              "(visible ASCII without & = ; # ?, 1 to 128 bytes)",
                                              config::Quote(names[i])));
        }
      }
    }
  }
  r.ReadSize("queue", &out->queue_bytes, 64 * 1024, uint64_t{1} << 30);
}

}  // namespace edge::log
