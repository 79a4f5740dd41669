#pragma once
// Logging: rank 0 speaks (STYLE.md §8). Every rank owns a logger, but only rank 0's writes
// anything below `error`, so library code can log unconditionally.

#include <spdlog/spdlog.h>

#include <string>

namespace innmf::log {

enum class Verbosity { quiet, normal, verbose };

/// Configure the process-wide logger: messages to stderr, `info` and above on rank 0
/// (`warn` with quiet, `debug` with verbose), nothing on other ranks.
void setup(int rank, Verbosity verbosity);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  spdlog::debug(format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  spdlog::info(format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  spdlog::warn(format, std::forward<Args>(args)...);
}

/// "1 clip", "3 clips": a count and a regular English noun for log lines.
inline std::string counted(std::size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace innmf::log
