#pragma once
// The answer of an aggregation, built from its parts' outcomes with RapidJSON.
//
//   keys: {"product": <product's body>, "reviews": <reviews' body>}
//   flat: the members of every part's object in one object, parts in configured order, a later
//         part's member replacing an earlier one of the same name; a part whose body is not an
//         object fails as "not_object".
// A failed optional part is null under its name (keys) or contributes nothing (flat), and the
// answer gets "_errors": {"<part>": "<outcome>"}. A failed required part makes the whole answer a
// 502 whose body names the part and the outcome only (no server, upstream address or detail: those
// are in gw7's log under the request id).

#include <string>
#include <string_view>
#include <vector>

#include "l7/filters/aggregate/aggregate_config.h"

namespace edge::l7 {

// How a part ended. The names are the metric's outcome label and the "_errors" values.
enum class PartOutcome {
  kOk,
  kError,      // no answer: connect failure, no server, a broken response, a non-2xx status
  kTimeout,    // its own timeout or the aggregation's deadline
  kTooLarge,   // body over max_part_bytes
  kNotJson,    // the body does not parse as JSON
  kNotObject,  // flat merge: the JSON is not an object
  kCancelled,  // not waited for: a required part failed first, or the client went away
};
inline constexpr size_t kPartOutcomeCount = 7;
std::string_view PartOutcomeName(PartOutcome outcome);

struct PartResult {
  PartOutcome outcome = PartOutcome::kError;
  std::string body;  // the part's body when kOk (parsed again by MergeParts)
};

struct MergedAnswer {
  int status = 200;
  std::string body;  // JSON, ending in '\n'
};

// `results` are in the order of `config.parts`; the first failed required part (in that order)
// makes the 502. A kOk result whose body is not JSON (or, for
// flat, not an object) is judged here: it becomes kNotJson / kNotObject in *results, so the caller
// counts what the client saw.
MergedAnswer MergeParts(const AggregateConfig& config, std::vector<PartResult>* results,
                        std::string_view request_id);

// The 502 body for a failed required part.
std::string RequiredPartFailureBody(std::string_view part, PartOutcome outcome,
                                    std::string_view request_id);

}  // namespace edge::l7
