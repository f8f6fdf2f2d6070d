#include "l7/observe/traceparent.h"

#include <sys/random.h>

#include <cstring>

namespace edge::l7 {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr size_t kVersion00Length = 55;

int LowerHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads 2*N lower-case hex digits into out; false on any other character.
template <size_t N>
bool ReadHex(std::string_view s, std::array<uint8_t, N>* out) {
  for (size_t i = 0; i < N; ++i) {
    int hi = LowerHexValue(s[2 * i]);
    int lo = LowerHexValue(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& a) {
  for (uint8_t b : a) {
    if (b != 0) return false;
  }
  return true;
}

template <size_t N>
char* WriteHex(char* out, const std::array<uint8_t, N>& a) {
  for (uint8_t b : a) {
    *out++ = kHex[b >> 4];
    *out++ = kHex[b & 0xF];
  }
  return out;
}

template <size_t N>
void AppendHex(std::string* out, const std::array<uint8_t, N>& a) {
  const size_t at = out->size();
  out->resize(at + 2 * N);
  WriteHex(out->data() + at, a);
}

// xoshiro256** seeded once per thread from the kernel: ids must be unpredictable enough not to
// collide across gw7 processes, and cheap enough for every request.
class IdGenerator {
 public:
  IdGenerator() {
    size_t got = 0;
    auto* bytes = reinterpret_cast<uint8_t*>(s_);
    while (got < sizeof s_) {
      ssize_t n = getrandom(bytes + got, sizeof s_ - got, 0);
      if (n > 0) got += static_cast<size_t>(n);
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

IdGenerator& Generator() {
  thread_local IdGenerator generator;
  return generator;
}

}  // namespace

std::string TraceContext::Format() const {
  std::string out;
  FormatTo(&out);
  return out;
}

void TraceContext::FormatTo(std::string* out) const {
  out->resize(kVersion00Length);  // keeps the capacity of a string used before
  char* p = out->data();
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  p = WriteHex(p, trace_id);
  *p++ = '-';
  p = WriteHex(p, parent_id);
  *p++ = '-';
  *p++ = kHex[flags >> 4];
  *p = kHex[flags & 0xF];
}

std::string TraceContext::TraceIdHex() const {
  std::string out;
  AppendHex(&out, trace_id);
  return out;
}

std::string TraceContext::ParentIdHex() const {
  std::string out;
  AppendHex(&out, parent_id);
  return out;
}

uint64_t TraceContext::TraceKey() const {
  uint64_t key = 0;
  for (size_t i = 0; i < 8; ++i) key = key << 8 | trace_id[i];
  return key;
}

std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  if (value.size() < kVersion00Length) return std::nullopt;
  std::array<uint8_t, 1> version;
  if (!ReadHex(value.substr(0, 2), &version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00 && value.size() != kVersion00Length) return std::nullopt;
  if (value.size() > kVersion00Length && value[kVersion00Length] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  TraceContext c;
  std::array<uint8_t, 1> flags;
  if (!ReadHex(value.substr(3, 32), &c.trace_id) || !ReadHex(value.substr(36, 16), &c.parent_id) ||
      !ReadHex(value.substr(53, 2), &flags)) {
    return std::nullopt;
  }
  if (AllZero(c.trace_id) || AllZero(c.parent_id)) return std::nullopt;
  c.flags = flags[0] & TraceContext::kSampled;
  return c;
}

std::array<uint8_t, 16> NewTraceId() {
  std::array<uint8_t, 16> id;
  do {
    const uint64_t a = Generator().Next(), b = Generator().Next();
    std::memcpy(id.data(), &a, 8);
    std::memcpy(id.data() + 8, &b, 8);
  } while (AllZero(id));
  return id;
}

std::array<uint8_t, 8> NewSpanId() {
  std::array<uint8_t, 8> id;
  do {
    const uint64_t a = Generator().Next();
    std::memcpy(id.data(), &a, 8);
  } while (AllZero(id));
  return id;
}

TraceDecision DecideTrace(std::span<const std::string_view> fields, bool sample_new) {
  TraceDecision d;
  if (fields.size() == 1) d.incoming = ParseTraceparent(fields[0]);
  d.invalid = !fields.empty() && !d.incoming;
  if (d.incoming) {
    d.outgoing.trace_id = d.incoming->trace_id;
    d.outgoing.flags = d.incoming->flags;
  } else {
    d.outgoing.trace_id = NewTraceId();
    d.outgoing.flags = sample_new ? TraceContext::kSampled : 0;
  }
  d.outgoing.parent_id = NewSpanId();
  return d;
}

}  // namespace edge::l7
