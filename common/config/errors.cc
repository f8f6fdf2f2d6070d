#include "common/config/errors.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace edge::config {
namespace {

constexpr size_t kMaxQuoted = 64;

void AppendEscaped(std::string& out, char c) {
  const auto byte = static_cast<unsigned char>(c);
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (byte < 0x20 || byte == 0x7f) {
    out += absl::StrFormat("\\x%02x", byte);
  } else {
    out += c;
  }
}

}  // namespace

std::string Quote(std::string_view text) {
  std::string out = "\"";
  const size_t shown = std::min(text.size(), kMaxQuoted);
  for (size_t i = 0; i < shown; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') out += '\\';
    AppendEscaped(out, c);
  }
  out += '"';
  if (shown < text.size()) out += "...";
  return out;
}

std::string FormatConfigError(std::string_view source, const toml::source_position& where,
                              std::string_view context, std::string_view key,
                              std::string_view message) {
  std::string raw(source);
  if (where.line > 0) raw += absl::StrFormat(":%u:%u", where.line, where.column);
  for (std::string_view part : {context, key, message}) {
    if (part.empty()) continue;
    raw += ": ";
    raw.append(part.data(), part.size());
  }
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) AppendEscaped(out, c);
  return out;
}

void ConfigErrors::Add(const toml::source_position& where, std::string_view context,
                       std::string_view key, std::string_view message) {
  ++count_;
  if (entries_.size() >= kMaxKept) return;
  entries_.push_back(
      {where.line, where.column, FormatConfigError(source_, where, context, key, message)});
}

std::vector<std::string> ConfigErrors::Messages() const {
  std::vector<const Entry*> sorted;
  sorted.reserve(entries_.size());
  for (const Entry& e : entries_) sorted.push_back(&e);
  // Line 0 means "no position": those sort after everything that has one.
  auto rank = [](const Entry* e) {
    return std::pair<uint64_t, uint32_t>(e->line == 0 ? UINT64_MAX : e->line, e->column);
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Entry* a, const Entry* b) { return rank(a) < rank(b); });
  std::vector<std::string> out;
  out.reserve(sorted.size());
  for (const Entry* e : sorted) out.push_back(e->text);
  return out;
}

absl::Status ConfigErrors::ToStatus() const {
  if (count_ == 0) return absl::OkStatus();
  std::string text;
  for (const std::string& line : Messages()) {
    if (!text.empty()) text += '\n';
    text += line;
  }
  if (count_ > entries_.size()) {
    text += absl::StrFormat("\n(%d more errors)", count_ - entries_.size());
  }
  return absl::InvalidArgumentError(text);
}

}  // namespace edge::config
