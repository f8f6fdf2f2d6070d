// The SOAP service's answer -> the client's JSON: the documented XML -> JSON rule, the `response`
// mapping, faults of both versions and their status mapping, and the refusal of hostile or
// unusable XML (DTDs, entities, depth, size, not XML) as a 502 that names nothing internal.

#include "l7/filters/soap/soap_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kSoap11 = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr std::string_view kSoap12 = "http://www.w3.org/2003/05/soap-envelope";

std::string Envelope(std::string_view body, std::string_view ns = kSoap11) {
  return "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"" + std::string(ns) + "\"><s:Body>" +
         std::string(body) + "</s:Body></s:Envelope>";
}

SoapAnswer Translate(std::string_view body, const SoapResponseRules& rules = {}, int status = 200) {
  return TranslateSoapResponse(status, body, rules);
}

// The answer's JSON, re-serialised canonically would hide key order: compare the text itself,
// and check it is valid JSON.
void ExpectJson(const SoapAnswer& a, std::string_view json) {
  EXPECT_EQ(a.outcome, SoapOutcome::kOk) << a.detail;
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.json, std::string(json) + "\n");
  rapidjson::Document d;
  EXPECT_FALSE(d.Parse(a.json.c_str()).HasParseError()) << a.json;
}

void ExpectRefused(const SoapAnswer& a, SoapOutcome outcome, std::string_view detail) {
  EXPECT_EQ(a.outcome, outcome) << a.detail;
  EXPECT_EQ(a.status, 502);
  EXPECT_THAT(a.detail, HasSubstr(detail));
  EXPECT_THAT(a.json, HasSubstr("\"error\":\"bad_upstream_response\""));
}

TEST(XmlToJsonRule, TextOnlyElementsAreStrings) {
  ExpectJson(Translate(Envelope("<t:GetBalanceResponse xmlns:t=\"urn:bank\"><t:Balance>10.50"
                                "</t:Balance><t:Currency>EUR</t:Currency><t:Note/>"
                                "</t:GetBalanceResponse>")),
             R"({"GetBalanceResponse":{"Balance":"10.50","Currency":"EUR","Note":""}})");
}

TEST(XmlToJsonRule, AttributesRepeatedElementsAndMixedText) {
  ExpectJson(Translate(Envelope("<r xmlns:x=\"urn:x\" x:id=\"7\"><item>a</item><other>o</other>"
                                "<x:item>b</x:item><item n=\"3\">c</item>tail<![CDATA[<raw>]]>"
                                "</r>")),
             R"({"r":{"@id":"7","item":["a","b",{"@n":"3","#text":"c"}],"other":"o",)"
             R"("#text":"tail<raw>"}})");
}

TEST(XmlToJsonRule, WhitespaceBetweenElementsIsNotText) {
  ExpectJson(Translate(Envelope("<r>\n  <a> x </a>\n  <b>y</b>\n</r>")),
             R"({"r":{"a":" x ","b":"y"}})");
}

TEST(XmlToJsonRule, EscapesAndUnicodeSurviveAsJson) {
  ExpectJson(Translate(Envelope("<r>&lt;&amp;&quot;\\ &#233;\xe2\x82\xac\t\"</r>")),
             "{\"r\":\"<&\\\"\\\\ \xc3\xa9\xe2\x82\xac\\t\\\"\"}");
}

TEST(XmlToJsonRule, EmptyBodyIsAnEmptyObject) { ExpectJson(Translate(Envelope("")), "{}"); }

TEST(XmlToJsonRule, Soap12EnvelopeToo) {
  ExpectJson(Translate(Envelope("<r>1</r>", kSoap12)), R"({"r":"1"})");
}

TEST(ResponseMapping, FirstMatchByLocalNameAnywhere) {
  SoapResponseRules rules;
  rules.fields = {{"balance", {"Balance"}},
                  {"currency", {"Account", "Currency"}},
                  {"missing", {"Nope"}},
                  {"quoted", {"Name"}}};
  ExpectJson(Translate(Envelope("<t:R xmlns:t=\"urn:b\"><t:Account><t:Balance>5</t:Balance>"
                                "<t:Currency>EUR</t:Currency></t:Account><t:Balance>6</t:Balance>"
                                "<Currency>USD</Currency><Name>a\"b</Name></t:R>"),
                       rules),
             R"({"balance":"5","currency":"EUR","missing":null,"quoted":"a\"b"})");
}

TEST(ResponsePath, Forms) {
  std::vector<std::string> names;
  EXPECT_TRUE(ParseResponsePath("//Balance", &names));
  EXPECT_EQ(names, std::vector<std::string>{"Balance"});
  EXPECT_TRUE(ParseResponsePath("//A/B", &names));
  EXPECT_EQ(names, (std::vector<std::string>{"A", "B"}));
  EXPECT_FALSE(ParseResponsePath("/Balance", &names));
  EXPECT_FALSE(ParseResponsePath("//", &names));
  EXPECT_FALSE(ParseResponsePath("//A//B", &names));
  EXPECT_FALSE(ParseResponsePath("//A[1]", &names));
  EXPECT_FALSE(ParseResponsePath("//t:A", &names));
}

TEST(SoapFaults, Soap11ClientFaultIs400) {
  const SoapAnswer a =
      Translate(Envelope("<s:Fault><faultcode>s:Client.InsufficientFunds</faultcode>"
                         "<faultstring> not enough money </faultstring></s:Fault>"),
                {}, 500);
  EXPECT_EQ(a.outcome, SoapOutcome::kFault);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.json,
            "{\"error\":\"soap_fault\",\"code\":\"Client.InsufficientFunds\","
            "\"message\":\"not enough money\"}\n");
}

TEST(SoapFaults, Soap11ServerFaultIs502) {
  const SoapAnswer a = Translate(
      Envelope("<s:Fault><faultcode>s:Server</faultcode><faultstring>db down</faultstring>"
               "</s:Fault>"),
      {}, 500);
  EXPECT_EQ(a.status, 502);
  EXPECT_THAT(a.json, HasSubstr("\"code\":\"Server\""));
}

TEST(SoapFaults, Soap12SenderAndReceiver) {
  const std::string sender = Envelope(
      "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>x:Bad</s:Value>"
      "</s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en\">bad account</s:Text></s:Reason>"
      "</s:Fault>",
      kSoap12);
  SoapAnswer a = Translate(sender, {}, 500);
  EXPECT_EQ(a.outcome, SoapOutcome::kFault);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.json,
            "{\"error\":\"soap_fault\",\"code\":\"Sender.Bad\",\"message\":\"bad account\"}\n");
  a = Translate(Envelope("<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason>"
                         "<s:Text>later</s:Text></s:Reason></s:Fault>",
                         kSoap12),
                {}, 500);
  EXPECT_EQ(a.status, 502);
  // Nested subcodes join the code; a configured status for the whole code wins.
  SoapResponseRules rules;
  rules.faults = {{"Sender.Locked.Frozen", 423}};
  a = Translate(Envelope("<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>"
                         "t:Locked</s:Value><s:Subcode><s:Value>t:Frozen</s:Value></s:Subcode>"
                         "</s:Subcode></s:Code><s:Reason><s:Text>no</s:Text></s:Reason></s:Fault>",
                         kSoap12),
                rules, 500);
  EXPECT_EQ(a.status, 423);
  EXPECT_THAT(a.json, HasSubstr("\"code\":\"Sender.Locked.Frozen\""));
  a = Translate(Envelope("<s:Fault><s:Code><s:Value>s:VersionMismatch</s:Value></s:Code>"
                         "</s:Fault>",
                         kSoap12),
                {}, 500);
  EXPECT_EQ(a.status, 502);
}

TEST(SoapFaults, ConfiguredStatusesWholeCodeFirstThenClass) {
  SoapResponseRules rules;
  rules.faults = {{"Client", 422}, {"Client.Locked", 423}, {"Server", 503}};
  auto status = [&](std::string_view code) {
    return Translate(Envelope("<s:Fault><faultcode>s:" + std::string(code) +
                              "</faultcode><faultstring>m</faultstring></s:Fault>"),
                     rules, 500)
        .status;
  };
  EXPECT_EQ(status("Client.Locked"), 423);
  EXPECT_EQ(status("Client.Other"), 422);
  EXPECT_EQ(status("Client"), 422);
  EXPECT_EQ(status("Server.Timeout"), 503);
  EXPECT_EQ(status("Sender"), 400);  // not configured: the default
}

TEST(HostileXml, BillionLaughsIsRefused) {
  const std::string lol =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>" +
      Envelope("<r>&lol2;</r>").substr(21);
  ExpectRefused(Translate(lol), SoapOutcome::kBadXml, "DTD");
}

TEST(HostileXml, ExternalEntityIsRefused) {
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>" +
      Envelope("<r>&xxe;</r>").substr(21);
  const SoapAnswer a = Translate(xxe);
  ExpectRefused(a, SoapOutcome::kBadXml, "DTD");
  EXPECT_THAT(a.json, Not(HasSubstr("root:")));
}

TEST(HostileXml, DeclarationsInAnyCaseOrPlaceAreRefused) {
  ExpectRefused(Translate(Envelope("<!-- <!doctype x> --><r/>")), SoapOutcome::kBadXml, "DTD");
  ExpectRefused(Translate(Envelope("<r><![CDATA[<!ENTITY x \"y\">]]></r>")), SoapOutcome::kBadXml,
                "DTD");
}

TEST(HostileXml, Utf16CannotHideADoctype) {
  // "<!DOCTYPE" in UTF-16: the byte scan cannot see it, the UTF-8-only parse refuses it.
  std::string utf16 = "\xff\xfe";
  for (char c : std::string("<!DOCTYPE r [<!ENTITY a \"b\">]><r>&a;</r>")) {
    utf16.push_back(c);
    utf16.push_back('\0');
  }
  ExpectRefused(Translate(utf16), SoapOutcome::kBadXml, "not UTF-8");
}

TEST(HostileXml, DepthIsBounded) {
  SoapResponseRules rules;
  rules.limits.max_depth = 64;
  auto nested = [](int levels) {  // Envelope and Body are two levels
    std::string open, close;
    for (int i = 0; i < levels - 2; ++i) {
      open += "<d>";
      close += "</d>";
    }
    return Envelope(open + "x" + close);
  };
  EXPECT_EQ(Translate(nested(64), rules).outcome, SoapOutcome::kOk);
  ExpectRefused(Translate(nested(65), rules), SoapOutcome::kBadXml, "deeper than 64");
  // Far deeper than any stack would take recursively: refused, not crashed.
  ExpectRefused(Translate(nested(100000), rules), SoapOutcome::kBadXml, "deeper than 64");
}

TEST(HostileXml, SizeIsBounded) {
  SoapResponseRules rules;
  rules.limits.max_bytes = 1024;
  const std::string big = Envelope("<r>" + std::string(2000, 'a') + "</r>");
  ExpectRefused(Translate(big, rules), SoapOutcome::kTooLarge, "over the limit of 1024");
}

TEST(UnusableResponses, NotXmlNotSoapAndErrorsWithoutFault) {
  ExpectRefused(Translate("{\"balance\": 1}"), SoapOutcome::kBadXml, "not XML");
  ExpectRefused(Translate(""), SoapOutcome::kBadXml, "not XML");
  ExpectRefused(Translate("<html><body>oops</body></html>"), SoapOutcome::kBadXml,
                "not a SOAP Envelope");
  ExpectRefused(Translate("<s:Envelope xmlns:s=\"urn:x\"><s:Header/></s:Envelope>"),
                SoapOutcome::kBadXml, "without a Body");
  ExpectRefused(Translate(Envelope("<r>1</r>"), {}, 503), SoapOutcome::kBadXml,
                "status 503 without a SOAP Fault");
  ExpectRefused(Translate(Envelope("<r>1</r>").substr(0, 60)), SoapOutcome::kBadXml, "not XML");
}

}  // namespace
}  // namespace edge::l7
