// The soap filter's request side alone: what it tells the proxy (the rewriter, the fields it
// replaces) and the POST it makes of a REST call: path captures, query parameters and JSON body
// fields in the envelope, the client's mistakes refused as 400 messages; and that it leaves gw7's
// own answers for a failed upstream alone.

#include "l7/filters/soap/soap_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "tests/unit/l7/filters/auth/fake_request.h"

namespace edge::l7 {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

std::shared_ptr<const SoapConfig> Config(std::string_view template_text,
                                         std::optional<UsernameToken> wss = std::nullopt) {
  auto c = std::make_shared<SoapConfig>();
  c->version = SoapVersion::k11;
  c->action = "Transfer";
  c->path = "/bank";
  auto t = EnvelopeTemplate::Parse(template_text);
  EXPECT_TRUE(t.ok()) << t.status();
  c->envelope = *t;
  c->wss = std::move(wss);
  return c;
}

struct Rewritten {
  absl::Status status;
  UpstreamRewrite rewrite;
};

Rewritten RewriteWith(const SoapFilter& f, testing::FakeRequest& request, std::string_view body) {
  FilterContext ctx(request);
  Rewritten r;
  r.status = f.Rewrite(ctx, body, &r.rewrite);
  return r;
}

std::string TextAt(const std::string& xml, const char* xpath) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str())) << xml;
  return doc.select_node(xpath).node().text().get();
}

TEST(SoapFilter, OnRequestInstallsTheRewriterAndReplacesFields) {
  SoapFilter f(Config("<Op/>"), "");
  testing::FakeRequest request;
  FilterContext ctx(request);
  EXPECT_EQ(f.OnRequest(ctx, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(ctx.upstream_rewriter, &f);
  for (const char* name : {"content-type", "content-encoding", "soapaction", "accept-encoding"}) {
    EXPECT_THAT(ctx.upstream_remove_headers, Contains(name));
  }
  EXPECT_THAT(ctx.upstream_add_headers, Contains(Pair("SOAPAction", "\"Transfer\"")));
  EXPECT_THAT(ctx.upstream_add_headers, Contains(Pair("Content-Type", "text/xml; charset=utf-8")));
}

TEST(SoapFilter, PathQueryAndBodyFillTheEnvelope) {
  SoapFilter f(Config("<t:Transfer xmlns:t=\"urn:bank\"><t:from>{path.id}</t:from>"
                      "<t:to>{body.to.account}</t:to><t:amount>{body.amount:decimal}</t:amount>"
                      "<t:memo>{query.memo}</t:memo><t:urgent>{body.urgent:bool}</t:urgent>"
                      "</t:Transfer>",
                      UsernameToken{"gw7", "pw"}),
               "/accounts/{id}/transfers");
  testing::FakeRequest request;
  request.Path("/accounts/A-1/transfers").Query("memo=rent%20%26%20bills&x=1");
  Rewritten r = RewriteWith(
      f, request, R"({"to": {"account": "B<2>"}, "amount": 1234567.8900, "urgent": true})");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.rewrite.path, "/bank");
  EXPECT_EQ(r.rewrite.query, "");
  const std::string& xml = r.rewrite.body;
  EXPECT_EQ(TextAt(xml, "//*[local-name()='from']"), "A-1");
  EXPECT_EQ(TextAt(xml, "//*[local-name()='to']"), "B<2>");
  EXPECT_EQ(TextAt(xml, "//*[local-name()='amount']"), "1234567.8900");  // digits kept as sent
  EXPECT_EQ(TextAt(xml, "//*[local-name()='memo']"), "rent & bills");
  EXPECT_EQ(TextAt(xml, "//*[local-name()='urgent']"), "true");
  EXPECT_EQ(TextAt(xml, "//*[local-name()='Username']"), "gw7");
}

TEST(SoapFilter, ClientMistakesAreRefused) {
  SoapFilter f(Config("<Op><a>{body.amount:decimal}</a></Op>"), "");
  testing::FakeRequest request;
  EXPECT_THAT(RewriteWith(f, request, "").status.message(),
              HasSubstr("the request body must be a JSON object"));
  EXPECT_THAT(RewriteWith(f, request, "[1]").status.message(), HasSubstr("JSON object"));
  EXPECT_THAT(RewriteWith(f, request, "{\"amount\": ").status.message(), HasSubstr("JSON object"));
  EXPECT_THAT(RewriteWith(f, request, "{}").status.message(),
              HasSubstr("body.amount:decimal is missing"));
  EXPECT_THAT(RewriteWith(f, request, "{\"amount\": {\"v\": 1}}").status.message(),
              HasSubstr("body.amount:decimal is missing"));
  EXPECT_THAT(RewriteWith(f, request, "{\"amount\": \"ten\"}").status.message(),
              HasSubstr("body.amount:decimal is not a valid decimal"));
  EXPECT_THAT(RewriteWith(f, request, "{\"amount\": 1e3}").status.message(),
              HasSubstr("not a valid decimal"));
  // Deep nesting is parsed iteratively: refused as a wrong value, not a crash.
  const std::string deep =
      "{\"amount\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_THAT(RewriteWith(f, request, deep).status.message(),
              HasSubstr("body.amount:decimal is missing"));
  EXPECT_TRUE(RewriteWith(f, request, "{\"amount\": \"10.5\"}").status.ok());
}

TEST(SoapFilter, NoBodyNeededWithoutBodyPlaceholders) {
  SoapFilter f(Config("<Op>{query.at}</Op>"), "");
  testing::FakeRequest request;
  request.Query("at=2024-01-01");
  Rewritten r = RewriteWith(f, request, "not json at all");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(TextAt(r.rewrite.body, "//Op"), "2024-01-01");
  request.Query("");
  EXPECT_THAT(RewriteWith(f, request, "").status.message(), HasSubstr("query.at is missing"));
}

TEST(SoapFilter, GatewaysOwnAnswersAreNotTakenOver) {
  SoapFilter f(Config("<Op/>"), "");
  testing::FakeRequest request;
  FilterContext ctx(request);
  http::HttpResponse head;
  head.status = 504;
  EXPECT_FALSE(f.TakeOverResponse(ctx, head));  // no upstream byte: gw7's own answer
  ctx.report.upstream_first_byte_ns = 1000;
  head.status = 500;
  EXPECT_TRUE(f.TakeOverResponse(ctx, head));
  f.OnEnd(ctx);
}

}  // namespace
}  // namespace edge::l7
