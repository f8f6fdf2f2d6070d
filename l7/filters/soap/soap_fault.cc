#include "l7/filters/soap/soap_fault.h"

#include "absl/strings/ascii.h"
#include "common/metrics/prometheus.h"
#include "l7/filters/soap/untrusted_xml.h"
#include "l7/filters/soap/xml_to_json.h"

namespace edge::l7 {
namespace {

pugi::xml_node ChildByLocalName(pugi::xml_node parent, std::string_view name) {
  for (pugi::xml_node c : parent.children()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == name) return c;
  }
  return {};
}

std::string TrimmedText(pugi::xml_node element) {
  return std::string(absl::StripAsciiWhitespace(ElementText(element)));
}

// A QName's prefix names the namespace, which the status does not depend on.
void StripPrefix(std::string* qname) {
  if (size_t colon = qname->find(':'); colon != std::string::npos) qname->erase(0, colon + 1);
}

}  // namespace

SoapFault ReadSoapFault(pugi::xml_node fault_element) {
  SoapFault f;
  if (pugi::xml_node code = ChildByLocalName(fault_element, "faultcode")) {
    f.code = TrimmedText(code);
    f.message = TrimmedText(ChildByLocalName(fault_element, "faultstring"));
    StripPrefix(&f.code);
  } else {
    // Code/Value, then each nested Subcode/Value, joined with dots like a 1.1 faultcode.
    for (pugi::xml_node code = ChildByLocalName(fault_element, "Code"); code;
         code = ChildByLocalName(code, "Subcode")) {
      std::string value = TrimmedText(ChildByLocalName(code, "Value"));
      StripPrefix(&value);
      if (!f.code.empty()) f.code.push_back('.');
      f.code += value;
    }
    f.message = TrimmedText(ChildByLocalName(ChildByLocalName(fault_element, "Reason"), "Text"));
  }
  return f;
}

int FaultStatus(std::string_view code, const std::vector<std::pair<std::string, int>>& configured) {
  const std::string_view fault_class = code.substr(0, code.find('.'));
  for (const auto& [name, status] : configured) {
    if (name == code) return status;
  }
  for (const auto& [name, status] : configured) {
    if (name == fault_class) return status;
  }
  if (fault_class == "Client" || fault_class == "Sender") return 400;
  return 502;
}

std::string FaultJson(const SoapFault& fault) {
  return "{\"error\":\"soap_fault\",\"code\":\"" + metrics::JsonEscape(fault.code) +
         "\",\"message\":\"" + metrics::JsonEscape(fault.message) + "\"}\n";
}

}  // namespace edge::l7
