// Part targets: what a template accepts, and hostile values kept inside their placeholder.

#include "l7/filters/aggregate/part_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

PartTarget Fill(std::string_view tmpl, const Params& params, std::string_view query = "") {
  auto t = ParsePartTemplate(tmpl, {"id", "lang"});
  EXPECT_TRUE(t.ok()) << t.status();
  auto target = FillPartTemplate(*t, params, query);
  EXPECT_TRUE(target.ok()) << target.status();
  return target.ok() ? *target : PartTarget{"(failed)", ""};
}

std::string FillError(std::string_view tmpl, const Params& params, std::string_view query = "") {
  auto t = ParsePartTemplate(tmpl, {"id"});
  if (!t.ok()) return "(bad template)";
  auto target = FillPartTemplate(*t, params, query);
  return target.ok() ? "(filled)" : std::string(target.status().message());
}

TEST(PartTemplate, CaptureNames) {
  EXPECT_EQ(TemplateCaptureNames("/page/{id}/x/{lang}"), (std::vector<std::string>{"id", "lang"}));
  EXPECT_TRUE(TemplateCaptureNames("/plain").empty());
}

TEST(PartTemplate, CapturesAndQueryFillPathAndQuery) {
  const PartTarget t = Fill("/reviews/{lang}?product={id}&page={query.page}",
                            {{"id", "42"}, {"lang", "en"}}, "x=1&page=3");
  EXPECT_EQ(t.path, "/reviews/en");
  EXPECT_EQ(t.query, "product=42&page=3");
  EXPECT_EQ(Fill("/p/{id}", {{"id", "7"}}).query, "");
}

TEST(PartTemplate, HostileValuesStayInTheirPlaceholder) {
  EXPECT_EQ(Fill("/p/{id}", {{"id", "..%2fadmin"}}).path, "/p/..%2Fadmin");
  EXPECT_EQ(Fill("/p/{id}", {{"id", "%2f"}}).path, "/p/%2F");
  EXPECT_EQ(Fill("/p?x={query.q}", {}, "q=../../etc").query, "x=..%2F..%2Fetc");
  EXPECT_EQ(Fill("/p?x={query.q}", {}, "q=a%0d%0aX-Evil:%201").query, "x=a%0D%0AX-Evil%3A%201");
  EXPECT_EQ(Fill("/p?x={query.q}", {}, "q=a%26admin%3Dtrue").query, "x=a%26admin%3Dtrue");
  EXPECT_EQ(Fill("/p?x={query.q}", {}, "q=a+b%23").query, "x=a%20b%23");
  EXPECT_EQ(Fill("/p/{id}", {{"id", "a+b"}}).path, "/p/a%2Bb");
  EXPECT_EQ(Fill("/p/{id}", {{"id", "caf%C3%A9"}}).path, "/p/caf%C3%A9");
}

TEST(PartTemplate, RefusedValues) {
  EXPECT_EQ(FillError("/p/{id}", {{"id", "%2e%2e"}}),
            "the part's path would have a \".\" or \"..\" segment");
  EXPECT_EQ(FillError("/p/{id}/x", {{"id", "."}}),
            "the part's path would have a \".\" or \"..\" segment");
  EXPECT_EQ(FillError("/p?x={id}", {{"id", ".."}}), "(filled)");
  EXPECT_EQ(FillError("/p/{id}", {{"id", "%zz"}}), "id has a malformed percent-escape");
  EXPECT_EQ(FillError("/p/{id}", {{"id", "a%2"}}), "id has a malformed percent-escape");
  EXPECT_EQ(FillError("/p?x={query.q}", {}, "r=1"), "the request has no query parameter q");
  EXPECT_EQ(FillError("/p?x={query.q}", {}, "q"), "(filled)");
  EXPECT_EQ(FillError("/p/{id}.json", {{"id", ".."}}), "(filled)");
}

TEST(PartTemplate, BadTemplates) {
  auto error = [](std::string_view t) {
    auto parsed = ParsePartTemplate(t, {"id"});
    return parsed.ok() ? std::string("(parsed)") : std::string(parsed.status().message());
  };
  EXPECT_THAT(error("/p/{unknown}"), ::testing::HasSubstr("unknown placeholder {unknown}"));
  EXPECT_THAT(error("/p/{query.}"), ::testing::HasSubstr("unknown placeholder {query.}"));
  EXPECT_THAT(error("/p/{id"), ::testing::HasSubstr("unclosed '{'"));
  EXPECT_THAT(error("/p/id}"), ::testing::HasSubstr("byte 5 is not allowed"));
  EXPECT_THAT(error("/p?a?b"), ::testing::HasSubstr("second '?'"));
  EXPECT_THAT(error("/p x"), ::testing::HasSubstr("byte 2 is not allowed"));
  EXPECT_THAT(error("/p\r\nX: y"), ::testing::HasSubstr("byte 2 is not allowed"));
  EXPECT_THAT(error("p"), ::testing::HasSubstr("must start with '/'"));
  EXPECT_EQ(error("/p/{id}?q={query.q}"), "(parsed)");
}

}  // namespace
}  // namespace edge::l7
