#include "l7/filters/soap/soap_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/file.h"
#include "l7/router/path_captures.h"

namespace edge::l7 {
namespace {

using config::Quote;
using config::TableReader;

bool IsHeaderSafe(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f && c != '"';
  });
}

bool IsPathSafe(std::string_view s) {
  return s.starts_with('/') && std::all_of(s.begin(), s.end(), [](char c) {
           return static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '?' && c != '#';
         });
}

bool IsFaultCode(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

void ReadTemplate(TableReader& r, std::string_view path_template, SoapConfig* c) {
  if (!r.Require("template") || !r.ReadString("template", &c->template_file)) return;
  absl::StatusOr<std::string> text = config::ReadConfigFile(c->template_file);
  if (!text.ok()) return r.Error("template", std::string(text.status().message()));
  absl::StatusOr<EnvelopeTemplate> parsed = EnvelopeTemplate::Parse(*text);
  if (!parsed.ok()) {
    return r.Error("template",
                   absl::StrFormat("%s: %s", c->template_file, parsed.status().message()));
  }
  const std::vector<std::string> captures = TemplateCaptureNames(path_template);
  for (const TemplatePart& part : parsed->parts()) {
    if (!part.placeholder || part.placeholder->source != PlaceholderSource::kPath) continue;
    if (std::find(captures.begin(), captures.end(), part.placeholder->name) == captures.end()) {
      return r.Error("template",
                     absl::StrFormat("%s: {%s}: the route's path_template captures no \"%s\"",
                                     c->template_file, PlaceholderText(*part.placeholder),
                                     part.placeholder->name));
    }
  }
  c->envelope = std::move(*parsed);
}

void ReadResponseFields(TableReader& r, SoapConfig* c) {
  const toml::table* table = r.ReadTable("response");
  if (table == nullptr) return;
  for (const auto& [key, node] : *table) {
    const std::string display =
        absl::StrFormat("%s.%s", r.DisplayKey("response"), std::string_view(key.str()));
    const auto* value = node.as_string();
    ResponseField field;
    if (value == nullptr || !ParseResponsePath(value->get(), &field.path)) {
      r.errors().Add(node, r.context(), display,
                     "expected an element path \"//Name\" or \"//Name/Child\" (local names)");
      continue;
    }
    field.key = std::string(key.str());
    c->response.fields.push_back(std::move(field));
  }
}

void ReadFaults(TableReader& r, SoapConfig* c) {
  const toml::table* table = r.ReadTable("faults");
  if (table == nullptr) return;
  for (const auto& [key, node] : *table) {
    const std::string display =
        absl::StrFormat("%s.%s", r.DisplayKey("faults"), std::string_view(key.str()));
    const auto* value = node.as_integer();
    if (!IsFaultCode(key.str())) {
      r.errors().Add(node, r.context(), display,
                     absl::StrFormat("not a fault code: %s (\"Client\", \"Server.Timeout\")",
                                     Quote(key.str())));
    } else if (value == nullptr || value->get() < 400 || value->get() > 599) {
      r.errors().Add(node, r.context(), display, "expected an HTTP status 400..599");
    } else {
      c->response.faults.emplace_back(std::string(key.str()), static_cast<int>(value->get()));
    }
  }
}

void ReadWss(TableReader& route, SoapConfig* c) {
  const toml::table* table = route.ReadTable("wss");
  if (table == nullptr) return;
  TableReader r(*table, route.errors(), route.context(), {"username", "password_file"},
                "soap.wss.");
  UsernameToken token;
  std::string file;
  if (!r.Require("username") || !r.ReadString("username", &token.username)) return;
  if (!r.Require("password_file") || !r.ReadString("password_file", &file)) return;
  absl::StatusOr<std::string> secret = config::ReadConfigFile(file);
  if (!secret.ok()) return r.Error("password_file", std::string(secret.status().message()));
  token.password = std::move(*secret);
  if (token.password.ends_with('\n')) token.password.pop_back();
  if (token.password.ends_with('\r')) token.password.pop_back();
  if (token.password.empty()) return r.Error("password_file", absl::StrFormat("%s is empty", file));
  c->wss = std::move(token);
}

}  // namespace

std::shared_ptr<const SoapConfig> ReadSoapConfig(TableReader& route,
                                                 std::string_view path_template) {
  const toml::table* table = route.ReadTable("soap");
  if (table == nullptr) return nullptr;
  TableReader r(*table, route.errors(), route.context(),
                {"version", "action", "path", "template", "response", "faults", "wss",
                 "max_response_bytes", "max_depth"},
                "soap.");
  auto c = std::make_shared<SoapConfig>();
  r.ReadEnum("version", &c->version, {{"1.1", SoapVersion::k11}, {"1.2", SoapVersion::k12}});
  if (r.Require("action") && r.ReadString("action", &c->action) &&
      (c->action.empty() || !IsHeaderSafe(c->action))) {
    r.Error("action", "must be a non-empty operation name without '\"' or control characters");
  }
  if (r.Require("path") && r.ReadString("path", &c->path) && !IsPathSafe(c->path)) {
    r.Error("path", "must start with '/' and hold no '?', '#', blanks or control characters");
  }
  ReadTemplate(r, path_template, c.get());
  ReadResponseFields(r, c.get());
  ReadFaults(r, c.get());
  ReadWss(r, c.get());
  uint64_t max_bytes;
  if (r.ReadSize("max_response_bytes", &max_bytes, 1024, 64 << 20)) {
    c->response.limits.max_bytes = max_bytes;
  }
  r.ReadInt("max_depth", &c->response.limits.max_depth, 2, 1000);
  return c;
}

}  // namespace edge::l7
