#include "common/command_line.h"

#include <cstdio>
#include <utility>

#include "common/log.h"

namespace edge {

void CommandLine::Value(std::string_view short_name, std::string_view name, std::string* out,
                        std::string_view missing) {
  flags_.push_back(
      Flag{std::string(short_name), std::string(name), std::string(missing), out, nullptr});
}

void CommandLine::Switch(std::string_view short_name, std::string_view name, bool* out) {
  flags_.push_back(Flag{std::string(short_name), std::string(name), "", nullptr, out});
}

int CommandLine::UsageError(std::string_view message) const {
  std::fprintf(stderr, "%s: %.*s\n%s", program_.c_str(), static_cast<int>(message.size()),
               message.data(), usage_.c_str());
  return 2;
}

int CommandLine::Parse(int argc, char** argv) {
  Value("", "--log-level", &log_level_, "a level");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage_.c_str(), stdout);
      return 0;
    }
    const Flag* matched = nullptr;
    std::string inline_value;
    bool has_inline = false;
    for (const Flag& f : flags_) {
      if (arg == f.name || (!f.short_name.empty() && arg == f.short_name)) {
        matched = &f;
        break;
      }
      if (f.value != nullptr && arg.rfind(f.name + "=", 0) == 0) {
        matched = &f;
        inline_value = arg.substr(f.name.size() + 1);
        has_inline = true;
        break;
      }
    }
    if (matched == nullptr) return UsageError("unknown argument \"" + arg + "\"");
    if (matched->value == nullptr) {
      *matched->set = true;
    } else if (has_inline) {
      *matched->value = std::move(inline_value);
    } else if (i + 1 < argc) {
      *matched->value = argv[++i];
    } else {
      return UsageError(arg + " needs " + matched->missing);
    }
  }
  static const std::pair<const char*, LogLevel> kLevels[] = {{"debug", LogLevel::kDebug},
                                                             {"info", LogLevel::kInfo},
                                                             {"warn", LogLevel::kWarn},
                                                             {"error", LogLevel::kError}};
  for (const auto& [name, level] : kLevels) {
    if (log_level_ == name) {
      SetLogLevel(level);
      return -1;
    }
  }
  return UsageError("unknown log level \"" + log_level_ + "\"");
}

}  // namespace edge
