#pragma once
// The types a template placeholder may declare (`{body.amount:decimal}`): a value that does not
// fit is the client's error (400), found before anything goes upstream, so that the SOAP service
// never receives "12abc" where its schema says xs:decimal.

#include <optional>
#include <string_view>

namespace edge::l7 {

enum class PlaceholderType {
  kString,   // any XML text (the default)
  kInt,      // optional '-', 1..18 digits (always within xs:long)
  kDecimal,  // xs:decimal: optional '-', digits, optionally '.' and digits ("10", "-0.5")
  kBool,     // xs:boolean as JSON writes it: "true" | "false"
};

// "string" | "int" | "decimal" | "bool"; nullopt for anything else.
std::optional<PlaceholderType> ParsePlaceholderType(std::string_view name);
std::string_view PlaceholderTypeName(PlaceholderType type);

// Whether `value` is a valid lexical form of `type` (kString: IsXmlText).
bool FitsPlaceholderType(PlaceholderType type, std::string_view value);

}  // namespace edge::l7
