#include "l7/filters/transform/compression_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/http/chars.h"
#include "common/http/message.h"
#include "l7/filters/transform/field_list.h"

namespace edge::l7 {
namespace {

bool IsToken(std::string_view s) {
  return !s.empty() && s.size() <= 127 && std::all_of(s.begin(), s.end(), http::internal::IsTchar);
}

}  // namespace

bool CompressionConfig::Compressible(std::string_view content_type) const {
  std::string_view media = TrimOws(content_type.substr(0, content_type.find(';')));
  const size_t slash = media.find('/');
  if (slash == std::string_view::npos) return false;
  for (const std::string& t : types) {
    if (t.ends_with("/*")) {
      if (http::EqualsIgnoreCase(media.substr(0, slash + 1),
                                 std::string_view(t).substr(0, t.size() - 1))) {
        return true;
      }
    } else if (http::EqualsIgnoreCase(media, t)) {
      return true;
    }
  }
  return false;
}

bool ReadCompressionConfig(config::TableReader& r, CompressionConfig* out) {
  if (!r.Has("compress")) {
    for (std::string_view k : {"compress_min_bytes", "compress_brotli"}) {
      if (r.Has(k)) r.Error(k, "needs compress (the media types to compress)");
    }
    return false;
  }
  CompressionConfig c;
  std::vector<std::string> types;
  if (!r.ReadStringArray("compress", &types)) return false;
  if (types.empty()) r.Error("compress", "must list at least one media type");
  for (const std::string& t : types) {
    const size_t slash = t.find('/');
    const bool ok =
        slash != std::string::npos && IsToken(t.substr(0, slash)) && (IsToken(t.substr(slash + 1)));
    if (!ok || t.find(';') != std::string::npos) {
      r.Error("compress", absl::StrFormat("%s is not a media type \"type/subtype\" or \"type/*\"",
                                          config::Quote(t)));
      continue;
    }
    if (t.starts_with("*/")) {
      r.Error("compress", absl::StrFormat("%s would compress images, archives and video, which are "
                                          "compressed already; list the types",
                                          config::Quote(t)));
      continue;
    }
    std::string lower = t;
    for (char& ch : lower) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
    c.types.push_back(std::move(lower));
  }
  r.ReadSize("compress_min_bytes", &c.min_bytes, 0, uint64_t{1} << 30);
  r.ReadBool("compress_brotli", &c.brotli);
  *out = std::move(c);
  return true;
}

}  // namespace edge::l7
