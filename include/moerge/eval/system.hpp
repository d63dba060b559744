// The models an evaluated system is made of: a base (or merged) model and the experts given with
// it, LoRA adapters (applied unmerged on the base) and full fine-tunes (run as separate models),
// each checked against the base. Each is a HF / PEFT directory or an object of an expert library
// (`LIB/:base`, `LIB/:experts/NAME`, `LIB/:merges/NAME`, the references `moerge merge` recipes use).
#pragma once
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "moerge/merge/recipe.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"

namespace moerge::eval {

struct FullExpert {
  std::string name;
  model::LlamaModel model;
};

struct ExpertPool {
  model::LlamaModel base;
  model::LoraSet lora;                       // LoRA experts; expert_idx of routing decisions indexes this set
  std::vector<FullExpert> full;              // full fine-tunes
  std::vector<std::string> order;            // every expert's name in the order given
  merge::ModelRef model_ref;                 // where the base came from
  std::vector<merge::ModelRef> expert_refs;  // where each expert came from, in `order`'s order
};

/// An expert's name: its directory's base name ("experts/lora/python/" -> "python"), or the
/// object's name for a library reference ("lib/:experts/python" -> "python", "lib/:base" ->
/// "base"); two experts with one name get a ConfigError from the pool.
std::string expert_name(const std::filesystem::path& dir);

/// Load `model_dir` (a HF directory, or a library's base, full fine-tune or merge) and every
/// entry of `expert_dirs`: a PEFT adapter or a library LoRA becomes a LoRA expert checked against
/// the base, a HF directory or a library full fine-tune a full expert (same tensor shapes as the
/// base). A library object is read from its own file only. InputError naming the directory or
/// object and the problem otherwise.
ExpertPool load_expert_pool(const std::filesystem::path& model_dir,
                            std::span<const std::filesystem::path> expert_dirs);

}  // namespace moerge::eval
