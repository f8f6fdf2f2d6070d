#include "l7/filters/soap/placeholder_type.h"

#include <algorithm>

#include "l7/filters/soap/xml_text.h"

namespace edge::l7 {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view WithoutSign(std::string_view s) { return s.starts_with('-') ? s.substr(1) : s; }

}  // namespace

std::optional<PlaceholderType> ParsePlaceholderType(std::string_view name) {
  if (name == "string") return PlaceholderType::kString;
  if (name == "int") return PlaceholderType::kInt;
  if (name == "decimal") return PlaceholderType::kDecimal;
  if (name == "bool") return PlaceholderType::kBool;
  return std::nullopt;
}

std::string_view PlaceholderTypeName(PlaceholderType type) {
  switch (type) {
    case PlaceholderType::kInt:
      return "int";
    case PlaceholderType::kDecimal:
      return "decimal";
    case PlaceholderType::kBool:
      return "bool";
    default:
      return "string";
  }
}

bool FitsPlaceholderType(PlaceholderType type, std::string_view value) {
  switch (type) {
    case PlaceholderType::kString:
      return IsXmlText(value);
    case PlaceholderType::kInt: {
      const std::string_view digits = WithoutSign(value);
      return AllDigits(digits) && digits.size() <= 18;
    }
    case PlaceholderType::kDecimal: {
      const std::string_view number = WithoutSign(value);
      const size_t dot = number.find('.');
      if (dot == std::string_view::npos) return AllDigits(number) && number.size() <= 64;
      return AllDigits(number.substr(0, dot)) && AllDigits(number.substr(dot + 1)) &&
             number.size() <= 64;
    }
    case PlaceholderType::kBool:
      return value == "true" || value == "false";
  }
  return false;
}

}  // namespace edge::l7
