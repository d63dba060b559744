// Logging: spdlog to stderr, prefixed with the MPI rank when running with more than one.
#pragma once
#include <spdlog/spdlog.h>

namespace moerge::log {

enum class Level { debug, info, warn, error, off };

/// Configure the process-wide logger once (called by main and by the test main).
/// `rank`/`n_rank` let messages say which rank speaks; info-level output comes from rank 0 only
/// unless `all_ranks` is set.
void init(Level level, int rank = 0, int n_rank = 1, bool all_ranks = false);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace moerge::log
