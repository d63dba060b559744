// A routed system run expert-parallel (see include/moerge/serve/system.hpp).
#include "moerge/serve/system.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "moerge/core/error.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/library.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/hooks.hpp"
#include "moerge/serve/hosting.hpp"

namespace fs = std::filesystem;

namespace moerge::serve {

bool router_runs_expert_parallel(std::string_view router) {
  return router.empty() || router == "oracle" || router == "arrow" || router == "phatgoose" ||
         router == "centroid" || router == "retrieval" || router == "cbtm" || router == "learned";
}

ParallelSystem::ParallelSystem(const comm::Comm& comm, ParallelSystemSpec spec) : spec_(std::move(spec)) {
  if (!router_runs_expert_parallel(spec_.router))
    throw ConfigError(fmt::format("router '{}' does not run expert-parallel", spec_.router));
  if (spec_.experts.empty()) throw ConfigError("an expert-parallel system needs at least one --expert");
  if (spec_.router.empty() && spec_.experts.size() != 1)
    throw ConfigError(fmt::format("{} experts given without a router", spec_.experts.size()));
  top_k_ = spec_.top_k > 0 ? spec_.top_k : spec_.router == "arrow" ? 4 : spec_.router == "phatgoose" ? 2 : 0;

  std::vector<ModelSource> experts;
  std::vector<std::string> names;
  std::vector<std::uint64_t> n_bytes;
  io::run_agreed(comm, [&] {
    for (const std::string& text : spec_.experts) {
      experts.push_back(ModelSource::parse(text));
      names.push_back(experts.back().name);
      n_bytes.push_back(expert_bytes(experts.back()));
    }
    for (std::size_t idx = 0; idx < names.size(); ++idx)
      if (std::count(names.begin(), names.end(), names[idx]) > 1)
        throw ConfigError(fmt::format("two experts are named '{}'; give each a distinct name", names[idx]));
  });
  Placement placement;
  io::run_agreed(comm, [&] {
    placement =
        make_placement(names, n_bytes, comm.size(), spec_.placement_file, spec_.quiet || !comm.is_root());
  });

  // Every rank loads what it needs: the coordinator the base, the hosts their experts only.
  const ModelSource base_source = ModelSource::parse(spec_.model);
  model::LoraSet local(model::ModelConfig{});
  io::LlamaConfig config;
  io::run_agreed(comm, [&] {
    config = base_config(base_source);
    local = load_hosted_experts(placement, comm.rank(), experts, config, base_source.text);
    if (comm.rank() == kCoordinator) base_.emplace(load_base(base_source));
  });
  dispatcher_ =
      std::make_unique<ExpertDispatcher>(comm, std::move(placement), model::ModelConfig::from_hf(config),
                                         std::move(local), spec_.serve, spec_.quiet);
  if (!spec_.router.empty() && spec_.router != "oracle")
    io::run_agreed(comm, [&] { check_router_layout(*dispatcher_); });
  if (spec_.router == "arrow" || spec_.router == "phatgoose")
    vectors_ = spec_.router == "arrow" ? gather_arrow_prototypes(*dispatcher_)
                                       : gather_phatgoose_gates(*dispatcher_, comm, experts);
  if (!is_coordinator()) return;
  if (spec_.router == "arrow" || spec_.router == "phatgoose") {
    route::TokenRouterOptions options;
    options.top_k = top_k_;
    hook_ = std::make_unique<route::TokenRouterHook>(
        spec_.router == "arrow" ? route::TokenRouterKind::arrow : route::TokenRouterKind::phatgoose, vectors_,
        options);
  } else if (spec_.router == "oracle") {
    hook_ = std::make_unique<route::SequenceDecisionHook>();
  } else if (spec_.router.empty()) {
    hook_ = std::make_unique<model::SingleExpertHook>(0);
  }
}

std::vector<model::Matrix> ParallelSystem::router_vectors() {
  if (!base_) throw Error("ParallelSystem::router_vectors() on an expert rank");
  return std::move(vectors_);
}

std::optional<int> ParallelSystem::expert_index(std::string_view name) const {
  const std::vector<std::string>& names = expert_names();
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) return std::nullopt;
  return static_cast<int>(found - names.begin());
}

const model::LlamaModel& ParallelSystem::base() const {
  if (!base_) throw Error("ParallelSystem::base() on an expert rank");
  return *base_;
}

model::ForwardOptions ParallelSystem::forward_options() const {
  if (!base_) throw Error("ParallelSystem::forward_options() on an expert rank");
  return model::ForwardOptions{.hook = hook_.get(), .experts = dispatcher_.get()};
}

void ParallelSystem::set_sequence_experts(const std::vector<int>& expert_of_sequence) {
  auto* hook = dynamic_cast<route::SequenceDecisionHook*>(hook_.get());
  if (hook == nullptr) throw Error("set_sequence_experts: the system's router is not the oracle");
  model::RoutingDecision decision;
  decision.clear();
  for (const int expert_idx : expert_of_sequence) {
    if (expert_idx >= 0) {
      decision.expert_idx.push_back(expert_idx);
      decision.weight.push_back(1.0f);
    }
    decision.row_offsets.push_back(static_cast<std::int32_t>(decision.expert_idx.size()));
  }
  hook->set(std::move(decision));
}

}  // namespace moerge::serve
