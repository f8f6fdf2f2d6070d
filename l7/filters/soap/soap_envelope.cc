#include "l7/filters/soap/soap_envelope.h"

#include "absl/strings/str_format.h"
#include "l7/filters/soap/xml_text.h"

namespace edge::l7 {
namespace {

constexpr std::string_view kWsseNamespace =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
constexpr std::string_view kPasswordText =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText";

}  // namespace

std::string_view EnvelopeNamespace(SoapVersion version) {
  return version == SoapVersion::k11 ? "http://schemas.xmlsoap.org/soap/envelope/"
                                     : "http://www.w3.org/2003/05/soap-envelope";
}

void AppendEnvelope(SoapVersion version, const UsernameToken* token, std::string_view body_content,
                    std::string* out) {
  out->append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soap:Envelope xmlns:soap=\"");
  out->append(EnvelopeNamespace(version));
  out->append("\">");
  if (token != nullptr) {
    // No mustUnderstand: a service that does not check the token must still answer.
    absl::StrAppendFormat(out,
                          "<soap:Header><wsse:Security xmlns:wsse=\"%s\"><wsse:UsernameToken>"
                          "<wsse:Username>",
                          kWsseNamespace);
    AppendXmlEscaped(token->username, out);
    absl::StrAppendFormat(out, "</wsse:Username><wsse:Password Type=\"%s\">", kPasswordText);
    AppendXmlEscaped(token->password, out);
    out->append("</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header>");
  }
  out->append("<soap:Body>");
  out->append(body_content);
  out->append("</soap:Body></soap:Envelope>\n");
}

std::vector<std::pair<std::string, std::string>> SoapRequestFields(SoapVersion version,
                                                                   std::string_view action) {
  if (version == SoapVersion::k11) {
    return {{"Content-Type", "text/xml; charset=utf-8"},
            {"SOAPAction", absl::StrFormat("\"%s\"", action)}};
  }
  return {{"Content-Type",
           absl::StrFormat("application/soap+xml; charset=utf-8; action=\"%s\"", action)}};
}

}  // namespace edge::l7
