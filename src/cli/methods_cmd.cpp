// `moerge methods`: every merge method with its parameters, defaults and taxonomy tags.
#include <fmt/core.h>

#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/merge/recipe.hpp"

namespace moerge::cli {

int run_methods(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      fmt::print("usage: moerge methods\n\nList the merge methods of `moerge merge` with their parameters, defaults "
                 "and taxonomy tags (docs/methods.md).\n");
      return 0;
    }
    throw ConfigError(fmt::format("methods takes no arguments (got '{}')", arg));
  }
  if (comm::Comm::world().rank() != 0) return 0;
  fmt::print("merge methods (recipe key merge_method; semantics in docs/methods.md):\n");
  for (const auto& info : merge::method_table()) {
    fmt::print("\n{}: {}\n", info.name, info.summary);
    fmt::print("  needs base_model: {}; models merged: {}{}\n", info.needs_base ? "yes" : "no",
               info.n_model_max == 0 ? fmt::format("{} or more", info.n_model_min)
                                     : info.n_model_min == info.n_model_max ? std::to_string(info.n_model_min)
                                                                            : fmt::format("{} to {}", info.n_model_min, info.n_model_max),
               info.base_is_reference ? " besides the base" : "");
    for (const auto& parameter : info.parameters)
      fmt::print("  {:<12} {:<9} default {:<6} {}\n", parameter.name, parameter.per_model ? "per-model" : "global",
                 parameter.default_text.empty() ? "-" : parameter.default_text, parameter.meaning);
    fmt::print("  tags: input_granularity={} depth={} selection={} aggregation={} routing_dataset={} user_dataset={}\n",
               info.input_granularity, info.depth, info.selection, info.aggregation, info.routing_dataset,
               info.user_dataset);
  }
  fmt::print("\nmoerge keys: ties_scope tensor|global (ties), rescale_mode l1|inverse_density, seed (DARE/DELLA draws)\n");
  return 0;
}

}  // namespace moerge::cli
