#include "innmf/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace innmf::log {

void setup(int rank, Verbosity verbosity) {
  auto logger = spdlog::stderr_color_mt("innmf");
  // Seconds resolution is enough for a batch job's log; the level is spelled out because
  // job logs are read with grep, not colours.
  logger->set_pattern("[%H:%M:%S] %^%l%$: %v");
  spdlog::level::level_enum level = spdlog::level::info;
  if (verbosity == Verbosity::quiet) level = spdlog::level::warn;
  if (verbosity == Verbosity::verbose) level = spdlog::level::debug;
  logger->set_level(rank == 0 ? level : spdlog::level::off);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace innmf::log
