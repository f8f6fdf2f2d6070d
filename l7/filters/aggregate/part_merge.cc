#include "l7/filters/aggregate/part_merge.h"

#include <unordered_map>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

// RapidJSON 1.1's member iterators declare == and != as members taking a non-const reference,
// which C++20's reversed operators make ambiguous (fixed upstream after 1.1, not in Debian 12).
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wambiguous-reversed-operator"
#endif

namespace edge::l7 {
namespace {

using rapidjson::Document;
using rapidjson::Value;

std::string Write(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

Value String(std::string_view s, Document::AllocatorType& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// JSON nested deeper than this is refused as not_json: RapidJSON's writer recurses per level,
// and no answer a client page needs is nested this deep.
constexpr int kMaxDepth = 64;

bool NestedTooDeep(std::string_view body) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Parses a part's body into `into` (whose allocator is the answer's); the outcome. The default
// flags refuse anything after the value but blanks; the iterative parser does not recurse.
PartOutcome Parse(const std::string& body, bool want_object, Document* into) {
  if (NestedTooDeep(body)) return PartOutcome::kNotJson;
  into->Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (into->HasParseError()) return PartOutcome::kNotJson;
  if (want_object && !into->IsObject()) return PartOutcome::kNotObject;
  return PartOutcome::kOk;
}

}  // namespace

std::string_view PartOutcomeName(PartOutcome outcome) {
  switch (outcome) {
    case PartOutcome::kOk:
      return "ok";
    case PartOutcome::kError:
      return "error";
    case PartOutcome::kTimeout:
      return "timeout";
    case PartOutcome::kTooLarge:
      return "too_large";
    case PartOutcome::kNotJson:
      return "not_json";
    case PartOutcome::kNotObject:
      return "not_object";
    case PartOutcome::kCancelled:
      return "cancelled";
  }
  return "error";
}

std::string RequiredPartFailureBody(std::string_view part, PartOutcome outcome,
                                    std::string_view request_id) {
  Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("error", "aggregate_part_failed", a);
  d.AddMember("part", String(part, a), a);
  d.AddMember("reason", String(PartOutcomeName(outcome), a), a);
  d.AddMember("message", "a required part of this answer failed", a);
  d.AddMember("request_id", String(request_id, a), a);
  return Write(d);
}

MergedAnswer MergeParts(const AggregateConfig& config, std::vector<PartResult>* results,
                        std::string_view request_id) {
  const bool flat = config.merge == AggregateMerge::kFlat;
  Document answer(rapidjson::kObjectType);
  auto& a = answer.GetAllocator();
  Value errors(rapidjson::kObjectType);
  std::unordered_map<std::string, size_t> flat_index;
  for (size_t i = 0; i < config.parts.size(); ++i) {
    const AggregatePartConfig& part = config.parts[i];
    PartResult& r = (*results)[i];
    Document parsed(&a);
    if (r.outcome == PartOutcome::kOk) r.outcome = Parse(r.body, flat, &parsed);
    if (r.outcome != PartOutcome::kOk) {
      if (part.required) {
        return {502, RequiredPartFailureBody(part.name, r.outcome, request_id)};
      }
      errors.AddMember(String(part.name, a), String(PartOutcomeName(r.outcome), a), a);
      if (!flat) answer.AddMember(String(part.name, a), Value(), a);
      continue;
    }
    if (!flat) {
      Value v;
      v.Swap(parsed);  // both live in the answer's allocator: a move, not a copy
      answer.AddMember(String(part.name, a), v, a);
      continue;
    }
    for (auto& m : parsed.GetObject()) {
      // An index by name: finding each member by a scan would be quadratic in a large part.
      auto [it, added] = flat_index.try_emplace(
          std::string(m.name.GetString(), m.name.GetStringLength()), answer.MemberCount());
      if (added) {
        answer.AddMember(m.name, m.value, a);
      } else {
        (answer.MemberBegin() + it->second)->value = m.value;  // moves: the later part wins
      }
    }
  }
  if (!errors.ObjectEmpty()) {
    auto existing = answer.FindMember("_errors");
    if (existing != answer.MemberEnd()) {
      existing->value = errors;  // a flat part's own "_errors" member gives way to gw7's
    } else {
      answer.AddMember("_errors", errors, a);
    }
  }
  return {200, Write(answer)};
}

}  // namespace edge::l7
