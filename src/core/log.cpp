// Process-wide logger set-up (see include/moerge/core/log.hpp).
#include "moerge/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace moerge::log {

void init(Level level, int rank, int n_rank, bool all_ranks) {
  auto logger = spdlog::stderr_color_mt("moerge");
  const std::string prefix = n_rank > 1 ? "[rank " + std::to_string(rank) + "] " : "";
  logger->set_pattern(prefix + "%^%l%$: %v");
  spdlog::level::level_enum spd_level = spdlog::level::info;
  switch (level) {
    case Level::debug: spd_level = spdlog::level::debug; break;
    case Level::info: spd_level = spdlog::level::info; break;
    case Level::warn: spd_level = spdlog::level::warn; break;
    case Level::error: spd_level = spdlog::level::err; break;
    case Level::off: spd_level = spdlog::level::off; break;
  }
  // Non-root ranks only report warnings and errors, so N ranks do not print N copies.
  if (rank != 0 && !all_ranks && spd_level < spdlog::level::warn) spd_level = spdlog::level::warn;
  logger->set_level(spd_level);
  spdlog::set_default_logger(logger);
}

}  // namespace moerge::log
