#pragma once
// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
// kept when a client sends a valid one, created when it is absent or invalid, passed to the
// upstream with gw7's own span as the parent, and logged.
//
//   00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//   version-trace_id(32 hex)-parent_id(16 hex)-flags(2 hex)
//
// Parsing follows the spec strictly (everything else is "invalid", and a fresh trace starts):
// - lower-case hex only ("4BF9..." is invalid); the version "ff" is invalid;
// - an all-zero trace id or parent id is invalid;
// - version 00: exactly 55 characters;
// - a higher version (01..fe): at least 55 characters, the first 55 read as version 00, and what
//   follows must begin with '-' (fields a later version adds are ignored). What gw7 sends on is
//   always version 00, as the spec requires of a participant that changes the header.
// - more than one traceparent field in a request is invalid (the header is not a list).
// Flags: gw7 keeps only `sampled` (bit 0), the one flag version 00 defines; others are cleared.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace edge::l7 {

struct TraceContext {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> parent_id{};  // the span of whoever sent the header
  uint8_t flags = 0;

  static constexpr uint8_t kSampled = 0x01;
  bool sampled() const { return (flags & kSampled) != 0; }
  // "00-<trace>-<parent>-<flags>", 55 characters.
  std::string Format() const;
  // The same into *out, replacing what it held and reusing its capacity (the request path keeps
  // one string per stream).
  void FormatTo(std::string* out) const;
  // Where the ids sit in Format()'s text.
  static constexpr size_t kTraceIdAt = 3, kTraceIdLength = 32;
  static constexpr size_t kParentIdAt = 36, kParentIdLength = 16;
  std::string TraceIdHex() const;   // 32 lower-case hex digits
  std::string ParentIdHex() const;  // 16
  // The trace id's first 8 bytes as a number: a uniformly random key for sampling decisions.
  uint64_t TraceKey() const;
};

// One traceparent value; nullopt when invalid by the rules above.
std::optional<TraceContext> ParseTraceparent(std::string_view value);

// The random source for new ids: a per-thread generator seeded from getrandom(2).
// Never returns all-zero ids.
std::array<uint8_t, 16> NewTraceId();
std::array<uint8_t, 8> NewSpanId();

// What gw7 does with a request's traceparent fields (all of them, in order; normally 0 or 1):
// `incoming` is the client's context when there was exactly one valid field; `outgoing` is sent
// to the upstream: the same trace and flags with gw7's new span as the parent, or a new trace
// (flags: `sample_new` decides sampled) when the client's was absent or invalid.
struct TraceDecision {
  std::optional<TraceContext> incoming;
  TraceContext outgoing;
  bool invalid = false;  // fields were present but not exactly one valid one
};
TraceDecision DecideTrace(std::span<const std::string_view> fields, bool sample_new);

}  // namespace edge::l7
