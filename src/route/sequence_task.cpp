// Task-level routers: LoraHub on a task's few-shot examples (see include/moerge/route/task.hpp).
#include <fmt/core.h>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/route/sequence.hpp"
#include "moerge/route/task.hpp"

namespace moerge::route {

double expert_bits_per_byte(const model::LlamaModel& base, const model::LoraExpert& expert,
                            std::span<const eval::Document> documents, int context, int n_window_batch) {
  model::LoraSet set(base.config());
  set.add(expert);
  model::SingleExpertHook single(0);
  eval::ModelScorer scorer(base, model::ForwardOptions{.hook = &single, .experts = &set});
  const eval::DomainSpec domain{.name = expert.name, .dir = {}, .split = std::string(eval::kInDistribution)};
  const eval::DomainScore score = eval::score_domain(
      scorer, domain, documents, eval::EvalOptions{.context = context, .n_window_batch = n_window_batch, .quiet = true},
      comm::Comm::self());
  return score.bits_per_byte();
}

LorahubTask lorahub_task(const model::LlamaModel& base, const model::LoraSet& experts,
                         std::span<const eval::Document> examples, int context, const LorahubOptions& options,
                         std::string name) {
  if (examples.empty()) throw InputError(fmt::format("LoraHub for '{}': no few-shot example", name));
  const LorahubLoss loss = [&](const Eigen::VectorXd& weights) {
    const model::LoraExpert combined =
        combine_lora_experts(experts, std::span<const double>(weights.data(), static_cast<std::size_t>(weights.size())), name);
    return expert_bits_per_byte(base, combined, examples, context);
  };
  LorahubResult search = lorahub_optimize(experts.n_expert(), loss, options);
  model::LoraExpert combined = combine_lora_experts(
      experts, std::span<const double>(search.weights.data(), static_cast<std::size_t>(search.weights.size())), name);
  return LorahubTask{.search = std::move(search), .combined = std::move(combined)};
}

}  // namespace moerge::route
