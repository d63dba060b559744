// The routers as `moerge methods` and the leaderboard name them: system name, summary, options
// with defaults, and the taxonomy tags of Yadav et al. 2024 (docs/routing.md, docs/methods.md).
#pragma once
#include <optional>
#include <string_view>
#include <vector>

namespace moerge::route {

/// One option of a router, with its default as text.
struct RouterOptionInfo {
  std::string_view name;
  std::string_view default_text;
  std::string_view meaning;
};

struct RouterInfo {
  std::string_view name;  // the system name of the routing CSV (design.md) and of --router
  std::string_view summary;
  std::vector<RouterOptionInfo> options;
  // Taxonomy (Yadav et al. 2024, "A Survey on Model MoErging").
  std::string_view expert_training;    // standard | custom
  std::string_view expert_data;        // private | shared
  std::string_view routing_dataset;    // none | target | expert | general | multiple
  std::string_view input_granularity;  // task | example | step
  std::string_view depth;              // model | module
  std::string_view selection;          // sparse | dense
  std::string_view aggregation;        // output | parameter | none
  std::string_view generalization;     // in-distribution | out-of-distribution
  std::string_view user_dataset;       // zero-shot | few-shot | full
};

/// Every router, in the order `moerge methods` prints them.
const std::vector<RouterInfo>& router_table();
std::optional<RouterInfo> router_info(std::string_view name);

}  // namespace moerge::route
