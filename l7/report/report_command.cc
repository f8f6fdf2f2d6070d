#include "l7/report/report_command.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "l7/report/access_log_scanner.h"
#include "l7/report/report_builder.h"
#include "l7/report/report_render.h"

namespace edge::l7::report {
namespace {

constexpr char kUsage[] =
    "usage: gw7 report [--from T] [--to T] [--json] [-o FILE] LOG...\n"
    "\n"
    "Reads gw7 access logs ([gw7.access_log], one JSON line per request; several logs merge)\n"
    "and writes a usage report: one self-contained HTML page (inline SVG charts, each with a\n"
    "table), or the same data as JSON.\n"
    "\n"
    "  --from T, --to T   only requests in [from, to): \"2026-12-02T17:00:00Z\" or unix seconds\n"
    "                     (default: the logs' first and last request)\n"
    "  --json             JSON instead of HTML\n"
    "  -o FILE            write there (default: standard output)\n"
    "  --buckets N        time buckets at most (default 60, 1..1000)\n";

constexpr size_t kChunk = 8 << 20;

std::optional<int64_t> ParseTimeArg(const std::string& s) {
  if (auto t = ParseTimestamp(s)) return t;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  if (ec != std::errc() || end != s.data() + s.size() || seconds < 0 || seconds > 253402300799) {
    return std::nullopt;
  }
  return seconds * 1'000'000;
}

// Calls `fn` with every line of `path` (without the newline); false and *error when the file
// cannot be read.
bool ForEachLine(const std::string& path, const std::function<void(std::string_view)>& fn,
                 std::string* error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + strerror(errno);
    return false;
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::string buf(kChunk, '\0');
  size_t kept = 0;  // a partial line carried over from the previous read
  for (;;) {
    if (kept == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
    ssize_t n = read(fd, buf.data() + kept, buf.size() - kept);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = path + ": " + strerror(errno);
      close(fd);
      return false;
    }
    const size_t have = kept + static_cast<size_t>(n);
    std::string_view data(buf.data(), have);
    size_t start = 0;
    for (;;) {
      const void* nl = memchr(data.data() + start, '\n', have - start);
      if (nl == nullptr) break;
      const size_t end = static_cast<const char*>(nl) - data.data();
      if (end > start) fn(data.substr(start, end - start));
      start = end + 1;
    }
    if (n == 0) {
      if (have > start) fn(data.substr(start));  // last line without a newline
      break;
    }
    kept = have - start;
    if (kept > 0 && start > 0) memmove(buf.data(), buf.data() + start, kept);
  }
  close(fd);
  return true;
}

// The "time" of a line written by gw7: it comes first, at a fixed place, so the range pass
// does not need the full parse; other lines take it.
std::optional<int64_t> QuickTime(std::string_view line, LogRow* row, std::string* scratch) {
  constexpr std::string_view kPrefix = "{\"time\":\"";
  if (line.starts_with(kPrefix) && line.size() > kPrefix.size() + 27 &&
      line[kPrefix.size() + 27] == '"') {
    return ParseTimestamp(line.substr(kPrefix.size(), 27));
  }
  if (ParseLogRow(line, row, scratch)) return row->time_us;
  return std::nullopt;
}

}  // namespace

int ReportMain(int argc, char** argv) {
  std::optional<int64_t> from, to;
  bool json = false;
  std::string output;
  size_t buckets = 60;
  std::vector<std::string> logs;
  auto usage_error = [](const std::string& message) {
    std::fprintf(stderr, "gw7 report: %s\n%s", message.c_str(), kUsage);
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "-o" || arg == "--output") {
      if (!value(&output) || output.empty()) return usage_error(arg + " needs a file");
    } else if (arg == "--from" || arg == "--to") {
      if (!value(&v)) return usage_error(arg + " needs a time");
      auto t = ParseTimeArg(v);
      if (!t)
        return usage_error(arg + ": not a time (\"2026-12-02T17:00:00Z\" or unix seconds): " + v);
      (arg == "--from" ? from : to) = *t;
    } else if (arg == "--buckets") {
      if (!value(&v)) return usage_error("--buckets needs a number");
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), buckets);
      if (ec != std::errc() || end != v.data() + v.size() || buckets < 1 || buckets > 1000) {
        return usage_error("--buckets: a number from 1 to 1000, got " + v);
      }
    } else if (arg.starts_with("-") && arg != "-") {
      return usage_error("unknown option " + arg);
    } else {
      logs.push_back(arg);
    }
  }
  if (logs.empty()) return usage_error("no log files");
  if (from && to && *from >= *to) return usage_error("--from must be before --to");

  LogRow row;
  std::string scratch;
  std::string error;
  if (!from || !to) {
    // The range pass: the logs' first and last request (lines are written when requests end,
    // so they are not in time order; every line is looked at).
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (const std::string& path : logs) {
      if (!ForEachLine(
              path,
              [&](std::string_view line) {
                if (auto t = QuickTime(line, &row, &scratch)) {
                  lo = std::min(lo, *t);
                  hi = std::max(hi, *t);
                }
              },
              &error)) {
        std::fprintf(stderr, "gw7 report: %s\n", error.c_str());
        return 1;
      }
    }
    if (lo > hi) lo = hi = 0;  // no request at all: an empty report
    if (!from) from = lo;
    if (!to) to = std::max(hi + 1, *from + 1);
  }
  const int64_t bucket = NiceBucketUs(*from, *to, buckets);
  const int64_t start = *from - *from % bucket;  // buckets on round times
  const size_t count = static_cast<size_t>((*to - start + bucket - 1) / bucket);
  ReportBuilder builder(start, start + static_cast<int64_t>(count) * bucket, count);
  uint64_t before = 0, after = 0;
  for (const std::string& path : logs) {
    if (!ForEachLine(
            path,
            [&](std::string_view line) {
              if (!ParseLogRow(line, &row, &scratch)) {
                builder.CountMalformed();
              } else if (row.time_us < *from) {
                ++before;
              } else if (row.time_us >= *to) {
                ++after;
              } else {
                builder.Add(row);
              }
            },
            &error)) {
      std::fprintf(stderr, "gw7 report: %s\n", error.c_str());
      return 1;
    }
  }
  ReportData data = builder.data();
  data.out_of_range += before + after;
  const std::string text =
      json ? RenderReportJson(data) : RenderReportHtml(data, absl::StrJoin(logs, ", "));
  FILE* out = output.empty() ? stdout : std::fopen(output.c_str(), "we");
  if (out == nullptr) {
    std::fprintf(stderr, "gw7 report: %s: %s\n", output.c_str(), strerror(errno));
    return 1;
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  const bool closed = output.empty() ? std::fflush(out) == 0 : std::fclose(out) == 0;
  if (!ok || !closed) {
    std::fprintf(stderr, "gw7 report: writing %s failed\n",
                 output.empty() ? "stdout" : output.c_str());
    return 1;
  }
  if (data.malformed > 0) {
    std::fprintf(stderr, "gw7 report: %llu malformed lines skipped\n",
                 static_cast<unsigned long long>(data.malformed));
  }
  return 0;
}

}  // namespace edge::l7::report
