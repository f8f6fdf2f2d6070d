#include "l7/server/request_id.h"

#include <sys/random.h>

#include <chrono>

#include "common/http/response_writer.h"

namespace edge::l7 {

std::string ErrorBodyWithRequestId(int status, std::string_view message,
                                   std::string_view request_id) {
  std::string out = http::JsonErrorBody(status, message);
  constexpr std::string_view kEnd = "}}\n";
  if (request_id.empty() || out.size() < kEnd.size() ||
      std::string_view(out).substr(out.size() - kEnd.size()) != kEnd) {
    return out;
  }
  // IsValidRequestId allows only [A-Za-z0-9._-]: nothing to escape.
  std::string field = R"(,"request_id":")";
  field.append(request_id);
  field.push_back('"');
  out.insert(out.size() - kEnd.size(), field);
  return out;
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

RequestIdGenerator::RequestIdGenerator() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
    // No entropy source: the clock still makes two processes' prefixes differ in practice.
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  prefix_ = seed;
}

std::string RequestIdGenerator::Next() {
  std::string id;
  AssignNext(&id);
  return id;
}

void RequestIdGenerator::AssignNext(std::string* out) {
  // Hex by hand: this runs for every request.
  char text[32];
  const uint64_t halves[2] = {prefix_, ++counter_};
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 16; ++i) {
      text[h * 16 + i] = "0123456789abcdef"[(halves[h] >> (60 - 4 * i)) & 0xf];
    }
  }
  out->assign(text, sizeof(text));
}

}  // namespace edge::l7
