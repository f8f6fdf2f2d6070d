#pragma once
// A route's `soap` table (README "REST to SOAP"), read and checked at load (and by gw7 --check):
//   soap = { version = "1.1" | "1.2", action = "GetBalance", path = "/bank",
//            template = "conf/soap/get_balance.xml",
//            response = { balance = "//Balance", currency = "//Currency" },   # optional
//            faults = { "Client" = 400, "Server" = 502 },                      # optional
//            wss = { username = "gw7", password_file = "conf/soap/core.secret" }, # optional
//            max_response_bytes = "1MiB", max_depth = 64 }                     # optional
// The route's `upstream` is the SOAP endpoint; `path` is where the envelope is POSTed there.
//
// Refused at load: a version other than "1.1"/"1.2"; an action that is empty or holds '"', CR,
// LF or other control characters (it goes into a header); a path that does not start with '/' or
// holds '?', '#', blanks or control characters; a template that cannot be read or does not parse
// (envelope_template.h), or whose {path.NAME} the route's path_template does not capture; a
// response path not of the form "//Name[/Child...]"; a fault status outside 400..599 or a fault
// code that is not a name; a password file that cannot be read or is empty (one trailing newline
// is dropped); limits outside 1KiB..64MiB and 2..1000.

#include <memory>
#include <string>
#include <string_view>

#include "common/config/table_reader.h"
#include "l7/filters/soap/envelope_template.h"
#include "l7/filters/soap/soap_envelope.h"
#include "l7/filters/soap/soap_response.h"

namespace edge::l7 {

struct SoapConfig {
  SoapVersion version = SoapVersion::k11;
  std::string action;
  std::string path;           // upstream path the envelope is POSTed to
  std::string template_file;  // as configured, for messages
  EnvelopeTemplate envelope;
  std::optional<UsernameToken> wss;
  SoapResponseRules response;  // limits, `response` mapping, `faults`
};

// Reads `soap` of a route table; nullptr when absent. `path_template`: the route's, or empty
// when the route matches otherwise (then no {path.NAME} placeholder is allowed).
std::shared_ptr<const SoapConfig> ReadSoapConfig(config::TableReader& route,
                                                 std::string_view path_template);

}  // namespace edge::l7
