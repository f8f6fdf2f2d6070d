#include "l7/filters/soap/envelope_template.h"

#include <algorithm>
#include <pugixml.hpp>

#include "absl/strings/str_format.h"
#include "l7/filters/soap/xml_text.h"

namespace edge::l7 {
namespace {

struct SourcePrefix {
  std::string_view prefix;
  PlaceholderSource source;
};
constexpr SourcePrefix kSources[] = {{"{path.", PlaceholderSource::kPath},
                                     {"{query.", PlaceholderSource::kQuery},
                                     {"{body.", PlaceholderSource::kBody}};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// A sample value of each type, to check that the filled template is well-formed XML.
std::string_view SampleValue(PlaceholderType type) {
  return type == PlaceholderType::kBool ? "true" : "1";
}

}  // namespace

std::string PlaceholderText(const Placeholder& p) {
  std::string_view source = p.source == PlaceholderSource::kPath    ? "path"
                            : p.source == PlaceholderSource::kQuery ? "query"
                                                                    : "body";
  std::string text = absl::StrFormat("%s.%s", source, p.name);
  if (p.type != PlaceholderType::kString) {
    text.append(":").append(PlaceholderTypeName(p.type));
  }
  return text;
}

absl::StatusOr<EnvelopeTemplate> EnvelopeTemplate::Parse(std::string_view text) {
  EnvelopeTemplate t;
  std::string literal;
  std::string sample;  // the template with sample values, for the well-formedness check
  size_t i = 0;
  while (i < text.size()) {
    const SourcePrefix* opened = nullptr;
    if (text[i] == '{') {
      for (const SourcePrefix& s : kSources) {
        if (text.substr(i).starts_with(s.prefix)) opened = &s;
      }
    }
    if (opened == nullptr) {
      literal.push_back(text[i]);
      sample.push_back(text[i]);
      ++i;
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("placeholder at byte %d is not closed with '}'", i));
    }
    std::string_view inner =
        text.substr(i + opened->prefix.size(), close - i - opened->prefix.size());
    Placeholder p;
    p.source = opened->source;
    if (size_t colon = inner.find(':'); colon != std::string_view::npos) {
      std::optional<PlaceholderType> type = ParsePlaceholderType(inner.substr(colon + 1));
      if (!type) {
        return absl::InvalidArgumentError(
            absl::StrFormat("placeholder at byte %d: unknown type \"%s\" (string|int|decimal|bool)",
                            i, inner.substr(colon + 1)));
      }
      p.type = *type;
      inner = inner.substr(0, colon);
    }
    if (inner.empty() || inner.front() == '.' || inner.back() == '.' ||
        !std::all_of(inner.begin(), inner.end(), IsNameChar)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "placeholder at byte %d: the name must be letters, digits, '_', '-' or '.', got \"%s\"",
          i, inner));
    }
    p.name = std::string(inner);
    if (!literal.empty()) t.parts_.push_back({std::move(literal), std::nullopt});
    literal.clear();
    sample.append(SampleValue(p.type));
    t.parts_.push_back({"", std::move(p)});
    i = close + 1;
  }
  if (!literal.empty()) t.parts_.push_back({std::move(literal), std::nullopt});

  pugi::xml_document doc;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(sample.data(), sample.size(), pugi::parse_default | pugi::parse_fragment,
                      pugi::encoding_utf8);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrFormat("not well-formed XML near byte %d of the filled template: %s",
                        parsed.offset, parsed.description()));
  }
  bool has_element = false;
  for (pugi::xml_node n : doc.children()) has_element |= n.type() == pugi::node_element;
  if (!has_element) return absl::InvalidArgumentError("holds no element (the operation's element)");
  return t;
}

absl::Status EnvelopeTemplate::Fill(const Lookup& lookup, std::string* out) const {
  for (const TemplatePart& part : parts_) {
    if (!part.placeholder) {
      out->append(part.text);
      continue;
    }
    const Placeholder& p = *part.placeholder;
    std::optional<std::string> value = lookup(p);
    if (!value) {
      return absl::InvalidArgumentError(absl::StrFormat("%s is missing", PlaceholderText(p)));
    }
    if (!FitsPlaceholderType(p.type, *value)) {
      return absl::InvalidArgumentError(
          p.type == PlaceholderType::kString
              ? absl::StrFormat("%s is not text XML can carry", PlaceholderText(p))
              : absl::StrFormat("%s is not a valid %s", PlaceholderText(p),
                                PlaceholderTypeName(p.type)));
    }
    AppendXmlEscaped(*value, out);
  }
  return absl::OkStatus();
}

}  // namespace edge::l7
