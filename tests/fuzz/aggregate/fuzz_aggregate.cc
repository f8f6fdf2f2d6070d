// Fuzz target: gw7's aggregation code on hostile text. The input is split at its first two
// newlines into a part template (a config's `path`), a value (the route capture "id", as a client
// sends it) and a query plus part body (the client's query, and an upstream's body).
// No crash; a filled target never holds a byte that could leave its placeholder (space, CR, LF,
// '#', a second '?') nor a dot-segment; a merged answer is JSON (it parses again), and a part
// judged ok is valid JSON.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "l7/filters/aggregate/part_merge.h"
#include "l7/filters/aggregate/part_template.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Visible(std::string_view s) {
  for (char c : s) {
    if (c <= ' ' || c >= 0x7f || c == '#') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edge::l7;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t a = input.find('\n');
  const std::string_view tmpl = input.substr(0, a);
  std::string_view rest = a == std::string_view::npos ? std::string_view() : input.substr(a + 1);
  const size_t b = rest.find('\n');
  const std::string_view value = rest.substr(0, b);
  const std::string_view tail =
      b == std::string_view::npos ? std::string_view() : rest.substr(b + 1);

  if (auto t = ParsePartTemplate(tmpl, {"id"}); t.ok()) {
    if (auto target = FillPartTemplate(*t, {{"id", std::string(value)}}, tail); target.ok()) {
      Check(Visible(target->path) && Visible(target->query));
      Check(target->path.starts_with("/"));
      Check(target->path.find('?') == std::string::npos);
      Check(target->query.find('?') == std::string::npos);
      Check(target->path.find("/../") == std::string::npos && !target->path.ends_with("/.."));
    }
  }

  for (AggregateMerge merge : {AggregateMerge::kKeys, AggregateMerge::kFlat}) {
    AggregateConfig config;
    config.merge = merge;
    config.parts.resize(2);
    config.parts[0].name = "a";
    config.parts[1].name = "b";
    config.parts[1].required = false;
    std::vector<PartResult> results = {{PartOutcome::kOk, std::string(tail)},
                                       {PartOutcome::kOk, std::string(value)}};
    const MergedAnswer m = MergeParts(config, &results, "id");
    Check(m.status == 200 || m.status == 502);
    Check(!m.body.empty() && m.body.back() == '\n');
    // The answer is JSON: an ok part merged into it again must stay ok.
    std::vector<PartResult> again = {{PartOutcome::kOk, m.body}, {PartOutcome::kOk, "{}"}};
    MergeParts(config, &again, "id");
    Check(again[0].outcome == PartOutcome::kOk);
  }
  return 0;
}
