#pragma once
// The SOAP request gw7 writes around a filled template (envelope_template.h): the Envelope of the
// configured version, a Header with a WS-Security UsernameToken when the route has `wss`, and the
// Body; and the HTTP fields that name the operation.
//   1.1: Content-Type: text/xml; charset=utf-8   and   SOAPAction: "ACTION"
//   1.2: Content-Type: application/soap+xml; charset=utf-8; action="ACTION"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::l7 {

enum class SoapVersion { k11, k12 };

// The Envelope namespace of a version.
std::string_view EnvelopeNamespace(SoapVersion version);

// WS-Security UsernameToken with a PasswordText password (OASIS WSS 1.0 UsernameToken Profile).
struct UsernameToken {
  std::string username;
  std::string password;
};

// Appends the whole envelope: an XML declaration, Envelope, the optional Header, Body holding
// `body_content` (already XML, written as it is).
void AppendEnvelope(SoapVersion version, const UsernameToken* token, std::string_view body_content,
                    std::string* out);

// The request fields naming `action` for `version` (see the top); `action` holds no '"', CR or
// LF (soap_config.h checks).
std::vector<std::pair<std::string, std::string>> SoapRequestFields(SoapVersion version,
                                                                   std::string_view action);

}  // namespace edge::l7
