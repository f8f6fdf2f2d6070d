#include "common/config/table_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace edge::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

enum class Color { kRed, kGreen };
constexpr EnumValue<Color> kColors[] = {{"red", Color::kRed}, {"green", Color::kGreen}};

class TableReaderTest : public ::testing::Test {
 protected:
  // Parses `text` (it must be valid TOML) as file "t.toml".
  const toml::table& Parse(std::string_view text) {
    auto parsed = ParseToml(text, "t.toml");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    table_ = parsed.ok() ? std::move(*parsed) : toml::table{};
    return table_;
  }

  ConfigErrors errors_{"t.toml"};
  toml::table table_;
};

TEST_F(TableReaderTest, ReadsTypedValues) {
  const auto& t = Parse(
      "s = \"hi\"\nb = true\ni = 7\nd = \"1m30s\"\nz = \"16KiB\"\nzi = 100\n"
      "a = \"[::1]:80\"\ne = \"green\"\nl = [\"x\", \"y\"]\n[sub]\nk = 1\n");
  TableReader r(t, errors_, "ctx", {"s", "b", "i", "d", "z", "zi", "a", "e", "l", "sub", "absent"});
  std::string s;
  bool b = false;
  int i = 0;
  absl::Duration d;
  uint64_t z = 0, zi = 0;
  net::SocketAddress a;
  Color e = Color::kRed;
  std::vector<std::string> l;
  EXPECT_TRUE(r.ReadString("s", &s));
  EXPECT_TRUE(r.ReadBool("b", &b));
  EXPECT_TRUE(r.ReadInt("i", &i, 0, 10));
  EXPECT_TRUE(r.ReadDuration("d", &d, absl::Milliseconds(1), absl::Hours(1)));
  EXPECT_TRUE(r.ReadSize("z", &z, 0, UINT64_MAX));
  EXPECT_TRUE(r.ReadSize("zi", &zi, 0, UINT64_MAX));
  EXPECT_TRUE(r.ReadAddress("a", &a));
  EXPECT_TRUE(r.ReadEnum("e", &e, kColors));
  EXPECT_TRUE(r.ReadStringArray("l", &l));
  const toml::table* sub = r.ReadTable("sub");
  ASSERT_NE(sub, nullptr);
  EXPECT_THAT(errors_.Messages(), IsEmpty());
  EXPECT_EQ(s, "hi");
  EXPECT_TRUE(b);
  EXPECT_EQ(i, 7);
  EXPECT_EQ(d, absl::Seconds(90));
  EXPECT_EQ(z, 16384u);
  EXPECT_EQ(zi, 100u);
  EXPECT_EQ(a.ToString(), "[::1]:80");
  EXPECT_EQ(e, Color::kGreen);
  EXPECT_THAT(l, ElementsAre("x", "y"));
}

TEST_F(TableReaderTest, AbsentKeysKeepDefaults) {
  const auto& t = Parse("");
  TableReader r(t, errors_, "ctx", {"s", "i", "d"});
  std::string s = "default";
  int i = 42;
  absl::Duration d = absl::Seconds(3);
  EXPECT_FALSE(r.ReadString("s", &s));
  EXPECT_FALSE(r.ReadInt("i", &i, 0, 100));
  EXPECT_FALSE(r.ReadDuration("d", &d, absl::Milliseconds(1), absl::Hours(1)));
  EXPECT_EQ(s, "default");
  EXPECT_EQ(i, 42);
  EXPECT_EQ(d, absl::Seconds(3));
  EXPECT_TRUE(errors_.empty());
}

TEST_F(TableReaderTest, ReportsUnknownKeysWithSuggestions) {
  const auto& t = Parse("[pool]\nname = \"x\"\nblance = \"maglev\"\nzzz = 1\n\"we ird\" = 2\n");
  TableReader r(*t["pool"].as_table(), errors_, "pool \"x\"", {"name", "balance", "hash"});
  EXPECT_THAT(errors_.Messages(),
              ElementsAre("t.toml:3:1: pool \"x\": blance: unknown key; did you mean "
                          "\"balance\"? (allowed: name, balance, hash)",
                          "t.toml:4:1: pool \"x\": zzz: unknown key (allowed: name, balance, hash)",
                          "t.toml:5:1: pool \"x\": \"we ird\": unknown key (allowed: name, "
                          "balance, hash)"));
}

TEST_F(TableReaderTest, ReportsTypeErrorsAtTheValue) {
  const auto& t = Parse(
      "s = 1\nb = \"yes\"\ni = \"7\"\nd = 5\nz = 1.5\na = 80\ne = 3\nl = [\"x\", 2]\nsub = 1\n"
      "arr = {}\ntabs = [1, {}]\n");
  TableReader r(t, errors_, "", {"s", "b", "i", "d", "z", "a", "e", "l", "sub", "arr", "tabs"});
  std::string s;
  bool b;
  int i;
  absl::Duration d;
  uint64_t z;
  net::SocketAddress a;
  Color e;
  std::vector<std::string> l;
  EXPECT_FALSE(r.ReadString("s", &s));
  EXPECT_FALSE(r.ReadBool("b", &b));
  EXPECT_FALSE(r.ReadInt("i", &i, 0, 10));
  EXPECT_FALSE(r.ReadDuration("d", &d, absl::Milliseconds(1), absl::Hours(1)));
  EXPECT_FALSE(r.ReadSize("z", &z, 0, 10));
  EXPECT_FALSE(r.ReadAddress("a", &a));
  EXPECT_FALSE(r.ReadEnum("e", &e, kColors));
  EXPECT_FALSE(r.ReadStringArray("l", &l));
  EXPECT_EQ(r.ReadTable("sub"), nullptr);
  EXPECT_EQ(r.ReadArray("arr"), nullptr);
  auto tables = r.ReadTables("tabs");
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].index, 1u);
  EXPECT_THAT(
      errors_.Messages(),
      ElementsAre(
          "t.toml:1:5: s: expected a string, got integer",
          "t.toml:2:5: b: expected true or false, got string",
          "t.toml:3:5: i: expected an integer, got string",
          "t.toml:4:5: d: expected a duration string with a unit such as \"500ms\", \"2s\" or "
          "\"5m\", got integer",
          "t.toml:5:5: z: expected a size such as \"16KiB\" or a number of bytes, got float",
          "t.toml:6:5: a: expected an address string such as \"127.0.0.1:8080\" or "
          "\"[::1]:8080\", got integer",
          "t.toml:7:5: e: expected a string (red|green), got integer",
          "t.toml:8:11: l[1]: expected a string, got integer",
          "t.toml:9:7: sub: expected a table, got integer",
          "t.toml:10:7: arr: expected an array, got table",
          "t.toml:11:9: tabs[0]: expected a table, got integer"));
}

TEST_F(TableReaderTest, ReportsRangeAndValueErrors) {
  const auto& t = Parse(
      "i = 11\nn = -1\nd = \"2h\"\nd0 = \"0s\"\ndu = \"5\"\nz = \"2MiB\"\nzn = -3\n"
      "a = \"localhost:80\"\ne = \"blue\"\n");
  TableReader r(t, errors_, "x", {"i", "n", "d", "d0", "du", "z", "zn", "a", "e"});
  int i = 1;
  uint32_t n = 1;
  absl::Duration d, d0, du;
  uint64_t z, zn;
  net::SocketAddress a;
  Color e;
  EXPECT_FALSE(r.ReadInt("i", &i, 0, 10));
  EXPECT_FALSE(r.ReadInt("n", &n, 1u));
  EXPECT_FALSE(r.ReadDuration("d", &d, absl::Milliseconds(1), absl::Hours(1)));
  EXPECT_FALSE(r.ReadDuration("d0", &d0, absl::Milliseconds(1), absl::InfiniteDuration()));
  EXPECT_FALSE(r.ReadDuration("du", &du, absl::Milliseconds(1), absl::Hours(1)));
  EXPECT_FALSE(r.ReadSize("z", &z, 1024, 1 << 20));
  EXPECT_FALSE(r.ReadSize("zn", &zn, 0, 1 << 20));
  EXPECT_FALSE(r.ReadAddress("a", &a));
  EXPECT_FALSE(r.ReadEnum("e", &e, kColors));
  EXPECT_EQ(i, 1);
  EXPECT_THAT(
      errors_.Messages(),
      ElementsAre("t.toml:1:5: x: i: must be between 0 and 10, got 11",
                  "t.toml:2:5: x: n: must be between 1 and 4294967295, got -1",
                  "t.toml:3:5: x: d: must be between 1ms and 1h, got \"2h\"",
                  "t.toml:4:6: x: d0: must be greater than 0, got \"0s\"",
                  "t.toml:5:6: x: du: invalid duration \"5\": missing unit (h, m, s, ms), e.g. "
                  "\"500ms\", \"2s\", \"5m\", \"1m30s\"",
                  "t.toml:6:5: x: z: must be between 1KiB and 1MiB, got \"2MiB\"",
                  "t.toml:7:6: x: zn: must not be negative, got -3",
                  "t.toml:8:5: x: a: bad address \"localhost:80\": not an IP address: "
                  "\"localhost\"",
                  "t.toml:9:5: x: e: unknown value \"blue\" (red|green)"));
}

TEST_F(TableReaderTest, RequireAndErrorPointAtTheTableWhenAbsent) {
  const auto& t = Parse("x = 1\n\n[[item]]\nother = 2\n");
  const toml::table& item = *t["item"][0].as_table();
  TableReader r(item, errors_, "item[0]", {"name", "other"}, "sub.");
  EXPECT_FALSE(r.Require("name"));
  EXPECT_TRUE(r.Require("other"));
  r.Error("other", "custom");
  EXPECT_THAT(errors_.Messages(), ElementsAre("t.toml:3:1: item[0]: sub.name: missing required key",
                                              "t.toml:4:9: item[0]: sub.other: custom"));
}

TEST_F(TableReaderTest, EscapesHostileKeysAndValues) {
  const auto& t = Parse("\"a\\nb\" = 1\ne = \"x\\ny\"\n");
  TableReader r(t, errors_, "", {"e"});
  Color e;
  EXPECT_FALSE(r.ReadEnum("e", &e, kColors));
  EXPECT_THAT(errors_.Messages(),
              ElementsAre("t.toml:1:1: \"a\\nb\": unknown key (allowed: e)",
                          "t.toml:2:5: e: unknown value \"x\\ny\" (red|green)"));
}

TEST(TypeName, NamesEveryNodeType) {
  auto t = ParseToml(
      "s='x'\ni=1\nf=1.0\nb=true\nd=1979-05-27\nt=07:32:00\ndt=1979-05-27T07:32:00Z\n"
      "a=[]\n[tab]\n",
      "t.toml");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(TypeName(*t->get("s")), "string");
  EXPECT_EQ(TypeName(*t->get("i")), "integer");
  EXPECT_EQ(TypeName(*t->get("f")), "float");
  EXPECT_EQ(TypeName(*t->get("b")), "boolean");
  EXPECT_EQ(TypeName(*t->get("d")), "date");
  EXPECT_EQ(TypeName(*t->get("t")), "time");
  EXPECT_EQ(TypeName(*t->get("dt")), "date-time");
  EXPECT_EQ(TypeName(*t->get("a")), "array");
  EXPECT_EQ(TypeName(*t->get("tab")), "table");
}

}  // namespace
}  // namespace edge::config
