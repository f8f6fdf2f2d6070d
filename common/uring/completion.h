#pragma once
// The one user_data scheme of every ring in the project.
//
// An SQE's user_data is a pointer to the IoHandler that owns the operation, with a small
// operation code in its low 4 bits (handlers are 16-byte aligned). user_data 0 marks an
// operation whose completion nobody needs (a fire-and-forget close or cancel): it is skipped.
//
// Ownership rule: a handler must stay alive until every operation it submitted has produced its
// final CQE (one without IORING_CQE_F_MORE). Handlers count their in-flight operations for that.

#include <cstdint>

namespace edge::uring {

class alignas(16) IoHandler {
 public:
  virtual ~IoHandler() = default;
  // Called once per CQE of an operation submitted with UserData(this, op).
  // `res` is the CQE result (negative errno on failure), `flags` the CQE flags.
  virtual void OnCompletion(uint8_t op, int32_t res, uint32_t flags) = 0;
};

inline constexpr uint64_t kOpBits = 4;
inline constexpr uint64_t kOpMask = (1u << kOpBits) - 1;
inline constexpr uint64_t kIgnoredUserData = 0;

inline uint64_t UserData(IoHandler* handler, uint8_t op) {
  return reinterpret_cast<uint64_t>(handler) | (op & kOpMask);
}
inline IoHandler* HandlerOf(uint64_t user_data) {
  return reinterpret_cast<IoHandler*>(user_data & ~kOpMask);
}
inline uint8_t OpOf(uint64_t user_data) { return static_cast<uint8_t>(user_data & kOpMask); }

}  // namespace edge::uring
