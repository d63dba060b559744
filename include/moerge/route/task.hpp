// Task-level routers: LoraHub's per-task search for expert weights on a few examples, evaluated
// with the moerge bits-per-byte definition.
#pragma once
#include <span>
#include <string>

#include "moerge/eval/bpb.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/lorahub.hpp"

namespace moerge::route {

/// Bits per byte of `documents` (windows of `context` bytes) with `expert` applied on every row.
double expert_bits_per_byte(const model::LlamaModel& base, const model::LoraExpert& expert,
                            std::span<const eval::Document> documents, int context, int n_window_batch = 16);

struct LorahubTask {
  LorahubResult search;      // the weights found and the objective history (exactly budget evaluations)
  model::LoraExpert combined;  // combine_lora_experts(experts, search.weights)
};

/// LoraHub on one task: minimises bits per byte of the few-shot `examples` with the combined
/// LoRA plus l1 * mean|w| (lorahub_optimize, options.budget evaluations), and returns the best
/// weights' combined expert, named `name`.
LorahubTask lorahub_task(const model::LlamaModel& base, const model::LoraSet& experts,
                         std::span<const eval::Document> examples, int context, const LorahubOptions& options,
                         std::string name);

}  // namespace moerge::route
