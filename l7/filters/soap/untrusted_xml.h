#pragma once
// Parsing XML from an upstream that may be hostile (README "REST to SOAP": hostile XML).
//
// pugixml never expands entities beyond the five predefined ones and character references, and
// never fetches anything, so a billion-laughs or external-entity document cannot hurt it; such a
// document is refused all the same, since no SOAP message may carry a DTD (SOAP 1.1 section 3,
// SOAP 1.2 part 1 section 5) and a service that sends one is broken or subverted:
//  - any "<!DOCTYPE" or "<!ENTITY" in the bytes (any case, even in a comment or CDATA) is refused
//    before parsing, and a doctype node in the parsed tree too (belt and braces);
//  - the document is read as UTF-8 only (checked: invalid UTF-8 and control characters are refused,
//    so the JSON made from it is valid too), so that a UTF-16 document cannot hide its DTD from the
//    byte scan;
//  - a size bound (checked by the caller while it collects the body, and here) and an element
//    depth bound (checked iteratively on the parsed tree, before anything recursive walks it).

#include <cstddef>
#include <pugixml.hpp>
#include <string>
#include <string_view>

namespace edge::l7 {

enum class XmlRefusal { kNone, kTooLarge, kDtd, kMalformed, kTooDeep };

struct XmlLimits {
  size_t max_bytes = 1 << 20;
  int max_depth = 64;
};

// Parses `xml` into *doc (in place of what it held). On a refusal *detail says why, for the log.
XmlRefusal ParseUntrustedXml(std::string_view xml, const XmlLimits& limits, pugi::xml_document* doc,
                             std::string* detail);

// An element's name without its namespace prefix ("soap:Body" -> "Body").
std::string_view LocalName(const char* name);

}  // namespace edge::l7
