#pragma once
// StringPool: the loop's spare byte buffers (std::string storage), lent to connections while
// they have bytes to hold and given back when they go idle, so that an idle keep-alive connection
// holds none (client_connection.h) and a busy one allocates none in steady state. Single thread
// (the loop's); bounded: at most kMaxFree buffers of at most kMaxCapacity bytes are kept.

#include <cstddef>
#include <string>
#include <vector>

namespace edge::uring {

class StringPool {
 public:
  static constexpr size_t kMaxFree = 4096;
  static constexpr size_t kMaxCapacity = 16 * 1024;

  // Gives `s` a spare buffer if it has no storage of its own yet (its bytes are kept).
  void Lend(std::string* s) {
    if (s->capacity() > kInline || free_.empty()) return;
    free_.back().assign(*s);
    s->swap(free_.back());
    free_.pop_back();
  }
  // Takes `s`'s storage back (or frees it when the pool is full or it is large); `s` is left
  // empty, without storage. Its bytes are dropped.
  void Return(std::string* s) {
    s->clear();
    if (s->capacity() <= kInline) return;
    if (s->capacity() <= kMaxCapacity && free_.size() < kMaxFree) {
      free_.emplace_back().swap(*s);
    } else {
      std::string().swap(*s);
    }
  }
  size_t free_count() const { return free_.size(); }

 private:
  static constexpr size_t kInline = 15;  // libstdc++'s in-object (SSO) bytes: no storage
  std::vector<std::string> free_;
};

}  // namespace edge::uring
