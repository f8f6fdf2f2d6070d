#include "l7/router/path_normalizer.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace edge::l7 {
namespace {

// "=<path>" for a normalised path, else the refusal kind.
std::string Normalize(std::string_view path, const PathNormalization& options = {}) {
  std::string buffer;
  std::string_view out;
  const PathRefusal r = NormalizePath(path, options, &buffer, &out);
  if (r != PathRefusal::kNone) return std::string(RefusalKind(r));
  std::string result = "=";
  result.append(out);
  return result;
}

PathNormalization Keep() {
  PathNormalization o;
  o.escaped_slashes = EscapedSlashes::kKeep;
  return o;
}
PathNormalization NoMerge() {
  PathNormalization o;
  o.merge_slashes = false;
  return o;
}
PathNormalization Strip() {
  PathNormalization o;
  o.path_parameters = PathParameters::kStrip;
  return o;
}

struct Case {
  std::string_view in;
  std::string_view want;
};

void Check(const Case* cases, size_t n, const PathNormalization& options) {
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(Normalize(cases[i].in, options), cases[i].want) << "input: " << cases[i].in;
  }
}

TEST(PathNormalizer, DefaultOptionsTable) {
  static const Case kCases[] = {
      // Unchanged.
      {"/", "=/"},
      {"", "="},
      {"/a/b/c", "=/a/b/c"},
      {"/a/b/", "=/a/b/"},
      {"/.well-known/x", "=/.well-known/x"},
      {"/a..b/...", "=/a..b/..."},
      {"/a.", "=/a."},
      {"/~user/x-y_z", "=/~user/x-y_z"},
      {"/a:b@c!$&'()*+,=", "=/a:b@c!$&'()*+,="},
      {"/CaSe/Kept", "=/CaSe/Kept"},
      // Unreserved escapes are decoded, in any hex case.
      {"/%63atalog", "=/catalog"},
      {"/%7E", "=/~"},
      {"/%7e%41%5a%30%2D%5F", "=/~AZ0-_"},
      {"/a%2eb", "=/a.b"},
      {"/%2e%2e%2e", "=/..."},
      // Other escapes are kept, hex upper-cased.
      {"/a%3ab", "=/a%3Ab"},
      {"/a%3Ab", "=/a%3Ab"},
      {"/%c3%a9", "=/%C3%A9"},
      {"/%20", "=/%20"},
      {"/%ff%fe", "=/%FF%FE"},
      {"/%C0%AF", "=/%C0%AF"},                              // overlong '/' in UTF-8: never decoded
      {"/%E0%80%AE%E0%80%AE/x", "=/%E0%80%AE%E0%80%AE/x"},  // overlong '.'
      {"/%25", "=/%25"},
      // Double encoding: decoded once at most, never twice.
      {"/%252F", "=/%252F"},
      {"/%252f", "=/%252f"},
      {"/%252e%252e/admin", "=/%252e%252e/admin"},
      {"/%25%32%46", "=/%252F"},  // "%25" stays, "%32" "%46" are digits/letters
      // Malformed escapes, NUL.
      {"/%", "bad_path"},
      {"/%4", "bad_path"},
      {"/%zz", "bad_path"},
      {"/%4g", "bad_path"},
      {"/a%", "bad_path"},
      {"/%00", "bad_path"},
      {"/%%30", "bad_path"},
      // Bytes the parser refuses, refused again.
      {std::string_view("/a\0b", 4), "bad_path"},
      {"/a b", "bad_path"},
      {"/a#b", "bad_path"},
      {"/a?b", "bad_path"},
      {"/a\tb", "bad_path"},
      {"/a\x7f", "bad_path"},
      {"/\xc0\xaf", "bad_path"},
      {"/\xe2\x80\xae", "bad_path"},
      {"/\xff", "bad_path"},
      {"/a|b", "bad_path"},
      {"/a\"b", "bad_path"},
      {"/{x}", "bad_path"},
      {"a/b", "bad_path"},
      {"*", "bad_path"},
      // Encoded slash or backslash, in every position.
      {"/%2F", "escaped_slash"},
      {"/%2f", "escaped_slash"},
      {"%2F", "bad_path"},  // not starting with '/'
      {"/a%2Fb", "escaped_slash"},
      {"/a/b%2F", "escaped_slash"},
      {"/%2Fa", "escaped_slash"},
      {"/public/..%2Fadmin", "escaped_slash"},
      {"/a%5Cb", "escaped_slash"},
      {"/a%5c", "escaped_slash"},
      // Literal backslash.
      {"/a\\b", "backslash"},
      {"/\\admin", "backslash"},
      // Slashes merged.
      {"//", "=/"},
      {"///", "=/"},
      {"////////", "=/"},
      {"//a///b", "=/a/b"},
      {"/a//", "=/a/"},
      {"/a/b//", "=/a/b/"},
      {"//admin", "=/admin"},
      // Dot segments, literal or encoded.
      {"/.", "dot_segment"},
      {"/..", "dot_segment"},
      {"/./a", "dot_segment"},
      {"/a/../b", "dot_segment"},
      {"/a/..", "dot_segment"},
      {"/a/./", "dot_segment"},
      {"/%2e", "dot_segment"},
      {"/%2E", "dot_segment"},
      {"/%2e%2E/x", "dot_segment"},
      {"/%2E%2e", "dot_segment"},
      {"/.%2e/x", "dot_segment"},
      {"/%2e./x", "dot_segment"},
      {"//..//x", "dot_segment"},
      // Path parameters refused by default, literal or encoded.
      {"/admin;x/", "path_parameter"},
      {"/a;", "path_parameter"},
      {"/;", "path_parameter"},
      {"/..;/admin", "path_parameter"},
      {"/a%3Bb", "path_parameter"},
      {"/a%3bb", "path_parameter"},
  };
  Check(kCases, std::size(kCases), {});
}

TEST(PathNormalizer, KeepEscapedSlashes) {
  static const Case kCases[] = {
      {"/a%2fb", "=/a%2Fb"},
      {"/a%2Fb", "=/a%2Fb"},
      {"/%2F", "=/%2F"},
      {"/a%5cb", "=/a%5Cb"},
      {"/public/..%2Fadmin", "=/public/..%2Fadmin"},  // one segment, not a dot segment
      {"/%2e%2e%2fadmin", "=/..%2Fadmin"},
      {"/%252F", "=/%252F"},
      {"/a\\b", "backslash"},  // a literal backslash is refused whatever the option
      {"/a/%2e%2e", "dot_segment"},
  };
  Check(kCases, std::size(kCases), Keep());
}

TEST(PathNormalizer, NoMergeKeepsRepeatedSlashes) {
  static const Case kCases[] = {
      {"//a///b", "=//a///b"},
      {"/a//", "=/a//"},
      {"//", "=//"},
      {"/", "=/"},
      {"//%61", "=//a"},
      {"//../x", "dot_segment"},
      {"/a/%2e/", "dot_segment"},
  };
  Check(kCases, std::size(kCases), NoMerge());
}

TEST(PathNormalizer, StripPathParameters) {
  static const Case kCases[] = {
      {"/admin;x/", "=/admin/"},
      {"/admin;jsessionid=1", "=/admin"},
      {"/a;x/b;y=1,2/c", "=/a/b/c"},
      {"/;x/admin", "=/admin"},  // the segment is empty after stripping: merged
      {"/;x", "=/"},
      {"/a/;x", "=/a/"},
      {"/a;", "=/a"},
      {"/..;/admin", "dot_segment"},  // Tomcat reads "/..;/" as "/../"
      {"/.;x/a", "dot_segment"},
      {"/%2e%2e;x/a", "dot_segment"},
      {"/a%3Bx/b", "path_parameter"},  // encoded ';' is never decoded: still refused
      {"/a;b%2Fc", "escaped_slash"},
      {"/a;%zz", "bad_path"},
  };
  Check(kCases, std::size(kCases), Strip());
  PathNormalization strip_no_merge = Strip();
  strip_no_merge.merge_slashes = false;
  EXPECT_EQ(Normalize("/;x/admin", strip_no_merge), "=//admin");
}

TEST(PathNormalizer, UnchangedPathIsAViewOfTheInput) {
  std::string buffer;
  std::string_view out;
  const std::string path = "/v1/users/12345/orders";
  ASSERT_EQ(NormalizePath(path, {}, &buffer, &out), PathRefusal::kNone);
  EXPECT_EQ(out.data(), path.data());  // no copy
  EXPECT_TRUE(buffer.empty());
  ASSERT_EQ(NormalizePath("/%61//b", {}, &buffer, &out), PathRefusal::kNone);
  EXPECT_EQ(out, "/a/b");
  EXPECT_EQ(out.data(), buffer.data());
}

TEST(PathNormalizer, Idempotent) {
  for (std::string_view p : {"/%63atalog//x/", "/a%3ab", "/%c3%a9/%7e", "//", "/a;b/c"}) {
    for (const PathNormalization& o : {PathNormalization{}, Keep(), NoMerge(), Strip()}) {
      std::string b1;
      std::string b2;
      std::string_view once;
      std::string_view twice;
      if (NormalizePath(p, o, &b1, &once) != PathRefusal::kNone) continue;
      ASSERT_EQ(NormalizePath(once, o, &b2, &twice), PathRefusal::kNone) << p;
      EXPECT_EQ(once, twice) << p;
    }
  }
}

TEST(PathNormalizer, VeryLongPaths) {
  const std::string plain = "/" + std::string(100000, 'a');
  EXPECT_EQ(Normalize(plain), "=" + plain);
  std::string encoded = "/";
  for (int i = 0; i < 20000; ++i) encoded += "%61";
  EXPECT_EQ(Normalize(encoded), "=/" + std::string(20000, 'a'));
  std::string segments;
  for (int i = 0; i < 20000; ++i) segments += "//x";
  std::string want;
  for (int i = 0; i < 20000; ++i) want += "/x";
  EXPECT_EQ(Normalize(segments), "=" + want);
  EXPECT_EQ(Normalize(std::string(100000, '/')), "=/");
  EXPECT_EQ(Normalize(std::string(100000, '/'), NoMerge()), "=" + std::string(100000, '/'));
  EXPECT_EQ(Normalize(plain + "/.."), "dot_segment");
  EXPECT_EQ(Normalize(plain + "%"), "bad_path");
}

TEST(PathNormalizer, EveryEscapeIsDecodedOrKeptUpperCase) {
  // All 256 escapes in both hex cases: unreserved decoded, NUL refused, '/' '\' escaped_slash,
  // ';' path_parameter, the rest kept upper case.
  static constexpr char kHex[] = "0123456789abcdef";
  for (int v = 0; v < 256; ++v) {
    const char c = static_cast<char>(v);
    const std::string lower = std::string("/x%") + kHex[v >> 4] + kHex[v & 15];
    std::string upper = lower;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    upper[1] = 'x';
    std::string want;
    if (v == 0) {
      want = "bad_path";
    } else if (c == '/' || c == '\\') {
      want = "escaped_slash";
    } else if (c == ';') {
      want = "path_parameter";
    } else if (std::isalnum(v) || c == '-' || c == '.' || c == '_' || c == '~') {
      want = std::string("=/x") + c;
    } else {
      want = "=" + upper;
    }
    EXPECT_EQ(Normalize(lower), want) << lower;
    EXPECT_EQ(Normalize(upper), want) << upper;
  }
}

TEST(PathNormalizer, KindsAndMessages) {
  for (PathRefusal r : {PathRefusal::kBadPath, PathRefusal::kEscapedSlash, PathRefusal::kBackslash,
                        PathRefusal::kDotSegment, PathRefusal::kPathParameter}) {
    EXPECT_FALSE(RefusalKind(r).empty());
    EXPECT_FALSE(RefusalMessage(r).empty());
  }
  EXPECT_TRUE(RefusalKind(PathRefusal::kNone).empty());
}

}  // namespace
}  // namespace edge::l7
