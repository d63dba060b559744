// Loading a base model with its LoRA and full experts (see include/moerge/eval/system.hpp).
#include "moerge/eval/system.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "moerge/core/error.hpp"
#include "moerge/io/hf.hpp"

namespace fs = std::filesystem;

namespace moerge::eval {

std::string expert_name(const fs::path& dir) {
  const fs::path normal = dir.lexically_normal();
  const fs::path trimmed = normal.has_filename() ? normal : normal.parent_path();
  std::string name = trimmed.filename().string();
  if (name.empty() || name == "." || name == "..")
    name = fs::absolute(dir).lexically_normal().filename().string();
  return name;
}

ExpertPool load_expert_pool(const fs::path& model_dir, std::span<const fs::path> expert_dirs) {
  if (io::detect_source(model_dir) != io::SourceKind::hf_model)
    throw InputError(
        fmt::format("{}: is a PEFT adapter; --model needs a HF model directory (config.json + "
                    "model.safetensors), e.g. the base or a merge's output",
                    model_dir.string()));
  io::HfModel base_hf = io::open_hf_model(model_dir);
  const io::ShapeMap base_shapes = io::llama_tensor_shapes(base_hf.config);
  model::LlamaModel base = model::LlamaModel::load(base_hf);
  ExpertPool pool{
      .base = std::move(base), .lora = model::LoraSet(model::ModelConfig{}), .full = {}, .order = {}};
  pool.lora = model::LoraSet(pool.base.config());
  for (const fs::path& dir : expert_dirs) {
    std::string name = expert_name(dir);
    if (std::find(pool.order.begin(), pool.order.end(), name) != pool.order.end())
      throw ConfigError(
          fmt::format("two experts are named '{}' (directory {}); experts are named by their directory", name,
                      dir.string()));
    switch (io::detect_source(dir)) {
      case io::SourceKind::peft_adapter:
        pool.lora.add(model::load_lora_expert_dir(dir, pool.base, name));
        break;
      case io::SourceKind::hf_model: {
        const io::HfModel hf = io::open_hf_model(dir);
        io::check_model_against_base(hf, base_shapes, dir.string(), model_dir.string());
        pool.full.push_back(FullExpert{.name = name, .model = model::LlamaModel::load(hf)});
        break;
      }
    }
    pool.order.push_back(std::move(name));
  }
  return pool;
}

}  // namespace moerge::eval
