#pragma once
// ExpectStatus: which HTTP status codes make an http health check pass.
//
// One rule for lb4 and gw7. The default is HAProxy's (`option httpchk`): any 2xx or 3xx passes;
// a redirect means the server is up and answering. `expect_status` narrows or widens it with a
// comma-separated list of codes ("200"), classes ("2xx") and ranges ("200-399"), e.g.
// "2xx" or "200,204" or "200-299,302". Every code is 100..599; 1xx never passes (an interim
// answer is skipped, 101 fails the check), whatever the list says.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace edge::health {

class ExpectStatus {
 public:
  // 200-399: HAProxy's rule.
  ExpectStatus() : ranges_{{200, 399}} {}

  // Parses "2xx", "200-399", "200,204,3xx" (spaces around items allowed). Refuses an empty list,
  // an item that is none of the three forms, a code outside 100..599, a range whose low end is
  // above its high end, and a list that matches no final (>= 200) status.
  static absl::StatusOr<ExpectStatus> Parse(std::string_view text);

  bool Matches(int status) const;
  // The canonical text: "200-399", "200,204", "200-299,302".
  std::string ToString() const;

 private:
  struct Range {
    int low;
    int high;
  };
  explicit ExpectStatus(std::vector<Range> ranges) : ranges_(std::move(ranges)) {}
  std::vector<Range> ranges_;
};

}  // namespace edge::health
