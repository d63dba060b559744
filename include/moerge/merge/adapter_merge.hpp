// Merges whose inputs and output are PEFT LoRA adapters (lora_cat, lora_svd): the result is a new
// adapter directory, computed from the factors alone (delta W is never formed).
#pragma once
#include <cstddef>
#include <filesystem>

#include "moerge/comm/comm.hpp"
#include "moerge/merge/recipe.hpp"

namespace moerge::merge {

/// Whether the method takes LoRA adapters and writes one (lora_cat, lora_svd).
bool is_adapter_method(Method method);

struct AdapterMergeSummary {
  std::size_t n_module = 0;
  std::size_t rank_max = 0;  // the largest rank of a module of the result
  double seconds = 0;
};

/// Check every input (PEFT adapters, consistent module shapes, against base_model when given),
/// compute each module's factors (merge/kernels: lora_cat, lora_svd) and publish `out_dir` as a
/// PEFT adapter directory (adapter_config.json, adapter_model.safetensors, moerge_recipe.yml),
/// atomically. Adapters are small: rank 0 does the work while the other ranks wait, and every
/// rank throws the same error when it fails (io::run_agreed).
AdapterMergeSummary run_adapter_merge(const Recipe& recipe, const std::filesystem::path& out_dir,
                                      const comm::Comm& comm);

}  // namespace moerge::merge
