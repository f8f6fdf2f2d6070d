#include "l7/filters/transform/accept_encoding.h"

#include "common/http/message.h"
#include "l7/filters/transform/field_list.h"

namespace edge::l7 {
namespace {}  // namespace

int ParseQValue(std::string_view text) {
  if (text.empty() || text.size() > 5) return -1;
  if (text[0] != '0' && text[0] != '1') return -1;
  const int whole = text[0] - '0';
  if (text.size() == 1) return whole * 1000;
  if (text[1] != '.' || text.size() > 5) return -1;
  int value = whole * 1000;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return -1;
    if (whole == 1 && c != '0') return -1;
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value;
}

ContentCoding ChooseContentCoding(std::string_view accept_encoding, bool offer_brotli) {
  int gzip = -1;  // -1: not named
  int br = -1;
  int star = -1;
  for (std::string_view element : SplitList(accept_encoding, ',')) {
    element = TrimOws(element);
    if (element.empty()) continue;
    std::string_view name = element;
    int q = 1000;
    bool valid = true;
    if (size_t semi = element.find(';'); semi != std::string_view::npos) {
      name = TrimOws(element.substr(0, semi));
      for (std::string_view param : SplitList(element.substr(semi + 1), ';')) {
        param = TrimOws(param);
        const size_t eq = param.find('=');
        if (eq == std::string_view::npos) {
          valid = false;
          break;
        }
        const std::string_view key = TrimOws(param.substr(0, eq));
        if (!http::EqualsIgnoreCase(key, "q")) continue;  // unknown parameters are ignored
        q = ParseQValue(TrimOws(param.substr(eq + 1)));
        if (q < 0) valid = false;
      }
    }
    if (!valid) continue;
    if (http::EqualsIgnoreCase(name, "gzip") || http::EqualsIgnoreCase(name, "x-gzip")) {
      gzip = std::max(gzip, q);
    } else if (http::EqualsIgnoreCase(name, "br")) {
      br = std::max(br, q);
    } else if (name == "*") {
      star = std::max(star, q);
    }
  }
  if (gzip < 0) gzip = star;
  if (br < 0) br = star;
  if (!offer_brotli) br = -1;
  if (br > 0 && br >= gzip) return ContentCoding::kBrotli;
  if (gzip > 0) return ContentCoding::kGzip;
  return ContentCoding::kIdentity;
}

}  // namespace edge::l7
