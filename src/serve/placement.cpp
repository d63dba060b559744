// Expert placement over MPI ranks: balanced by bytes, pinned and replicated by a YAML file
// (see include/moerge/serve/placement.hpp).
#include "moerge/serve/placement.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"

namespace fs = std::filesystem;

namespace moerge::serve {

std::vector<int> Placement::experts_of(int rank) const {
  std::vector<int> out;
  for (int expert_idx = 0; expert_idx < n_expert(); ++expert_idx) {
    const std::vector<int>& ranks = hosts[static_cast<std::size_t>(expert_idx)];
    if (std::find(ranks.begin(), ranks.end(), rank) != ranks.end()) out.push_back(expert_idx);
  }
  return out;
}

std::uint64_t Placement::bytes_of(int rank) const {
  std::uint64_t total = 0;
  for (const int expert_idx : experts_of(rank)) total += expert_bytes[static_cast<std::size_t>(expert_idx)];
  return total;
}

std::vector<std::string> Placement::describe() const {
  std::vector<std::string> lines;
  for (int rank = 0; rank < n_rank; ++rank) {
    const std::vector<int> experts = experts_of(rank);
    std::string names;
    for (const int expert_idx : experts)
      names +=
          fmt::format("{}{}", names.empty() ? "" : ", ", expert_names[static_cast<std::size_t>(expert_idx)]);
    std::string role = rank == kCoordinator && n_rank > 1 ? " (coordinator)" : "";
    lines.push_back(fmt::format("rank {}{}: {} expert{}, {:.1f} MB{}", rank, role, experts.size(),
                                experts.size() == 1 ? "" : "s", static_cast<double>(bytes_of(rank)) / 1e6,
                                names.empty() ? "" : " (" + names + ")"));
  }
  return lines;
}

namespace {

/// expert name -> pinned ranks, from the YAML file.
std::vector<std::vector<int>> read_pins(const fs::path& file, std::span<const std::string> expert_names,
                                        int n_rank) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read the placement file", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& error) {
    throw InputError(fmt::format("{}: not valid YAML: {}", file.string(), error.what()));
  }
  if (root.IsNull()) return std::vector<std::vector<int>>(expert_names.size());
  if (!root.IsMap())
    throw InputError(
        fmt::format("{}: a placement file maps expert names to a rank or a list of ranks (e.g. 'python: 1')",
                    file.string()));
  std::vector<std::vector<int>> pins(expert_names.size());
  for (const auto& item : root) {
    const std::string name = item.first.as<std::string>();
    const auto found = std::find(expert_names.begin(), expert_names.end(), name);
    if (found == expert_names.end()) {
      std::string known;
      for (const std::string& expert : expert_names)
        known += fmt::format("{}{}", known.empty() ? "" : ", ", expert);
      throw InputError(fmt::format("{}: expert '{}' is not one of this system's experts ({})", file.string(),
                                   name, known));
    }
    std::vector<YAML::Node> values;
    if (item.second.IsSequence())
      for (const auto& value : item.second) values.push_back(value);
    else
      values.push_back(item.second);
    std::vector<int>& ranks = pins[static_cast<std::size_t>(found - expert_names.begin())];
    if (values.empty())
      throw InputError(fmt::format("{}: expert '{}' has an empty rank list", file.string(), name));
    for (const YAML::Node& value : values) {
      int rank = -1;
      const std::string value_text = value.IsScalar() ? value.Scalar() : std::string("(not a number)");
      try {
        rank = value.as<int>();
      } catch (const YAML::Exception&) {
        throw InputError(
            fmt::format("{}: expert '{}': rank '{}' is not an integer", file.string(), name, value_text));
      }
      if (rank < 0 || rank >= n_rank)
        throw InputError(fmt::format("{}: expert '{}': rank {} is outside 0..{} (this job has {} rank{})",
                                     file.string(), name, rank, n_rank - 1, n_rank, n_rank == 1 ? "" : "s"));
      if (std::find(ranks.begin(), ranks.end(), rank) != ranks.end())
        throw InputError(fmt::format("{}: expert '{}': rank {} is listed twice", file.string(), name, rank));
      ranks.push_back(rank);
    }
    std::sort(ranks.begin(), ranks.end());
  }
  return pins;
}

}  // namespace

Placement make_placement(std::span<const std::string> expert_names,
                         std::span<const std::uint64_t> expert_bytes, int n_rank,
                         const std::optional<fs::path>& placement_file, bool quiet) {
  if (expert_names.size() != expert_bytes.size())
    throw Error(
        fmt::format("make_placement: {} names for {} sizes", expert_names.size(), expert_bytes.size()));
  if (n_rank < 1) throw Error(fmt::format("make_placement: {} ranks", n_rank));
  Placement placement;
  placement.n_rank = n_rank;
  placement.expert_names.assign(expert_names.begin(), expert_names.end());
  placement.expert_bytes.assign(expert_bytes.begin(), expert_bytes.end());
  placement.hosts.resize(expert_names.size());
  if (n_rank == 1) {
    for (std::vector<int>& ranks : placement.hosts) ranks = {kCoordinator};
    if (placement_file && !quiet)
      log::warn("{}: not used: with one rank every expert runs in this process", placement_file->string());
    return placement;
  }
  std::vector<std::uint64_t> load(static_cast<std::size_t>(n_rank), 0);
  if (placement_file) {
    placement.hosts = read_pins(*placement_file, expert_names, n_rank);
    for (std::size_t expert_idx = 0; expert_idx < expert_names.size(); ++expert_idx)
      for (const int rank : placement.hosts[expert_idx])
        load[static_cast<std::size_t>(rank)] += expert_bytes[expert_idx];
  }
  // Largest first onto the least loaded host rank (the LPT rule: within 4/3 of the best balance).
  std::vector<std::size_t> order(expert_names.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t left, std::size_t right) {
    return expert_bytes[left] > expert_bytes[right];
  });
  for (const std::size_t expert_idx : order) {
    if (!placement.hosts[expert_idx].empty()) continue;
    int best = 1;
    for (int rank = 2; rank < n_rank; ++rank)
      if (load[static_cast<std::size_t>(rank)] < load[static_cast<std::size_t>(best)]) best = rank;
    placement.hosts[expert_idx] = {best};
    load[static_cast<std::size_t>(best)] += expert_bytes[expert_idx];
  }
  std::vector<int> idle;
  for (int rank = 1; rank < n_rank; ++rank)
    if (placement.experts_of(rank).empty()) idle.push_back(rank);
  if (!idle.empty() && !quiet)
    log::warn(
        "{} of the {} expert ranks host no expert ({} expert{} in all): rank{} {} only take part in the "
        "exchange; run with fewer ranks",
        idle.size(), n_rank - 1, expert_names.size(), expert_names.size() == 1 ? "" : "s",
        idle.size() == 1 ? "" : "s", fmt::join(idle, ", "));
  return placement;
}

}  // namespace moerge::serve
