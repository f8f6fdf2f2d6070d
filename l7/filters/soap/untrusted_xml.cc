#include "l7/filters/soap/untrusted_xml.h"

#include "absl/strings/str_format.h"
#include "l7/filters/soap/xml_text.h"

namespace edge::l7 {
namespace {

// The deepest element nesting (a lone root element is 1), stopping as soon as it passes `limit`:
// iterative, since the tree may be as deep as the document is long.
int DepthBeyond(const pugi::xml_node root, int limit) {
  int level = 1;
  int deepest = 0;
  pugi::xml_node n = root.first_child();
  while (n) {
    if (n.type() == pugi::node_element && level > deepest) {
      deepest = level;
      if (deepest > limit) return deepest;
    }
    if (n.first_child()) {
      n = n.first_child();
      ++level;
      continue;
    }
    while (!n.next_sibling()) {
      n = n.parent();
      --level;
      if (n == root) return deepest;
    }
    n = n.next_sibling();
  }
  return deepest;
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Whether `text` holds `upper` (upper-case ASCII) in any case.
bool ContainsIgnoreCase(std::string_view text, std::string_view upper) {
  for (size_t i = 0; i + upper.size() <= text.size(); ++i) {
    size_t k = 0;
    while (k < upper.size() && AsciiLower(text[i + k]) == AsciiLower(upper[k])) ++k;
    if (k == upper.size()) return true;
  }
  return false;
}

}  // namespace

std::string_view LocalName(const char* name) {
  std::string_view s(name);
  const size_t colon = s.rfind(':');
  return colon == std::string_view::npos ? s : s.substr(colon + 1);
}

XmlRefusal ParseUntrustedXml(std::string_view xml, const XmlLimits& limits, pugi::xml_document* doc,
                             std::string* detail) {
  doc->reset();
  if (xml.size() > limits.max_bytes) {
    *detail = absl::StrFormat("%d bytes, over the limit of %d", xml.size(), limits.max_bytes);
    return XmlRefusal::kTooLarge;
  }
  if (ContainsIgnoreCase(xml, "<!DOCTYPE") || ContainsIgnoreCase(xml, "<!ENTITY")) {
    *detail = "declares a DTD or an entity";
    return XmlRefusal::kDtd;
  }
  if (!IsXmlText(xml)) {
    *detail = "not UTF-8 text that XML can carry";
    return XmlRefusal::kMalformed;
  }
  // parse_doctype: a DTD the scan missed becomes a node to refuse, not something skipped.
  const unsigned options = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_eol |
                           pugi::parse_wconv_attribute | pugi::parse_doctype;
  const pugi::xml_parse_result r =
      doc->load_buffer(xml.data(), xml.size(), options, pugi::encoding_utf8);
  if (!r) {
    *detail = absl::StrFormat("not XML: %s at byte %d", r.description(), r.offset);
    return XmlRefusal::kMalformed;
  }
  for (pugi::xml_node n : doc->children()) {
    if (n.type() == pugi::node_doctype) {
      *detail = "declares a DTD";
      return XmlRefusal::kDtd;
    }
  }
  if (DepthBeyond(*doc, limits.max_depth) > limits.max_depth) {
    *detail = absl::StrFormat("elements nested deeper than %d", limits.max_depth);
    return XmlRefusal::kTooDeep;
  }
  return XmlRefusal::kNone;
}

}  // namespace edge::l7
