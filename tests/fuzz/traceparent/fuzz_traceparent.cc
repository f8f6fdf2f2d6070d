// Fuzz target: the W3C traceparent parser and the keep-or-create decision. Any input must parse
// or be refused: no crash. A parsed value must keep ParseTraceparent's promises, checked here:
// non-zero ids, only the sampled flag, and a formatted copy that parses to the same context.
// The input split at '\n' is also handed to DecideTrace as a request's fields.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "l7/observe/traceparent.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto c = edge::l7::ParseTraceparent(input)) {
    Check((c->flags & ~edge::l7::TraceContext::kSampled) == 0);
    const std::string formatted = c->Format();
    Check(formatted.size() == 55);
    auto again = edge::l7::ParseTraceparent(formatted);
    Check(again && again->trace_id == c->trace_id && again->parent_id == c->parent_id &&
          again->flags == c->flags);
    // A version-00 input formats back to itself, but for flag bits gw7 clears.
    if (input.starts_with("00")) {
      Check(formatted.substr(0, 53) == input.substr(0, 53));
      const std::string_view flags = input.substr(53);
      if (flags == "00" || flags == "01") Check(formatted == input);
    }
  }
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (start <= input.size() && fields.size() < 8) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    fields.push_back(input.substr(start, nl - start));
    start = nl + 1;
  }
  edge::l7::TraceDecision d = edge::l7::DecideTrace(fields, size % 2 == 0);
  Check(edge::l7::ParseTraceparent(d.outgoing.Format()).has_value());
  Check(d.invalid == !d.incoming.has_value());
  if (d.incoming) Check(d.outgoing.trace_id == d.incoming->trace_id);
  return 0;
}
