#pragma once
// The template of a SOAP request's Body content (a route's `soap.template` file): the operation
// element with placeholders that take the REST call's values.
//
//   <tns:Transfer xmlns:tns="urn:bank"><tns:from>{body.from}</tns:from>
//     <tns:amount>{body.amount:decimal}</tns:amount></tns:Transfer>
//
// Placeholders: {path.NAME} (a capture of the route's path_template), {query.NAME} (a query
// parameter, percent-decoded), {body.FIELD} (a field of the JSON request body; "a.b" reaches into
// nested objects). An optional ":TYPE" (placeholder_type.h) constrains the value. Every value is
// XML-escaped (xml_text.h) where it is put. A '{' that does not open one of these three sources is
// template text. gw7 writes the Envelope, the Header (WS-Security) and the Body around it
// (soap_envelope.h), so the template does not depend on the SOAP version.
//
// Refused at load: a placeholder that is not closed, has an empty name or an unknown type; a
// {path.NAME} that the route's path_template does not capture; a template that, with every
// placeholder filled, is not well-formed XML content.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "l7/filters/soap/placeholder_type.h"

namespace edge::l7 {

enum class PlaceholderSource { kPath, kQuery, kBody };

struct Placeholder {
  PlaceholderSource source = PlaceholderSource::kPath;
  std::string name;  // capture, parameter or JSON field path
  PlaceholderType type = PlaceholderType::kString;
};

// One piece of a template: text as written, or a placeholder.
struct TemplatePart {
  std::string text;
  std::optional<Placeholder> placeholder;
};

class EnvelopeTemplate {
 public:
  // Parses `text`; InvalidArgument saying what and where (byte offset) on a malformed
  // placeholder or content that is not well-formed XML.
  static absl::StatusOr<EnvelopeTemplate> Parse(std::string_view text);

  const std::vector<TemplatePart>& parts() const { return parts_; }

  // The value of a placeholder, or nullopt when the request lacks it.
  using Lookup = std::function<std::optional<std::string>(const Placeholder&)>;
  // Appends the filled template to *out. InvalidArgument (the client's 400) naming the placeholder
  // when a value is missing or does not fit its type.
  absl::Status Fill(const Lookup& lookup, std::string* out) const;

 private:
  std::vector<TemplatePart> parts_;
};

// "path.id", "body.amount:decimal": how a placeholder is written, for messages.
std::string PlaceholderText(const Placeholder& p);

}  // namespace edge::l7
