// Loading a base model with its LoRA and full experts (see include/moerge/eval/system.hpp).
#include "moerge/eval/system.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "moerge/core/error.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/library.hpp"
#include "moerge/model/library_load.hpp"

namespace fs = std::filesystem;

namespace moerge::eval {

namespace {

/// Libraries opened once each, by the directory a reference names.
class LibraryCache {
 public:
  const io::Library& open(const fs::path& dir) {
    const std::string key = fs::absolute(dir).lexically_normal().string();
    auto found = libraries_.find(key);
    if (found == libraries_.end()) found = libraries_.emplace(key, io::Library::open(dir, true)).first;
    return found->second;
  }

 private:
  std::map<std::string, io::Library> libraries_;
};

/// The catalogue entry a library reference names (InputError naming the reference otherwise).
const io::CatalogueEntry& library_entry(LibraryCache& cache, const merge::ModelRef& ref) {
  try {
    return io::entry_at(cache.open(*ref.library), ref.object);
  } catch (const InputError& error) {
    throw InputError(fmt::format("'{}': {}", ref.text, error.what()));
  }
}

/// InputError unless `model` has the base's architecture (the tensor names and shapes of a HF
/// LlamaForCausalLM of its config).
void check_same_shapes(const model::LlamaModel& model, const io::ShapeMap& base_shapes,
                       const std::string& label, const std::string& base_label) {
  const io::ShapeMap shapes = io::llama_tensor_shapes(model.hf_config());
  if (shapes == base_shapes) return;
  for (const auto& [name, shape] : base_shapes) {
    const auto found = shapes.find(name);
    if (found == shapes.end())
      throw InputError(
          fmt::format("{} does not fit base {}: it has no tensor '{}'", label, base_label, name));
    if (found->second != shape)
      throw InputError(fmt::format("{} does not fit base {}: tensor '{}' is [{}], the base's [{}]", label,
                                   base_label, name, fmt::join(found->second, ", "), fmt::join(shape, ", ")));
  }
  throw InputError(
      fmt::format("{} does not fit base {}: it holds tensors the base does not", label, base_label));
}

}  // namespace

std::string expert_name(const fs::path& dir) {
  const merge::ModelRef ref = merge::parse_model_ref(dir.string());
  if (ref.library) {
    const std::string_view object = ref.object;
    return std::string(
        object.substr(object.rfind('/') == std::string_view::npos ? 0 : object.rfind('/') + 1));
  }
  const fs::path normal = dir.lexically_normal();
  const fs::path trimmed = normal.has_filename() ? normal : normal.parent_path();
  std::string name = trimmed.filename().string();
  if (name.empty() || name == "." || name == "..")
    name = fs::absolute(dir).lexically_normal().filename().string();
  return name;
}

ExpertPool load_expert_pool(const fs::path& model_dir, std::span<const fs::path> expert_dirs) {
  LibraryCache libraries;
  const merge::ModelRef model_ref = merge::parse_model_ref(model_dir.string());
  std::optional<model::LlamaModel> loaded_base;
  if (model_ref.library) {
    const io::CatalogueEntry& entry = library_entry(libraries, model_ref);
    if (entry.kind == io::ObjectKind::lora)
      throw InputError(fmt::format("'{}': is a LoRA expert; --model needs a base, full fine-tune or merge",
                                   model_ref.text));
    loaded_base = model::load_library_model(libraries.open(*model_ref.library), entry.name);
  } else {
    if (io::detect_source(model_dir) != io::SourceKind::hf_model)
      throw InputError(
          fmt::format("{}: is a PEFT adapter; --model needs a HF model directory (config.json + "
                      "model.safetensors), e.g. the base or a merge's output",
                      model_dir.string()));
    loaded_base = model::LlamaModel::load(io::open_hf_model(model_dir));
  }
  const io::ShapeMap base_shapes = io::llama_tensor_shapes(loaded_base->hf_config());
  ExpertPool pool{.base = std::move(*loaded_base),
                  .lora = model::LoraSet(model::ModelConfig{}),
                  .full = {},
                  .order = {},
                  .model_ref = model_ref,
                  .expert_refs = {}};
  pool.lora = model::LoraSet(pool.base.config());
  for (const fs::path& dir : expert_dirs) {
    std::string name = expert_name(dir);
    if (std::find(pool.order.begin(), pool.order.end(), name) != pool.order.end())
      throw ConfigError(fmt::format(
          "two experts are named '{}' ({}); experts are named by their directory or library object", name,
          dir.string()));
    const merge::ModelRef ref = merge::parse_model_ref(dir.string());
    if (ref.library) {
      const io::CatalogueEntry& entry = library_entry(libraries, ref);
      const io::Library& library = libraries.open(*ref.library);
      switch (entry.kind) {
        case io::ObjectKind::lora:
          pool.lora.add(model::load_library_lora(library, entry.name, pool.base, name));
          break;
        case io::ObjectKind::full: {
          model::LlamaModel full = model::load_library_model(library, entry.name);
          check_same_shapes(full, base_shapes, ref.text, model_ref.text);
          pool.full.push_back(FullExpert{.name = name, .model = std::move(full)});
          break;
        }
        case io::ObjectKind::base:
        case io::ObjectKind::merge:
          throw InputError(fmt::format("'{}': is a {}; --expert needs a LoRA adapter or a full fine-tune",
                                       ref.text, io::kind_name(entry.kind)));
      }
    } else {
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
    }
    pool.order.push_back(std::move(name));
    pool.expert_refs.push_back(ref);
  }
  return pool;
}

}  // namespace moerge::eval
