#pragma once
// Minimal leveled logging to stderr, one line per event, safe from any thread.
// Format: "2026-11-26T03:53:32.123Z lb4 INFO message". Tests grep these lines, so keep them stable.

#include <string_view>

#include "absl/strings/str_format.h"

namespace edge {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the program name printed on every line and the minimum level written.
void SetLogIdentity(std::string_view program);
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

// Writes one line atomically (a single write(2)).
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (level < GetLogLevel()) return;
  LogLine(level, absl::StrFormat(format, args...));
}

}  // namespace edge

#define LOG_DEBUG(...) ::edge::Log(::edge::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) ::edge::Log(::edge::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) ::edge::Log(::edge::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) ::edge::Log(::edge::LogLevel::kError, __VA_ARGS__)
