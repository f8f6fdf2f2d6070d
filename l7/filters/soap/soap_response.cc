#include "l7/filters/soap/soap_response.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/metrics/prometheus.h"
#include "l7/filters/soap/soap_fault.h"
#include "l7/filters/soap/xml_to_json.h"
#include "l7/filters/transform/field_list.h"

namespace edge::l7 {
namespace {

pugi::xml_node FirstChildElement(pugi::xml_node parent, std::string_view local_name) {
  for (pugi::xml_node c : parent.children()) {
    if (c.type() == pugi::node_element &&
        (local_name.empty() || LocalName(c.name()) == local_name)) {
      return c;
    }
  }
  return {};
}

// The first element named `name` below `root`, in document order (iterative).
pugi::xml_node FirstDescendant(pugi::xml_node root, std::string_view name) {
  pugi::xml_node n = root.first_child();
  while (n) {
    if (n.type() == pugi::node_element && LocalName(n.name()) == name) return n;
    if (n.first_child()) {
      n = n.first_child();
      continue;
    }
    while (!n.next_sibling()) {
      n = n.parent();
      if (n == root) return {};
    }
    n = n.next_sibling();
  }
  return {};
}

std::string MappedJson(pugi::xml_node body, const std::vector<ResponseField>& fields) {
  std::string json = "{";
  for (const ResponseField& f : fields) {
    if (json.size() > 1) json.push_back(',');
    json.append("\"").append(metrics::JsonEscape(f.key)).append("\":");
    pugi::xml_node n = FirstDescendant(body, f.path.front());
    for (size_t i = 1; n && i < f.path.size(); ++i) n = FirstChildElement(n, f.path[i]);
    if (n) {
      json.append("\"").append(metrics::JsonEscape(ElementText(n))).append("\"");
    } else {
      json.append("null");
    }
  }
  json.append("}\n");
  return json;
}

}  // namespace

SoapAnswer UnusableAnswer(SoapOutcome outcome, std::string detail) {
  SoapAnswer a;
  a.outcome = outcome;
  a.status = 502;
  a.json =
      "{\"error\":\"bad_upstream_response\",\"message\":\"the SOAP service's answer could "
      "not be used\"}\n";
  a.detail = std::move(detail);
  return a;
}

std::string_view SoapOutcomeName(SoapOutcome outcome) {
  switch (outcome) {
    case SoapOutcome::kOk:
      return "ok";
    case SoapOutcome::kFault:
      return "fault";
    case SoapOutcome::kBadXml:
      return "bad_xml";
    case SoapOutcome::kTooLarge:
      return "too_large";
    case SoapOutcome::kBadRequest:
      return "bad_request";
  }
  return "bad_xml";
}

bool ParseResponsePath(std::string_view text, std::vector<std::string>* names) {
  if (!text.starts_with("//")) return false;
  std::vector<std::string> parts;
  for (std::string_view p : SplitList(text.substr(2), '/')) {
    const bool ok = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    });
    if (!ok) return false;
    parts.emplace_back(p);
  }
  *names = std::move(parts);
  return true;
}

SoapAnswer TranslateSoapResponse(int upstream_status, std::string_view body,
                                 const SoapResponseRules& rules) {
  pugi::xml_document doc;
  std::string detail;
  switch (ParseUntrustedXml(body, rules.limits, &doc, &detail)) {
    case XmlRefusal::kNone:
      break;
    case XmlRefusal::kTooLarge:
      return UnusableAnswer(SoapOutcome::kTooLarge, std::move(detail));
    default:
      return UnusableAnswer(SoapOutcome::kBadXml, std::move(detail));
  }
  pugi::xml_node envelope = FirstChildElement(doc, "");
  if (LocalName(envelope.name()) != "Envelope") {
    return UnusableAnswer(SoapOutcome::kBadXml, "not a SOAP Envelope");
  }
  pugi::xml_node soap_body = FirstChildElement(envelope, "Body");
  if (!soap_body) return UnusableAnswer(SoapOutcome::kBadXml, "a SOAP Envelope without a Body");
  if (pugi::xml_node fault = FirstChildElement(soap_body, "Fault")) {
    const SoapFault f = ReadSoapFault(fault);
    SoapAnswer a;
    a.outcome = SoapOutcome::kFault;
    a.status = FaultStatus(f.code, rules.faults);
    a.json = FaultJson(f);
    a.detail = absl::StrFormat("SOAP fault %s: %s", f.code, f.message);
    return a;
  }
  if (upstream_status < 200 || upstream_status > 299) {
    return UnusableAnswer(SoapOutcome::kBadXml,
                          absl::StrFormat("status %d without a SOAP Fault", upstream_status));
  }
  SoapAnswer a;
  if (rules.fields.empty()) {
    AppendElementJson(soap_body, /*as_object=*/true, &a.json);
    a.json.push_back('\n');
  } else {
    a.json = MappedJson(soap_body, rules.fields);
  }
  return a;
}

}  // namespace edge::l7
