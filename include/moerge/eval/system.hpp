// The models an evaluated system is made of: a base (or merged) model and the experts given with
// it, LoRA adapters (applied unmerged on the base) and full fine-tunes (run as separate models),
// each checked against the base.
#pragma once
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"

namespace moerge::eval {

struct FullExpert {
  std::string name;
  model::LlamaModel model;
};

struct ExpertPool {
  model::LlamaModel base;
  model::LoraSet lora;             // LoRA experts; expert_idx of routing decisions indexes this set
  std::vector<FullExpert> full;    // full fine-tunes
  std::vector<std::string> order;  // every expert's name in the order given
};

/// An expert's name: its directory's base name ("experts/lora/python/" -> "python"); two experts
/// with one name get a ConfigError from the pool.
std::string expert_name(const std::filesystem::path& dir);

/// Load `model_dir` (HF directory) and every directory of `expert_dirs`: a PEFT adapter becomes
/// a LoRA expert (io::check_adapter_against_base), a HF directory a full fine-tune
/// (io::check_model_against_base). InputError naming the directory and the problem otherwise.
ExpertPool load_expert_pool(const std::filesystem::path& model_dir,
                            std::span<const std::filesystem::path> expert_dirs);

}  // namespace moerge::eval
