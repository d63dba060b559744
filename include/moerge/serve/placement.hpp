// Which MPI rank hosts which expert when a routed system runs expert-parallel: rank 0 is the
// coordinator (base model, router, batching), the other ranks host experts, balanced by bytes by
// default, pinned or replicated by a placement file (docs/serving.md, "Placement").
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace moerge::serve {

/// The rank that runs the base model and the router.
inline constexpr int kCoordinator = 0;

struct Placement {
  int n_rank = 1;
  std::vector<std::string> expert_names;  // in the system's expert order (expert_idx of decisions)
  std::vector<std::uint64_t> expert_bytes;
  std::vector<std::vector<int>> hosts;  // per expert: the ranks holding it, ascending

  int n_expert() const { return static_cast<int>(expert_names.size()); }
  /// The experts rank `rank` holds, ascending.
  std::vector<int> experts_of(int rank) const;
  /// Bytes of the experts rank `rank` holds.
  std::uint64_t bytes_of(int rank) const;
  /// The rank that serves expert `expert_idx` at module `module_index` (ModuleId::index()): the
  /// replicas of an expert take the modules in turn, so an expert's rows of one module are never
  /// split (the grouped GEMM, and hence every bit, does not depend on the placement).
  int host_for(int expert_idx, int module_index) const {
    const std::vector<int>& ranks = hosts[static_cast<std::size_t>(expert_idx)];
    return ranks[static_cast<std::size_t>(module_index) % ranks.size()];
  }
  /// One line per rank: "rank 1: 7 experts, 12.5 MB (c_headers, python, ...)".
  std::vector<std::string> describe() const;
};

/// Place experts on `n_rank` ranks. One rank: it holds every expert. More: the coordinator holds
/// none; experts pinned by `placement_file` go where it says (a rank list replicates them), the
/// others go, largest first (ties by order), to the host rank with the fewest bytes so far
/// (ties: the lowest rank). The file is YAML mapping expert names to a rank or a list of ranks:
///   python: 1
///   c_headers: [1, 2]
/// InputError naming the file, the entry and the value for an unknown expert, a rank outside
/// 1..n_rank-1 (0 is allowed: the coordinator may host experts too), a repeated rank or a file
/// that is not such a mapping. Host ranks left without an expert get a warning (ranks to spare).
Placement make_placement(std::span<const std::string> expert_names,
                         std::span<const std::uint64_t> expert_bytes, int n_rank,
                         const std::optional<std::filesystem::path>& placement_file = std::nullopt,
                         bool quiet = false);

}  // namespace moerge::serve
