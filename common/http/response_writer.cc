#include "common/http/response_writer.h"

#include <charconv>

#include "absl/strings/str_format.h"
#include "common/http/chars.h"
#include "common/http/head_parse.h"
#include "common/http/status_codes.h"

namespace edge::http {

namespace {

bool HasNoBody(int status) { return status < 200 || status == 204 || status == 304; }

bool IsValidFieldValue(std::string_view v) {
  if (!v.empty() && (internal::IsOws(v.front()) || internal::IsOws(v.back()))) return false;
  return internal::ScanFieldChars(v.data(), v.data() + v.size()) == v.data() + v.size();
}

void AppendNumber(uint64_t n, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out->append(buf, static_cast<size_t>(end - buf));
}

}  // namespace

absl::Status AppendResponse(int status, std::span<const HttpHeader> headers, std::string_view body,
                            const ResponseOptions& options, std::string* out) {
  if (status < 100 || status > 599) {
    return absl::InvalidArgumentError(absl::StrFormat("invalid status code %d", status));
  }
  const bool no_body = HasNoBody(status);
  if (no_body && !body.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat("status %d cannot have a body", status));
  }
  size_t size = 64 + body.size();
  for (const HttpHeader& h : headers) {
    if (!internal::IsToken(h.name)) {
      return absl::InvalidArgumentError(absl::StrFormat("invalid field name \"%s\"", h.name));
    }
    if (!IsValidFieldValue(h.value)) {
      return absl::InvalidArgumentError(absl::StrFormat("invalid value for field %s", h.name));
    }
    if (EqualsIgnoreCase(h.name, "content-length") ||
        EqualsIgnoreCase(h.name, "transfer-encoding") || EqualsIgnoreCase(h.name, "connection")) {
      return absl::InvalidArgumentError(
          absl::StrFormat("field %s is written by the response writer", h.name));
    }
    size += h.name.size() + h.value.size() + 4;
  }
  out->reserve(out->size() + size);
  out->append("HTTP/1.1 ");
  AppendNumber(static_cast<uint64_t>(status), out);
  out->push_back(' ');
  out->append(ReasonPhrase(status));
  out->append("\r\n");
  for (const HttpHeader& h : headers) {
    out->append(h.name);
    out->append(": ");
    out->append(h.value);
    out->append("\r\n");
  }
  if (!no_body) {
    out->append("Content-Length: ");
    AppendNumber(body.size(), out);
    out->append("\r\n");
  }
  if (!options.keep_alive) {
    out->append("Connection: close\r\n");
  } else if (options.client_version == HttpVersion::kHttp10) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
  if (!options.head_request) out->append(body);
  return absl::OkStatus();
}

std::string JsonErrorBody(int status, std::string_view message) {
  std::string out = absl::StrFormat(R"({"error":{"status":%d,"reason":"%s","message":")", status,
                                    std::string(ReasonPhrase(status)));
  for (char c : message) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<uint8_t>(c) < 0x20 || c == 0x7F) {
      out.append(absl::StrFormat("\\u%04x", static_cast<uint8_t>(c)));
    } else {
      out.push_back(c);
    }
  }
  out.append("\"}}\n");
  return out;
}

std::string ErrorResponse(int status, std::string_view message, bool head_request) {
  if (status < 400 || status > 599) status = 500;
  std::string body = JsonErrorBody(status, message);
  const HttpHeader headers[] = {{"Content-Type", "application/json"}};
  ResponseOptions options;
  options.keep_alive = false;
  options.head_request = head_request;
  std::string out;
  // Cannot fail: the status is in range and the fields are constants.
  (void)AppendResponse(status, headers, body, options, &out);
  return out;
}

}  // namespace edge::http
