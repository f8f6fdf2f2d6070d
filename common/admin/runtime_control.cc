#include "common/admin/runtime_control.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "common/admin/admin_token.h"
#include "common/http/percent.h"
#include "common/http/response_writer.h"
#include "common/log.h"

namespace edge::admin {

namespace {

// Percent-decodes one path segment; false on a bad escape or a decoded NUL or control byte.
bool DecodeSegment(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = http::HexDigitValue(in[i + 1]);
      const int lo = http::HexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    out->push_back(c);
  }
  return true;
}

std::string PeerText(const net::SocketAddress& peer) {
  return peer.valid() ? peer.ToString() : std::string("unknown peer");
}

}  // namespace

const char* ControlActionName(ControlAction action) {
  switch (action) {
    case ControlAction::kDrain:
      return "drain";
    case ControlAction::kEnable:
      return "enable";
    case ControlAction::kWeight:
      return "weight";
  }
  return "?";
}

bool IsControlPath(std::string_view prefix, std::string_view path) {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

absl::StatusOr<ControlCommand> ParseControlCommand(std::string_view prefix, std::string_view path,
                                                   std::string_view query, uint32_t max_weight) {
  const std::string shape =
      absl::StrFormat("want POST %s/{name}/{server}/drain|enable|weight?value=N", prefix);
  if (!IsControlPath(prefix, path) || path.size() == prefix.size()) {
    return absl::NotFoundError(shape);
  }
  std::vector<std::string_view> parts;
  std::string_view rest = path.substr(prefix.size() + 1);
  for (size_t slash; (slash = rest.find('/')) != std::string_view::npos;) {
    parts.push_back(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
  }
  parts.push_back(rest);
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return absl::NotFoundError(shape);
  }
  ControlCommand command;
  if (!DecodeSegment(parts[0], &command.group) || !DecodeSegment(parts[1], &command.server)) {
    return absl::InvalidArgumentError("bad percent-encoding in the path");
  }
  if (parts[2] == "drain") {
    command.action = ControlAction::kDrain;
  } else if (parts[2] == "enable") {
    command.action = ControlAction::kEnable;
  } else if (parts[2] == "weight") {
    command.action = ControlAction::kWeight;
  } else {
    return absl::NotFoundError(
        absl::StrFormat("unknown action \"%s\": drain, enable or weight",
                        parts[2].size() > 64 ? parts[2].substr(0, 64) : parts[2]));
  }
  if (command.action != ControlAction::kWeight) {
    if (!query.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s takes no query parameters", ControlActionName(command.action)));
    }
    return command;
  }
  const std::string range = absl::StrFormat("weight?value=N with N from 1 to %d", max_weight);
  if (!query.starts_with("value=") || query.find('&') != std::string_view::npos) {
    return absl::InvalidArgumentError("want " + range);
  }
  std::string_view digits = query.substr(6);
  uint64_t weight = 0;
  bool all_digits = !digits.empty() && digits.size() <= 10;  // 10 digits fit in 64 bits
  for (char c : digits) {
    all_digits = all_digits && c >= '0' && c <= '9';
    weight = weight * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!all_digits) {
    return absl::InvalidArgumentError("weight is not a number: want " + range);
  }
  if (weight == 0) {
    return absl::InvalidArgumentError(
        "weight 0 is refused: use drain to stop new traffic (it keeps the weight for enable)");
  }
  if (weight > max_weight) {
    return absl::InvalidArgumentError(
        absl::StrFormat("weight %d is out of range: want %s", weight, range));
  }
  command.weight = static_cast<uint32_t>(weight);
  return command;
}

AdminResponse JsonError(int status, std::string_view message) {
  AdminResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = http::JsonErrorBody(status, message);
  return r;
}

AdminResponse ServeAdminRequest(const AdminRequest& request, const ControlEndpoint& control,
                                const AdminHandler& read) {
  if (!IsControlPath(control.prefix, request.path)) {
    if (request.method != "GET" && request.method != "HEAD") {
      return MethodNotAllowed("GET, HEAD", "this admin page is read-only");
    }
    return read(request.path);
  }
  if (request.method != "POST") {
    return MethodNotAllowed("POST", "runtime control changes state: use POST");
  }
  const ControlAccess access =
      CheckControlAccess(control.token(), request.authorization, request.peer);
  if (access != ControlAccess::kAllowed) {
    LOG_WARN("admin: refused POST %s from %s: %s", request.path, PeerText(request.peer),
             ControlAccessReason(access));
    AdminResponse r = JsonError(ControlAccessStatus(access), ControlAccessReason(access));
    if (access == ControlAccess::kMissingToken) {
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + control.program + " admin\"");
    }
    return r;
  }
  absl::StatusOr<ControlCommand> command =
      ParseControlCommand(control.prefix, request.path, request.query, control.max_weight);
  if (!command.ok()) {
    const int status = absl::IsNotFound(command.status()) ? 404 : 400;
    LOG_WARN("admin: %d for POST %s%s%s from %s: %s", status, request.path,
             request.query.empty() ? "" : "?", request.query, PeerText(request.peer),
             command.status().message());
    return JsonError(status, std::string(command.status().message()));
  }
  return control.apply(*command, request);
}

}  // namespace edge::admin
