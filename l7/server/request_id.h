#pragma once
// X-Request-Id: every request that passes gw7 carries one to its backend. A client's (or lb4's, or
// an outer proxy's) id is kept when it is well-formed, so one id follows a request through every
// tier; anything else is replaced, since a backend may log it or put it in a response header.

#include <cstdint>
#include <string>
#include <string_view>

namespace edge::l7 {

// 1 to 200 characters of [A-Za-z0-9._-].
bool IsValidRequestId(std::string_view id);

// gw7's own JSON error body (http::JsonErrorBody) with "request_id" added when there is one, so
// that a client can quote it and the operator find the log line that holds the detail.
std::string ErrorBodyWithRequestId(int status, std::string_view message,
                                   std::string_view request_id);

// Generates 32-hex-digit ids: 64 random bits chosen once per generator (per process), then a
// counter, so ids are unique within the process and across processes with overwhelming odds.
class RequestIdGenerator {
 public:
  RequestIdGenerator();  // seeds from getrandom()
  explicit RequestIdGenerator(uint64_t seed) : prefix_(seed) {}
  std::string Next();
  void AssignNext(std::string* out);  // Next() into *out, reusing its buffer

 private:
  uint64_t prefix_;
  uint64_t counter_ = 0;
};

}  // namespace edge::l7
