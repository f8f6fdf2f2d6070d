// The template and the envelope around it: placeholders parsed, values XML-escaped whatever they
// hold (markup, entities, CDATA ends, CRLF), typed placeholders refusing what does not fit, the
// envelope of each SOAP version with and without WS-Security, and the HTTP fields naming the
// operation. Every filled envelope is parsed back to prove it is well-formed and says what was
// sent.

#include "l7/filters/soap/envelope_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <pugixml.hpp>

#include "l7/filters/soap/soap_envelope.h"
#include "l7/filters/soap/xml_text.h"

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvelopeTemplate Parse(std::string_view text) {
  auto t = EnvelopeTemplate::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : EnvelopeTemplate();
}

// Fills with values by placeholder text ("body.amount").
absl::StatusOr<std::string> Fill(const EnvelopeTemplate& t,
                                 const std::map<std::string, std::string>& values) {
  std::string out;
  absl::Status s = t.Fill(
      [&](const Placeholder& p) -> std::optional<std::string> {
        std::string key = PlaceholderText(p);
        key = key.substr(0, key.find(':'));
        auto it = values.find(key);
        if (it == values.end()) return std::nullopt;
        return it->second;
      },
      &out);
  if (!s.ok()) return s;
  return out;
}

TEST(EnvelopeTemplate, PartsAndSources) {
  EnvelopeTemplate t = Parse("<t:Op xmlns:t=\"urn:x\">{path.id}{query.at}{body.a.b:int}</t:Op>");
  ASSERT_EQ(t.parts().size(), 5u);
  EXPECT_EQ(t.parts()[0].text, "<t:Op xmlns:t=\"urn:x\">");
  EXPECT_EQ(t.parts()[1].placeholder->source, PlaceholderSource::kPath);
  EXPECT_EQ(t.parts()[2].placeholder->source, PlaceholderSource::kQuery);
  EXPECT_EQ(t.parts()[3].placeholder->name, "a.b");
  EXPECT_EQ(t.parts()[3].placeholder->type, PlaceholderType::kInt);
  // Braces that open no source are template text.
  EnvelopeTemplate literal = Parse("<a>{not.a.placeholder}</a>");
  ASSERT_EQ(literal.parts().size(), 1u);
  EXPECT_EQ(*Fill(literal, {}), "<a>{not.a.placeholder}</a>");
}

TEST(EnvelopeTemplate, MalformedPlaceholdersAreRefused) {
  EXPECT_THAT(EnvelopeTemplate::Parse("<a>{body.x</a>").status().message(),
              HasSubstr("byte 3 is not closed"));
  EXPECT_THAT(EnvelopeTemplate::Parse("<a>{body.}</a>").status().message(),
              HasSubstr("the name must be"));
  EXPECT_THAT(EnvelopeTemplate::Parse("<a>{body.a b}</a>").status().message(),
              HasSubstr("the name must be"));
  EXPECT_THAT(EnvelopeTemplate::Parse("<a>{body.x:float}</a>").status().message(),
              HasSubstr("unknown type \"float\""));
  EXPECT_THAT(EnvelopeTemplate::Parse("just text").status().message(), HasSubstr("no element"));
  // A placeholder cannot stand for markup: the template must be well-formed on its own.
  EXPECT_THAT(EnvelopeTemplate::Parse("<{body.name}>x</a>").status().message(),
              HasSubstr("not well-formed"));
}

TEST(EnvelopeTemplate, HostileValuesAreEscaped) {
  EnvelopeTemplate t = Parse("<Op><a>{body.a}</a><b attr=\"{body.b}\">x</b></Op>");
  const std::string hostile = "</a><injected/><![CDATA[x]]>&amp;&lt;\"'\r\nline2";
  auto filled = Fill(t, {{"body.a", hostile}, {"body.b", hostile}});
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_THAT(*filled, Not(HasSubstr("<injected/>")));
  EXPECT_THAT(*filled, Not(HasSubstr("]]>")));
  EXPECT_THAT(*filled, Not(HasSubstr("\r")));
  // Parsed back, each value is exactly what the client sent: nothing was cut or interpreted.
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(filled->c_str())) << *filled;
  EXPECT_EQ(std::string(doc.child("Op").child("a").text().get()), hostile);
  EXPECT_EQ(std::string(doc.child("Op").child("b").attribute("attr").value()), hostile);
  EXPECT_FALSE(doc.child("Op").child("injected"));
}

TEST(EnvelopeTemplate, MissingValuesAndTextXmlCannotCarry) {
  EnvelopeTemplate t = Parse("<Op>{body.a}</Op>");
  EXPECT_THAT(Fill(t, {}).status().message(), HasSubstr("body.a is missing"));
  EXPECT_THAT(Fill(t, {{"body.a", std::string("a\0b", 3)}}).status().message(),
              HasSubstr("not text XML can carry"));
  EXPECT_THAT(Fill(t, {{"body.a", "\x1b[31m"}}).status().message(),
              HasSubstr("not text XML can carry"));
  EXPECT_THAT(Fill(t, {{"body.a", "\xc3\x28"}}).status().message(),  // invalid UTF-8
              HasSubstr("not text XML can carry"));
  EXPECT_TRUE(Fill(t, {{"body.a", "Gr\xc3\xbc\xc3\x9f\x65 \xf0\x9f\x92\xb6"}}).ok());
}

TEST(EnvelopeTemplate, TypedPlaceholders) {
  EnvelopeTemplate t =
      Parse("<Op><n>{body.n:int}</n><d>{body.d:decimal}</d><b>{body.b:bool}</b></Op>");
  auto fill = [&](std::string n, std::string d, std::string b) {
    return Fill(t, {{"body.n", n}, {"body.d", d}, {"body.b", b}});
  };
  EXPECT_TRUE(fill("42", "10.50", "true").ok());
  EXPECT_TRUE(fill("-7", "-0.5", "false").ok());
  EXPECT_TRUE(fill("0", "100", "true").ok());
  EXPECT_THAT(fill("4.2", "1", "true").status().message(),
              HasSubstr("body.n:int is not a valid int"));
  EXPECT_THAT(fill("", "1", "true").status().message(), HasSubstr("not a valid int"));
  EXPECT_THAT(fill("1234567890123456789", "1", "true").status().message(),
              HasSubstr("not a valid int"));
  EXPECT_THAT(fill("1", "12abc", "true").status().message(),
              HasSubstr("body.d:decimal is not a valid decimal"));
  EXPECT_THAT(fill("1", "1e5", "true").status().message(), HasSubstr("not a valid decimal"));
  EXPECT_THAT(fill("1", ".5", "true").status().message(), HasSubstr("not a valid decimal"));
  EXPECT_THAT(fill("1", "1.", "true").status().message(), HasSubstr("not a valid decimal"));
  EXPECT_THAT(fill("1", "<1/>", "true").status().message(), HasSubstr("not a valid decimal"));
  EXPECT_THAT(fill("1", "1", "yes").status().message(),
              HasSubstr("body.b:bool is not a valid bool"));
}

TEST(SoapEnvelope, Soap11WithoutHeader) {
  std::string out;
  AppendEnvelope(SoapVersion::k11, nullptr, "<t:Op xmlns:t=\"urn:x\">1</t:Op>", &out);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(out.c_str())) << out;
  pugi::xml_node env = doc.child("soap:Envelope");
  EXPECT_STREQ(env.attribute("xmlns:soap").value(), "http://schemas.xmlsoap.org/soap/envelope/");
  EXPECT_FALSE(env.child("soap:Header"));
  EXPECT_STREQ(env.child("soap:Body").child("t:Op").text().get(), "1");
  EXPECT_EQ(SoapRequestFields(SoapVersion::k11, "urn:bank#Get"),
            (std::vector<std::pair<std::string, std::string>>{
                {"Content-Type", "text/xml; charset=utf-8"}, {"SOAPAction", "\"urn:bank#Get\""}}));
}

TEST(SoapEnvelope, Soap12WithUsernameToken) {
  UsernameToken token{"gw7<&>", "p\"w'</wsse:Password>"};
  std::string out;
  AppendEnvelope(SoapVersion::k12, &token, "<Op/>", &out);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(out.c_str())) << out;
  pugi::xml_node env = doc.child("soap:Envelope");
  EXPECT_STREQ(env.attribute("xmlns:soap").value(), "http://www.w3.org/2003/05/soap-envelope");
  pugi::xml_node ut = env.child("soap:Header").child("wsse:Security").child("wsse:UsernameToken");
  EXPECT_EQ(std::string(ut.child("wsse:Username").text().get()), token.username);
  pugi::xml_node pw = ut.child("wsse:Password");
  EXPECT_EQ(std::string(pw.text().get()), token.password);
  EXPECT_THAT(pw.attribute("Type").value(), HasSubstr("#PasswordText"));
  EXPECT_TRUE(env.child("soap:Body").child("Op"));
  EXPECT_EQ(SoapRequestFields(SoapVersion::k12, "GetBalance"),
            (std::vector<std::pair<std::string, std::string>>{
                {"Content-Type", "application/soap+xml; charset=utf-8; action=\"GetBalance\""}}));
}

TEST(XmlText, EscapingAndValidity) {
  std::string out;
  AppendXmlEscaped("a&b<c>d\"e'f\tg\r\nh]]>", &out);
  EXPECT_EQ(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#13;&#10;h]]&gt;");
  EXPECT_TRUE(IsXmlText("plain\ttext\r\n"));
  EXPECT_FALSE(IsXmlText("\x01"));
  EXPECT_FALSE(IsXmlText("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(IsXmlText("\xed\xa0\x80"));     // a surrogate
  EXPECT_FALSE(IsXmlText("\xef\xbf\xbf"));     // U+FFFF
  EXPECT_FALSE(IsXmlText("\xf0\x9f\x92"));     // truncated
  EXPECT_TRUE(IsXmlText("\xf0\x9f\x92\xb6"));  // U+1F4B6
}

}  // namespace
}  // namespace edge::l7
