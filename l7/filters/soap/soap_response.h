#pragma once
// The SOAP service's HTTP response -> the JSON answer the REST client gets.
//  - The body must be a SOAP Envelope with a Body (either version's namespace, matched by local
//    name) that passes untrusted_xml.h; anything else is the upstream's failure: 502.
//  - A Fault in the Body becomes a JSON error with the status soap_fault.h chooses, whatever the
//    upstream's HTTP status (SOAP 1.1 sends faults with 500).
//  - Otherwise the upstream's status must be 2xx (else 502), and the answer is 200 with either the
//    route's `response` mapping -- each key the text of the first element its path finds, null
//    when none does -- or the whole Body converted by xml_to_json.h's rule.
// A mapping path is "//Name" (the first element named Name anywhere in the Body, in document
// order) followed by "/Child" steps (a child element by name); names are local names, prefixes
// ignored.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "l7/filters/soap/untrusted_xml.h"

namespace edge::l7 {

// One `response` entry: a JSON key and its path's names ("//A/B" -> {"A", "B"}).
struct ResponseField {
  std::string key;
  std::vector<std::string> path;
};

struct SoapResponseRules {
  XmlLimits limits;
  std::vector<ResponseField> fields;  // empty: the whole Body by the rule
  std::vector<std::pair<std::string, int>> faults;
};

enum class SoapOutcome { kOk, kFault, kBadXml, kTooLarge, kBadRequest };
inline constexpr int kSoapOutcomes = 5;
// "ok" | "fault" | "bad_xml" | "too_large" | "bad_request": the metric's label.
std::string_view SoapOutcomeName(SoapOutcome outcome);

struct SoapAnswer {
  SoapOutcome outcome = SoapOutcome::kOk;
  int status = 200;
  std::string json;    // the client's body (for 502: gw7's error body)
  std::string detail;  // why, for the log (never sent to the client)
};

// The 502 for a response that cannot be used (`outcome` bad_xml or too_large): a generic JSON
// error for the client, `detail` for the log.
SoapAnswer UnusableAnswer(SoapOutcome outcome, std::string detail);

SoapAnswer TranslateSoapResponse(int upstream_status, std::string_view body,
                                 const SoapResponseRules& rules);

// Parses a `response` path ("//Balance", "//Account/Balance"); false when it is not of that form.
bool ParseResponsePath(std::string_view text, std::vector<std::string>* names);

}  // namespace edge::l7
