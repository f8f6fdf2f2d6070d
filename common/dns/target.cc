#include "common/dns/target.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace edge::dns {

namespace {

std::vector<std::string_view> Labels(std::string_view name) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    out.push_back(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return absl::ascii_tolower(static_cast<unsigned char>(c)); });
  return out;
}

bool IsLabel(std::string_view label, bool allow_underscore_prefix) {
  if (allow_underscore_prefix) {
    if (label.size() < 2 || label[0] != '_') return false;
    label.remove_prefix(1);
  }
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string DnsTarget::ToString() const {
  if (kind == Kind::kSrv) return "srv:" + name;
  return absl::StrFormat("%s:%d", name, port);
}

bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::string_view last;
  for (std::string_view label : Labels(name)) {
    if (!IsLabel(label, false)) return false;
    last = label;
  }
  for (char c : last) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return true;
  }
  return false;  // "10.0.0.300": an IPv4 address gone wrong, not a name
}

absl::StatusOr<DnsTarget> ParseHostTarget(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected \"host:port\" (e.g. \"api.internal:8080\"), got \"%s\"", text));
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (!IsHostName(host)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is neither an IP address nor a valid host name", host));
  }
  uint32_t port = 0;
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos ||
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port).ec !=
          std::errc() ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("port must be 1..65535, got \"%s\" in \"%s\"", port_text, text));
  }
  DnsTarget target;
  target.kind = DnsTarget::Kind::kHost;
  target.name = Lower(host);
  target.port = static_cast<uint16_t>(port);
  return target;
}

absl::StatusOr<DnsTarget> ParseSrvTarget(std::string_view text) {
  std::vector<std::string_view> labels = Labels(text);
  bool ok = labels.size() >= 3 && IsLabel(labels[0], true) && IsLabel(labels[1], true);
  if (ok) {
    size_t rest = labels[0].size() + labels[1].size() + 2;
    ok = rest < text.size() && IsHostName(text.substr(rest)) && text.size() <= 253;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected an SRV name \"_service._proto.name\" (e.g. \"_http._tcp.api.internal\"), got "
        "\"%s\"",
        text));
  }
  DnsTarget target;
  target.kind = DnsTarget::Kind::kSrv;
  target.name = Lower(text);
  return target;
}

}  // namespace edge::dns
