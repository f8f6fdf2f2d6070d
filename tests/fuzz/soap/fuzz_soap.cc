// Fuzz target: the SOAP response -> JSON converter (l7/filters/soap/soap_response.h), the part of
// gw7 that reads what an upstream SOAP service sends. The whole input is a response body,
// translated three ways: the whole Body by the rule, a `response` mapping, and with tight limits
// (64 KiB, depth 8). No crash; the promises hold: every answer is valid JSON, a 200 only for an
// ok translation, a refusal is a 502, a fault's status is 400..599, and no input that declares a
// DTD or an entity is ever translated.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "l7/filters/soap/soap_response.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Written apart from gw7's scan (untrusted_xml.cc), so that the two check each other.
bool DeclaresDtd(std::string_view s) {
  auto has = [&](std::string_view word) {
    for (size_t i = 0; i + word.size() <= s.size(); ++i) {
      size_t k = 0;
      while (k < word.size() && Lower(s[i + k]) == Lower(word[k])) ++k;
      if (k == word.size()) return true;
    }
    return false;
  };
  return has("<!doctype") || has("<!entity");
}

void CheckAnswer(const edge::l7::SoapAnswer& a, std::string_view input) {
  using edge::l7::SoapOutcome;
  rapidjson::Document d;
  Check(!d.Parse(a.json.c_str()).HasParseError() && d.IsObject());
  switch (a.outcome) {
    case SoapOutcome::kOk:
      Check(a.status == 200);
      Check(!DeclaresDtd(input));
      break;
    case SoapOutcome::kFault:
      Check(a.status >= 400 && a.status <= 599);
      Check(!DeclaresDtd(input));
      break;
    default:
      Check(a.status == 502);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edge::l7;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const SoapResponseRules whole;
  static const SoapResponseRules mapped = [] {
    SoapResponseRules r;
    r.fields = {{"balance", {"Balance"}}, {"currency", {"Account", "Currency"}}};
    r.faults = {{"Client.Locked", 423}, {"Server", 503}};
    return r;
  }();
  static const SoapResponseRules tight = [] {
    SoapResponseRules r;
    r.limits.max_bytes = 64 << 10;
    r.limits.max_depth = 8;
    return r;
  }();
  CheckAnswer(TranslateSoapResponse(200, input, whole), input);
  CheckAnswer(TranslateSoapResponse(500, input, mapped), input);
  CheckAnswer(TranslateSoapResponse(200, input, tight), input);
  return 0;
}
