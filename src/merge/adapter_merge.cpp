// lora_cat / lora_svd: PEFT adapters (directories or library LoRA objects) in, one PEFT adapter out
// (see adapter_merge.hpp).
#include "moerge/merge/adapter_merge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moerge/core/error.hpp"
#include "moerge/io/atomic.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/library.hpp"
#include "moerge/io/safetensors.hpp"
#include "moerge/merge/kernels.hpp"
#include "moerge/merge/plan.hpp"
#include "moerge/merge/source.hpp"
#include "moerge/tensor/dtype.hpp"

namespace fs = std::filesystem;

namespace moerge::merge {

namespace {

constexpr std::string_view kPeftPrefix = "base_model.model.";

struct ModuleShape {
  std::int64_t d_in = 0;
  std::int64_t d_out = 0;
  std::string first_label;  // the adapter that set the shape (for messages)
};

/// The short target name of a module path ("model.layers.3.mlp.up_proj" -> "up_proj").
std::string short_name(const std::string& module) { return module.substr(module.rfind('.') + 1); }

/// A LoRA factor of `module` read whole as f32 (part lora_a or lora_b).
std::vector<float> read_factor(InputSource& source, const PlanInput& input, Part part, const std::string& module) {
  const InputTensor& tensor = input.tensor(part, module);
  std::uint64_t numel = 1;
  for (const auto dim : tensor.shape) numel *= static_cast<std::uint64_t>(dim);
  const Block block = source.read(part, module, 0, numel);
  std::vector<float> out(numel);
  convert_to_f32(block.dtype, block.bytes, out);
  source.consumed(block);
  return out;
}

/// The adapters of a recipe, opened, with a source to read each one's factors in this process.
struct AdapterInputs {
  std::vector<PlanInput> inputs;  // every one a peft_adapter
  std::vector<std::unique_ptr<InputSource>> sources;
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw IoError(fmt::format("{}: cannot write", path.string()));
}

/// Opens every input (a PEFT directory or a library LoRA object) and checks it, reporting every
/// problem in one message.
AdapterInputs open_inputs(const Recipe& recipe, std::map<std::string, ModuleShape>& shapes) {
  const std::string method_name(recipe.info().name);
  AdapterInputs opened;
  std::vector<io::PeftAdapter> adapters;
  std::vector<std::string> problems;
  const auto open = [&](const ModelRef& ref, std::string_view role) -> std::optional<PlanInput> {
    try {
      return open_plan_input(ref);
    } catch (const InputError& error) {
      problems.push_back(fmt::format("{} '{}': {}", role, ref.text, error.what()));
      return std::nullopt;
    }
  };
  for (const auto& model : recipe.models) {
    std::optional<PlanInput> opened_input = open(model.ref, "model");
    if (!opened_input) continue;
    PlanInput& input = *opened_input;
    if (input.kind != InputKind::peft_adapter) {
      const std::string what = input.object ? fmt::format("library object '{}' ({} {})", input.object->name,
                                                          io::kind_name(input.object->kind), input.object->file.string())
                                            : model.ref.dir.string();
      problems.push_back(fmt::format("model '{}': {} is a Hugging Face model, not a PEFT adapter ({} merges adapters)",
                                     model.ref.text, what, method_name));
      continue;
    }
    adapters.push_back(*input.adapter);
    opened.inputs.push_back(std::move(input));
  }
  const std::optional<PlanInput> base = recipe.base ? open(*recipe.base, "base_model") : std::nullopt;
  if (base) {
    if (base->kind != InputKind::hf_model) {
      problems.push_back(fmt::format("base_model '{}': is a LoRA adapter, not a base model", recipe.base->text));
    } else {
      const auto base_shapes = io::llama_tensor_shapes(base->config);
      for (std::size_t idx = 0; idx < adapters.size(); ++idx) {
        try {
          io::check_adapter_against_base(adapters[idx], base_shapes, recipe.models[idx].ref.text, recipe.base->text);
        } catch (const InputError& caught) {
          problems.emplace_back(caught.what());
        }
      }
    }
  }
  for (std::size_t idx = 0; idx < adapters.size(); ++idx) {
    for (const auto& module : adapters[idx].modules) {
      auto [found, inserted] = shapes.try_emplace(module.module, ModuleShape{module.d_in, module.d_out, recipe.models[idx].ref.text});
      if (!inserted && (found->second.d_in != module.d_in || found->second.d_out != module.d_out))
        problems.push_back(fmt::format("module '{}': {} has d_in {} d_out {}, {} has d_in {} d_out {}", module.module,
                                       found->second.first_label, found->second.d_in, found->second.d_out,
                                       recipe.models[idx].ref.text, module.d_in, module.d_out));
    }
  }
  if (!problems.empty()) {
    std::string text = fmt::format("{}: cannot merge the adapters:", recipe.file.string());
    for (const auto& problem : problems) text += "\n  " + problem;
    throw InputError(text);
  }
  // Read by this process alone (rank 0 computes the result).
  const auto self = comm::Comm::self();
  for (const auto& input : opened.inputs) opened.sources.push_back(open_source(input, self));
  return opened;
}

AdapterMergeSummary merge_and_publish(const Recipe& recipe, const fs::path& out_dir) {
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, ModuleShape> shapes;
  AdapterInputs opened = open_inputs(recipe, shapes);
  std::vector<io::PeftAdapter> adapters;
  for (const auto& input : opened.inputs) adapters.push_back(*input.adapter);
  const bool svd = recipe.method == Method::lora_svd;

  std::size_t max_input_rank = 0;
  for (const auto& adapter : adapters) max_input_rank = std::max(max_input_rank, static_cast<std::size_t>(adapter.r));
  std::size_t target_rank = max_input_rank;
  if (svd) {
    if (const auto rank = recipe.parameter("rank", std::nullopt, "", 0.0)) {
      if (!(*rank >= 1) || *rank != std::floor(*rank) || *rank > 65536)
        throw ConfigError(fmt::format("{}: parameters.rank: must be a whole number >= 1, got {}", recipe.file.string(), *rank));
      target_rank = static_cast<std::size_t>(*rank);
    }
  }

  // Every module of any input; an adapter without the module adds nothing to it.
  std::map<std::string, LoraFactors> results;
  const std::int64_t n_layer = 1 + [&] {
    std::int64_t last = 0;
    for (const auto& [module, shape] : shapes) {
      const auto at = module.find("layers.");
      if (at != std::string::npos) last = std::max<std::int64_t>(last, std::stoll(module.substr(at + 7)));
    }
    return last;
  }();
  for (const auto& [module, shape] : shapes) {
    const std::string weight_name = module + ".weight";
    const double t = layer_position(weight_name, n_layer);
    std::vector<std::vector<float>> storage;
    std::vector<LoraInput> inputs;
    storage.reserve(2 * adapters.size());
    for (std::size_t idx = 0; idx < adapters.size(); ++idx) {
      const auto& adapter = adapters[idx];
      const auto found = std::find_if(adapter.modules.begin(), adapter.modules.end(),
                                      [&](const io::LoraModule& candidate) { return candidate.module == module; });
      if (found == adapter.modules.end()) continue;
      const double weight = recipe.parameter("weight", idx, weight_name, t).value_or(1.0);
      if (!std::isfinite(weight))
        throw ConfigError(fmt::format("{}: model '{}': weight is {}", recipe.file.string(), recipe.models[idx].ref.text, weight));
      storage.push_back(read_factor(*opened.sources[idx], opened.inputs[idx], Part::lora_a, module));
      storage.push_back(read_factor(*opened.sources[idx], opened.inputs[idx], Part::lora_b, module));
      for (std::size_t which = storage.size() - 2; which < storage.size(); ++which)
        for (const float value : storage[which])
          if (!std::isfinite(value))
            throw InputError(fmt::format("model '{}': tensor '{}' holds a non-finite value ({})", recipe.models[idx].ref.text,
                                         which + 2 == storage.size() ? found->a_key : found->b_key, value));
      inputs.push_back(LoraInput{storage[storage.size() - 2], storage.back(), static_cast<std::size_t>(found->r),
                                 weight * adapter.scale()});
    }
    const auto d_in = static_cast<std::size_t>(shape.d_in);
    const auto d_out = static_cast<std::size_t>(shape.d_out);
    results.emplace(module, svd ? lora_svd(inputs, d_in, d_out, target_rank) : lora_cat(inputs, d_in, d_out));
  }

  // One rank for every module (PEFT's r; no rank_pattern, which many readers lack): a module of
  // lower rank gets zero rows in A and zero columns in B, which add nothing to B A. delta W = B A
  // exactly, so lora_alpha = r (scale 1).
  const DType out_dtype = recipe.out_dtype.value_or(recipe.dtype.value_or(DType::F32));
  std::size_t rank_max = 0;
  for (const auto& [module, factors] : results) rank_max = std::max(rank_max, factors.rank);
  for (auto& [module, factors] : results) {
    if (factors.rank == rank_max) continue;
    factors.a.resize(rank_max * factors.d_in, 0.0f);
    std::vector<float> b(factors.d_out * rank_max, 0.0f);
    for (std::size_t row = 0; row < factors.d_out; ++row)
      std::copy_n(factors.b.begin() + static_cast<std::ptrdiff_t>(row * factors.rank), factors.rank,
                  b.begin() + static_cast<std::ptrdiff_t>(row * rank_max));
    factors.b = std::move(b);
    factors.rank = rank_max;
  }
  nlohmann::json config = adapters.front().config;
  config["r"] = rank_max;
  config["lora_alpha"] = rank_max;
  config["use_rslora"] = false;
  config["use_dora"] = false;
  config["lora_dropout"] = 0.0;
  config["rank_pattern"] = nlohmann::json::object();
  config["alpha_pattern"] = nlohmann::json::object();
  std::set<std::string> targets;
  for (const auto& [module, factors] : results) targets.insert(short_name(module));
  config["target_modules"] = std::vector<std::string>(targets.begin(), targets.end());
  if (recipe.base) config["base_model_name_or_path"] = recipe.base->text;

  std::vector<std::vector<std::byte>> bytes;
  std::vector<io::TensorToWrite> tensors;
  bytes.reserve(2 * results.size());
  for (const auto& [module, factors] : results) {
    const std::string key = std::string(kPeftPrefix) + module;
    const std::pair<const std::vector<float>*, std::vector<std::int64_t>> parts[] = {
        {&factors.a, {static_cast<std::int64_t>(factors.rank), static_cast<std::int64_t>(factors.d_in)}},
        {&factors.b, {static_cast<std::int64_t>(factors.d_out), static_cast<std::int64_t>(factors.rank)}}};
    for (std::size_t part = 0; part < 2; ++part) {
      bytes.emplace_back(parts[part].first->size() * dtype_size(out_dtype));
      convert_from_f32(out_dtype, *parts[part].first, bytes.back());
      tensors.push_back({key + (part == 0 ? ".lora_A.weight" : ".lora_B.weight"), out_dtype, parts[part].second, bytes.back()});
    }
  }
  io::AtomicPath publish(out_dir);
  fs::create_directories(publish.temp());
  io::write_safetensors(publish.temp() / "adapter_model.safetensors", std::move(tensors),
                        {{"format", "pt"}, {"moerge_method", std::string(recipe.info().name)}});
  write_text(publish.temp() / "adapter_config.json", config.dump(2) + "\n");
  write_text(publish.temp() / "moerge_recipe.yml", recipe.text);
  // What is published must read back as a valid adapter.
  (void)io::open_peft_adapter(publish.temp());
  for (auto& source : opened.sources) source->close();
  publish.commit();

  AdapterMergeSummary summary;
  summary.n_module = results.size();
  summary.rank_max = rank_max;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace

bool is_adapter_method(Method method) { return method == Method::lora_cat || method == Method::lora_svd; }

AdapterMergeSummary run_adapter_merge(const Recipe& recipe, const fs::path& out_dir, const comm::Comm& comm) {
  AdapterMergeSummary summary;
  // Only rank 0 looks at out_dir: another rank arriving late would find the published result.
  io::run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    std::error_code error;
    if (fs::exists(out_dir, error))
      throw ConfigError(fmt::format("{}: already exists (refusing to overwrite)", out_dir.string()));
    summary = merge_and_publish(recipe, out_dir);
  });
  return summary;
}

}  // namespace moerge::merge
