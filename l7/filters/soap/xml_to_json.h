#pragma once
// XML -> JSON for a SOAP Body without a `response` mapping. The rule (README "REST to SOAP"):
//  - names lose their namespace prefix ("tns:Balance" -> "Balance"); xmlns declarations are
//    dropped;
//  - an element with neither attributes nor child elements becomes a string: its text (text and
//    CDATA joined; "" when empty);
//  - any other element becomes an object: each attribute as "@name", each child element under its
//    name, and its text, when some is not whitespace, as "#text";
//  - child elements sharing a name become an array of their values, in document order (a name
//    that occurs once is never an array);
//  - values are always strings (XML carries no types without its schema).
// The Body itself is always an object: <Body><GetBalanceResponse>...</GetBalanceResponse></Body>
// gives {"GetBalanceResponse": {...}}.
//
// Recursive: the caller bounds the depth first (untrusted_xml.h).

#include <pugixml.hpp>
#include <string>

namespace edge::l7 {

// Appends the JSON of `element` by the rule above; `as_object` forces the object form.
void AppendElementJson(pugi::xml_node element, bool as_object, std::string* out);

// An element's text: its text and CDATA children joined (element children skipped).
std::string ElementText(pugi::xml_node element);

}  // namespace edge::l7
