// Fuzz target: what the access log does with client bytes, and what `gw7 report` reads back.
// Any input must never crash and must keep these promises, checked here:
// - QueryRedactor::Redact is idempotent, and every "api_key=" parameter it leaves has the value
//   REDACTED or an empty one (matching by the exact name, the simplest spelling);
// - FormatAccessRecord gives one line (no raw byte below 0x20) that ParseLogRow reads back, with
//   the consumer and route it was given when those are valid UTF-8 (invalid bytes become U+FFFD);
// - ParseLogRow on the raw input: parses or refuses.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log/json_line.h"
#include "l7/observe/access_log.h"
#include "l7/report/access_log_scanner.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

const edge::l7::QueryRedactor& Redactor() {
  static const edge::l7::QueryRedactor r({"api_key", "token"});
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string once = Redactor().Redact(input);
  Check(Redactor().Redact(once) == once);
  const size_t q = once.find('?');
  if (q != std::string::npos) {
    for (size_t at = once.find("api_key=", q); at != std::string::npos;
         at = once.find("api_key=", at + 1)) {
      const bool starts_param = once[at - 1] == '?' || once[at - 1] == '&' || once[at - 1] == ';';
      if (!starts_param) continue;
      const std::string_view value = std::string_view(once).substr(at + 8);
      Check(value.empty() || value[0] == '&' || value[0] == ';' || value[0] == '?' ||
            value.starts_with(edge::l7::QueryRedactor::kReplacement));
    }
  }

  const size_t half = size / 2;
  edge::l7::AccessRecord r;
  r.start_unix_ns = 1796230964123456789;
  r.method = "GET";
  r.target = input;
  r.consumer = input.substr(0, half);
  r.route = input.substr(half);
  r.user_agent = input;
  r.status = 200;
  const std::string line = edge::l7::FormatAccessRecord(r, Redactor());
  for (char c : line) Check(static_cast<unsigned char>(c) >= 0x20);
  edge::l7::report::LogRow row;
  std::string scratch;
  Check(edge::l7::report::ParseLogRow(line, &row, &scratch));
  std::string consumer, route;  // what the formatter wrote, decoded
  edge::log::AppendJsonEscaped(&consumer, r.consumer);
  edge::log::AppendJsonEscaped(&route, r.route);
  if (consumer.find("\\u") == std::string::npos && consumer.find('\\') == std::string::npos) {
    Check(row.consumer == r.consumer);
  }
  if (route.find('\\') == std::string::npos) Check(row.route == r.route);
  Check(row.time_us == 1796230964123456);

  edge::l7::report::ParseLogRow(input, &row, &scratch);
  return 0;
}
