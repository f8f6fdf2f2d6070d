#pragma once
// A SOAP Fault as the client sees it: a JSON error with an HTTP status chosen by the fault code.
//   1.1: <Fault><faultcode>soap:Client.UnknownAccount</faultcode><faultstring>...</faultstring>
//   1.2: <Fault><Code><Value>soap:Sender</Value></Code><Reason><Text>...</Text></Reason>
// Both forms are read whatever the route's version (a service may answer either way).
//
// The code is the faultcode's local name ("soap:Client.UnknownAccount" ->
// "Client.UnknownAccount"); in 1.2, Code/Value's local name followed by each nested
// Subcode/Value's, joined with dots (Sender with Subcode tns:UnknownAccount ->
// "Sender.UnknownAccount"). Its status: the route's `faults` entry for the whole code, else for its
// class (the code up to the first dot: "Client"), else the defaults: Client and Sender 400, Server
// and Receiver 502, anything else (VersionMismatch, MustUnderstand) 502.

#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::l7 {

struct SoapFault {
  std::string code;     // e.g. "Client.UnknownAccount", "Sender.UnknownAccount"
  std::string message;  // faultstring / Reason Text, trimmed
};

// The fault `fault_element` (a <Fault>) holds.
SoapFault ReadSoapFault(pugi::xml_node fault_element);

// The HTTP status for `code` (see the top); `configured`: the route's faults, code -> status.
int FaultStatus(std::string_view code, const std::vector<std::pair<std::string, int>>& configured);

// {"error":"soap_fault","code":"...","message":"..."} and a newline.
std::string FaultJson(const SoapFault& fault);

}  // namespace edge::l7
