#pragma once
// Text that goes into an XML document gw7 writes (the SOAP envelope): every value from a client
// or a secret file passes through here, so that no value can open a tag, end a CDATA section or
// inject an entity reference.

#include <string>
#include <string_view>

namespace edge::l7 {

// Appends `text` escaped for element content and attribute values: & < > " ' as entity
// references, CR, LF and TAB as character references (a CRLF stays a CRLF through any XML
// parser's end-of-line handling instead of becoming one LF). Other control characters, which
// XML 1.0 cannot carry at all, are refused by the caller's type check (IsXmlText).
void AppendXmlEscaped(std::string_view text, std::string* out);

// Whether `text` can be carried by an XML 1.0 document: valid UTF-8 without the C0 control
// characters other than TAB, CR and LF (and without U+FFFE / U+FFFF).
bool IsXmlText(std::string_view text);

}  // namespace edge::l7
