#include "common/config/errors.h"

#include <gtest/gtest.h>

#include <string>

#include "common/config/toml.h"

namespace edge::config {
namespace {

toml::source_position At(uint32_t line, uint32_t column) { return {line, column}; }

TEST(Quote, EscapesAndTruncates) {
  EXPECT_EQ(Quote("abc"), "\"abc\"");
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("a\nb\x01"), "\"a\\nb\\x01\"");
  EXPECT_EQ(Quote(std::string(100, 'x')), "\"" + std::string(64, 'x') + "\"...");
}

TEST(FormatConfigError, JoinsTheNonEmptyParts) {
  EXPECT_EQ(FormatConfigError("conf/edge.toml", At(14, 11), "pool \"gateways\"", "balance",
                              "unknown value \"magelv\" (maglev|round_robin)"),
            "conf/edge.toml:14:11: pool \"gateways\": balance: unknown value \"magelv\" "
            "(maglev|round_robin)");
  EXPECT_EQ(FormatConfigError("f.toml", At(1, 1), "", "lbb4", "unknown key"),
            "f.toml:1:1: lbb4: unknown key");
  EXPECT_EQ(FormatConfigError("f.toml", At(0, 0), "", "", "too big"), "f.toml: too big");
}

TEST(FormatConfigError, KeepsOneErrorOnOneLine) {
  EXPECT_EQ(FormatConfigError("f\n.toml", At(2, 3), "ctx\r", "key", "bad\nvalue\x7f"),
            "f\\n.toml:2:3: ctx\\r: key: bad\\nvalue\\x7f");
}

TEST(ConfigErrors, EmptyIsOk) {
  ConfigErrors errors("f.toml");
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(errors.ToStatus().ok());
}

TEST(ConfigErrors, SortsByPositionWithUnpositionedLast) {
  ConfigErrors errors("f.toml");
  errors.Add(At(0, 0), "", "", "no position");
  errors.Add(At(9, 2), "b", "k", "second");
  errors.Add(At(3, 7), "a", "k", "first");
  errors.Add(At(9, 1), "b", "j", "between");
  EXPECT_EQ(errors.count(), 4u);
  absl::Status status = errors.ToStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "f.toml:3:7: a: k: first\n"
            "f.toml:9:1: b: j: between\n"
            "f.toml:9:2: b: k: second\n"
            "f.toml: no position");
}

TEST(ConfigErrors, CapsTheMessagesKept) {
  ConfigErrors errors("f.toml");
  for (uint32_t i = 1; i <= ConfigErrors::kMaxKept + 5; ++i) errors.Add(At(i, 1), "", "k", "bad");
  EXPECT_EQ(errors.count(), ConfigErrors::kMaxKept + 5);
  EXPECT_EQ(errors.Messages().size(), ConfigErrors::kMaxKept);
  const std::string message(errors.ToStatus().message());
  EXPECT_NE(message.find("f.toml:1:1: k: bad\n"), std::string::npos);
  EXPECT_NE(message.find("\n(5 more errors)"), std::string::npos);
}

TEST(ParseToml, ParsesAndReportsSyntaxErrorsWithPositions) {
  auto good = ParseToml("[a]\nb = 1\n", "f.toml");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->at_path("a.b").value<int64_t>(), 1);

  auto duplicate = ParseToml("a = 1\na = 2\n", "f.toml");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(duplicate.status().message()),
            "f.toml:2:5: invalid TOML: Error while parsing key-value pair: cannot redefine "
            "existing integer 'a'");

  auto unterminated = ParseToml("a = \"x\n", "conf/x.toml");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(std::string(unterminated.status().message()).rfind("conf/x.toml:1:", 0), 0u)
      << unterminated.status().message();

  auto binary = ParseToml(std::string_view("a = \"\xff\"\n"), "f.toml");
  ASSERT_FALSE(binary.ok());
  EXPECT_EQ(std::string(binary.status().message()),
            "f.toml:1:5: invalid TOML: Encountered invalid utf-8 sequence");
}

// toml++ 3.3.0 reaches undefined behaviour for some non-ASCII characters where it expects
// whitespace (marzer/tomlplusplus#190, #295); ParseToml refuses those inputs first.
TEST(ParseToml, RefusesNonAsciiWhereTomlppWouldMisbehave) {
  auto key = ParseToml("KiB\xd1\xa3", "f.toml");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(std::string(key.status().message()),
            "f.toml:1:4: invalid TOML: non-ASCII character outside a string or comment");
  auto after_value = ParseToml("a = \"\xe4\xb8\xad\" \xe4\xb8\xad\n", "f.toml");
  ASSERT_FALSE(after_value.ok());
  EXPECT_EQ(std::string(after_value.status().message()),
            "f.toml:1:9: invalid TOML: non-ASCII character outside a string or comment");
  auto line_ending_backslash = ParseToml("s = \"\"\"\\\n  \xe4\xb8\xad\"\"\"\n", "f.toml");
  ASSERT_FALSE(line_ending_backslash.ok());
  EXPECT_EQ(std::string(line_ending_backslash.status().message()),
            "f.toml:2:3: invalid TOML: non-ASCII character after a backslash in a string (write "
            "it as \\uXXXX)");
  EXPECT_FALSE(ParseToml("s = \"\"\"\\\xe4\xb8\xad\"\"\"\n", "f.toml").ok());
  EXPECT_FALSE(ParseToml("s = \"\\\xe4\xb8\xad\"\n", "f.toml").ok());
  // A scan over an invalid value (`1"...`) passes what looks like string contents to toml++.
  auto scanned = ParseToml(std::string_view("\"w\" = 1\0se\"\x06\xef\xbb\xbd", 16), "f.toml");
  ASSERT_FALSE(scanned.ok());
  EXPECT_EQ(std::string(scanned.status().message()),
            "f.toml:1:13: invalid TOML: character U+FEFD is not accepted in a string because of a "
            "toml++ 3.3.0 bug; write it as \\uFEFD in a \"...\" string");
  auto latin = ParseToml("city = 'Z\xc3\xbcrich'\n", "f.toml");
  ASSERT_FALSE(latin.ok());
  EXPECT_EQ(std::string(latin.status().message()),
            "f.toml:1:10: invalid TOML: character U+00FC is not accepted in a string because of a "
            "toml++ 3.3.0 bug; write it as \\u00FC in a \"...\" string");
  auto escaped = ParseToml("city = \"Z\\u00FCrich\"\n", "f.toml");
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  EXPECT_EQ(escaped->at_path("city").value<std::string>(), "Z\xc3\xbcrich");
}

TEST(ParseToml, AcceptsOtherNonAsciiInStringsAndAnythingInComments) {
  // U+4E2D, U+20AC and U+1F600 are safe in strings; comments may hold any UTF-8 (U+00E9 here).
  auto parsed = ParseToml(
      "\xEF\xBB\xBF# conf \xe2\x80\x94 \xc3\xa9 \xd1\xa3 comment\n"
      "name = \"w\xe4\xb8\xad \xe2\x82\xac \\\" \xf0\x9f\x98\x80\"  # \xc3\xa9\n"
      "lit = '\xe4\xb8\xad#'\n"
      "ml = \"\"\"\xe4\xb8\xad\n\\\\\xe4\xb8\xad\"\"\xe4\xb8\xad\"\"\"\"\n"
      "ml2 = ''''\xe4\xb8\xad'''''\n"
      "\"\xe4\xb8\xad\" = 1\n",
      "f.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->at_path("name").value<std::string>(),
            "w\xe4\xb8\xad \xe2\x82\xac \" \xf0\x9f\x98\x80");
  EXPECT_EQ(parsed->at_path("lit").value<std::string>(), "\xe4\xb8\xad#");
  EXPECT_EQ(parsed->at_path("ml").value<std::string>(),
            "\xe4\xb8\xad\n\\\xe4\xb8\xad\"\"\xe4\xb8\xad\"");
  EXPECT_EQ(parsed->at_path("ml2").value<std::string>(), "'\xe4\xb8\xad''");
  EXPECT_EQ(parsed->get("\xe4\xb8\xad")->value<int64_t>(), 1);
}

TEST(ParseToml, RefusesOversizedInput) {
  std::string big(kMaxConfigBytes + 1, '#');
  auto parsed = ParseToml(big, "big.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(std::string(parsed.status().message()),
            "big.toml: larger than 4194304 bytes; refusing to parse");
}

TEST(ParseToml, SurvivesDeepNesting) {
  // toml++ caps nesting (TOML_MAX_NESTED_VALUES); deeper input is an error, not a stack overflow.
  std::string deep = "a = " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  EXPECT_FALSE(ParseToml(deep, "deep.toml").ok());
  std::string inline_tables = "a = ";
  for (int i = 0; i < 10000; ++i) inline_tables += "{b = ";
  inline_tables += "1";
  inline_tables.append(10000, '}');
  inline_tables += "\n";
  EXPECT_FALSE(ParseToml(inline_tables, "deep.toml").ok());
  std::string dotted = "a";
  for (int i = 0; i < 10000; ++i) dotted += ".a";
  dotted += " = 1\n";
  (void)ParseToml(dotted, "deep.toml");  // must not crash; accepted or refused
}

}  // namespace
}  // namespace edge::config
