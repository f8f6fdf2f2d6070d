#include "common/config/named_tables.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::config {
namespace {

std::vector<std::string> Contexts(std::string_view text, ConfigErrors& errors, bool* is_array) {
  auto document = ParseToml(text, "f.toml");
  EXPECT_TRUE(document.ok()) << document.status();
  std::vector<std::string> seen;
  *is_array = ForEachNamedTable(
      *document, "auth", errors,
      [&](const toml::table&, const std::string& context) { seen.push_back(context); });
  return seen;
}

TEST(NamedTables, NamesTablesByNameOnceValidElseByIndex) {
  ConfigErrors errors("f.toml");
  bool is_array = false;
  auto seen =
      Contexts("[[auth]]\nname = \"keys\"\n[[auth]]\nname = \"bad name!\"\n[[auth]]\ntype = 1\n",
               errors, &is_array);
  EXPECT_TRUE(is_array);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"auth \"keys\"", "auth[1]", "auth[2]"}));
}

TEST(NamedTables, AbsentIsFineNotAnArrayOrNotATableIsAnError) {
  ConfigErrors absent("f.toml");
  bool is_array = false;
  EXPECT_TRUE(Contexts("[other]\n", absent, &is_array).empty());
  EXPECT_TRUE(is_array);
  EXPECT_TRUE(absent.empty());

  ConfigErrors scalar("f.toml");
  EXPECT_TRUE(Contexts("auth = 3\n", scalar, &is_array).empty());
  EXPECT_FALSE(is_array);
  EXPECT_EQ(std::string(scalar.ToStatus().message()),
            "f.toml:1:8: auth: must be an array of tables ([[auth]])");

  ConfigErrors mixed("f.toml");
  auto seen = Contexts("auth = [1, { name = \"a\" }]\n", mixed, &is_array);
  EXPECT_TRUE(is_array);
  EXPECT_EQ(seen, (std::vector<std::string>{"auth \"a\""}));
  EXPECT_EQ(mixed.count(), 1u);
  EXPECT_NE(std::string(mixed.ToStatus().message()).find("auth[0]: must be a table"),
            std::string::npos);
}

TEST(NamedTables, ValidNames) {
  EXPECT_TRUE(IsValidName("jwt-main_2.v1"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("a b"));
  EXPECT_FALSE(IsValidName("ä"));
  EXPECT_TRUE(IsValidName(std::string(kMaxNameLength, 'a')));
  EXPECT_FALSE(IsValidName(std::string(kMaxNameLength + 1, 'a')));
}

}  // namespace
}  // namespace edge::config
