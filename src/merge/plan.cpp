// The merge plan: resolve and check every input, evaluate per-tensor parameters, lay out the output.
#include "moerge/merge/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "moerge/core/error.hpp"

namespace fs = std::filesystem;

namespace moerge::merge {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t dim = 0; dim < shape.size(); ++dim) out += (dim ? ", " : "") + std::to_string(shape[dim]);
  return out + "]";
}

std::string_view torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::BF16: return "bfloat16";
    case DType::F16: return "float16";
    default: return "float32";
  }
}

TensorCatalog catalog_of(const io::TensorSet& set) {
  TensorCatalog catalog;
  for (const auto& name : set.names()) {
    const io::TensorEntry& entry = set.entry(name);
    catalog[name] = InputTensor{entry.dtype, entry.shape, entry.end - entry.begin};
  }
  return catalog;
}

InputTensor tensor_of(const io::DatasetInfo& info) { return InputTensor{info.dtype, info.shape, info.n_bytes}; }

PlanInput open_directory(const ModelRef& ref) {
  PlanInput input;
  input.label = ref.text;
  if (io::detect_source(ref.dir) == io::SourceKind::hf_model) {
    input.kind = InputKind::hf_model;
    input.model = io::open_hf_model(ref.dir);
    input.config = input.model->config;
    input.tensors[Part::weight] = catalog_of(input.model->tensors);
    return input;
  }
  input.kind = InputKind::peft_adapter;
  input.adapter = io::open_peft_adapter(ref.dir);
  const TensorCatalog factors = catalog_of(input.adapter->tensors);
  for (std::size_t idx = 0; idx < input.adapter->modules.size(); ++idx) {
    const io::LoraModule& module = input.adapter->modules[idx];
    input.lora_of_weight[module.module + ".weight"] = idx;
    input.tensors[Part::lora_a][module.module] = factors.at(module.a_key);
    input.tensors[Part::lora_b][module.module] = factors.at(module.b_key);
  }
  return input;
}

/// The text of a root attribute of a library object; InputError naming the file when absent.
const std::string& object_attr(const io::ObjectDescription& description, const std::string& key,
                               const fs::path& file) {
  const auto found = description.attrs.find(key);
  if (found == description.attrs.end())
    throw InputError(fmt::format("{}: object '{}' has no attribute '{}'", file.string(), description.entry.name, key));
  return found->second;
}

/// A LoRA object's factors and attributes as a PeftAdapter without tensors (the engine reads them).
void describe_lora(const io::ObjectDescription& description, const fs::path& file, PlanInput& input) {
  const std::string where = file.string();
  io::PeftAdapter adapter;
  adapter.dir = file;
  adapter.config_text = object_attr(description, "adapter_config", file);
  adapter.config = nlohmann::json::parse(adapter.config_text, nullptr, false);
  if (!adapter.config.is_object())
    throw InputError(fmt::format("{}: attribute 'adapter_config' is not a JSON object", where));
  try {
    adapter.r = std::stoll(object_attr(description, "r", file));
    adapter.lora_alpha = std::stod(object_attr(description, "alpha", file));
  } catch (const std::logic_error&) {
    throw InputError(fmt::format("{}: attributes r '{}' and alpha '{}' must be numbers", where,
                                 object_attr(description, "r", file), object_attr(description, "alpha", file)));
  }
  adapter.use_rslora = object_attr(description, "rslora", file) == "1";
  if (const auto base_name = adapter.config.find("base_model_name_or_path");
      base_name != adapter.config.end() && base_name->is_string())
    adapter.base_model_name_or_path = base_name->get<std::string>();

  std::map<std::string, const io::DatasetInfo*> datasets;
  for (const auto& info : description.datasets) datasets[info.path] = &info;
  std::vector<std::string> problems;
  std::set<std::string> targets;
  for (const auto& [path, info] : datasets) {
    if (!path.starts_with("/lora/") || !path.ends_with("/A")) continue;
    const std::string module = path.substr(6, path.size() - 8);
    const auto b_found = datasets.find(library_dataset_path(Part::lora_b, module));
    if (b_found == datasets.end()) {
      problems.push_back(fmt::format("module '{}': {} has no partner /lora/{}/B", module, path, module));
      continue;
    }
    const io::DatasetInfo& a = *info;
    const io::DatasetInfo& b = *b_found->second;
    if (a.shape.size() != 2 || b.shape.size() != 2 || a.shape[0] != adapter.r || b.shape[1] != adapter.r) {
      problems.push_back(fmt::format("module '{}': A has shape {} and B {}, expected [r, d_in] and [d_out, r] with r = {}",
                                     module, shape_text(a.shape), shape_text(b.shape), adapter.r));
      continue;
    }
    input.lora_of_weight[module + ".weight"] = adapter.modules.size();
    adapter.modules.push_back(io::LoraModule{module, a.key.empty() ? a.path : a.key, b.key.empty() ? b.path : b.key,
                                             adapter.r, a.shape[1], b.shape[0]});
    targets.insert(module.substr(module.rfind('.') + 1));
    input.tensors[Part::lora_a][module] = tensor_of(a);
    input.tensors[Part::lora_b][module] = tensor_of(b);
  }
  if (adapter.modules.empty() && problems.empty()) problems.push_back("it holds no /lora/<module>/A dataset");
  if (!problems.empty())
    throw InputError(fmt::format("{}: LoRA object '{}' is malformed:\n    {}", where, description.entry.name,
                                 fmt::join(problems, "\n    ")));
  adapter.target_modules.assign(targets.begin(), targets.end());
  input.adapter = std::move(adapter);
}

/// A library object named `LIB/:base`, `LIB/:experts/NAME` or `LIB/:merges/NAME`.
PlanInput open_library_object(const ModelRef& ref) {
  const io::Library library = io::Library::open(*ref.library, /*quiet=*/true);
  std::string name;
  std::vector<io::ObjectKind> kinds;
  if (ref.object == "base") {
    name = "base";
    kinds = {io::ObjectKind::base};
  } else if (ref.object.starts_with("experts/")) {
    name = ref.object.substr(8);
    kinds = {io::ObjectKind::lora, io::ObjectKind::full};
  } else if (ref.object.starts_with("merges/")) {
    name = ref.object.substr(7);
    kinds = {io::ObjectKind::merge};
  } else {
    throw InputError(fmt::format("{}: '{}' names no library object (write LIB/:base, LIB/:experts/NAME or "
                                 "LIB/:merges/NAME)",
                                 library.dir().string(), ref.object));
  }
  const io::CatalogueEntry& entry = library.entry(name);  // InputError listing the names it holds
  if (std::find(kinds.begin(), kinds.end(), entry.kind) == kinds.end()) {
    const std::string folder = entry.kind == io::ObjectKind::base    ? "base"
                               : entry.kind == io::ObjectKind::merge ? "merges/" + name
                                                                     : "experts/" + name;
    throw InputError(fmt::format("{}: object '{}' is a {} object, named {}/:{}", library.dir().string(), name,
                                 io::kind_name(entry.kind), ref.library->string(), folder));
  }
  const io::ObjectDescription description = library.describe(name);

  PlanInput input;
  input.label = ref.text;
  input.object = LibraryObject{library.dir(), name, entry.kind, library.dir() / entry.file};
  const fs::path& file = input.object->file;
  if (entry.kind == io::ObjectKind::lora) {
    input.kind = InputKind::peft_adapter;
    describe_lora(description, file, input);
  } else {
    input.kind = InputKind::hf_model;
    // A merge stored without its config.json has the base's architecture.
    const bool own_config = description.attrs.contains("config");
    const std::string config_text = own_config ? description.attrs.at("config")
                                               : object_attr(library.describe("base"), "config", library.object_path("base"));
    input.config = io::parse_llama_config_text(config_text, fs::path(file.string() + ":config"));
    for (const auto& info : description.datasets)
      if (info.path.starts_with("/params/")) input.tensors[Part::weight][info.path.substr(8)] = tensor_of(info);
  }
  // Statistics the object carries (used when the method reads them).
  for (const auto& info : description.datasets) {
    if (info.path.starts_with("/stats/fisher/")) input.tensors[Part::fisher][info.path.substr(14)] = tensor_of(info);
    if (info.path.starts_with("/stats/gram/") && info.path.ends_with("/G"))
      input.tensors[Part::gram][info.path.substr(12, info.path.size() - 14) + ".weight"] = tensor_of(info);
  }
  return input;
}

/// Opens one reference; problems are appended instead of thrown.
std::optional<PlanInput> open_input(const ModelRef& ref, std::vector<std::string>& problems) {
  try {
    return open_plan_input(ref);
  } catch (const Error& error) {
    problems.push_back(fmt::format("model '{}': {}", ref.text, error.what()));
    return std::nullopt;
  }
}

/// The problems of a library model's weights against the reference's names and shapes.
void check_weights(const PlanInput& input, const io::ShapeMap& ref_shapes, const std::string& ref_label,
                   std::vector<std::string>& problems) {
  const TensorCatalog& weights = input.tensors.at(Part::weight);
  for (const auto& [name, shape] : ref_shapes) {
    const auto found = weights.find(name);
    if (found == weights.end())
      problems.push_back(fmt::format("model '{}': tensor '{}' is missing ('{}' has shape {})", input.label, name,
                                     ref_label, shape_text(shape)));
    else if (found->second.shape != shape)
      problems.push_back(fmt::format("model '{}': tensor '{}' has shape {}, '{}' has {}", input.label, name,
                                     shape_text(found->second.shape), ref_label, shape_text(shape)));
  }
  for (const auto& [name, tensor] : weights)
    if (!ref_shapes.contains(name))
      problems.push_back(fmt::format("model '{}': tensor '{}' (shape {}) is not in '{}'", input.label, name,
                                     shape_text(tensor.shape), ref_label));
}

}  // namespace

std::string library_dataset_path(Part part, const std::string& name) {
  // A Gram matrix is keyed by its linear weight's name; its group by the module.
  const auto module_of = [](const std::string& weight) {
    return weight.ends_with(".weight") ? weight.substr(0, weight.size() - 7) : weight;
  };
  switch (part) {
    case Part::weight: return "/params/" + name;
    case Part::lora_a: return "/lora/" + name + "/A";
    case Part::lora_b: return "/lora/" + name + "/B";
    case Part::fisher: return "/stats/fisher/" + name;
    case Part::gram: return "/stats/gram/" + module_of(name) + "/G";
  }
  return name;
}

const InputTensor& PlanInput::tensor(Part part, std::string_view name) const {
  const auto catalog = tensors.find(part);
  if (catalog != tensors.end())
    if (const auto found = catalog->second.find(name); found != catalog->second.end()) return found->second;
  throw InputError(fmt::format("model '{}': no tensor '{}' ({})", label, name, library_dataset_path(part, std::string(name))));
}

std::string PlanInput::stats_location(Part part) const {
  const std::string_view group = part == Part::fisher ? "fisher" : "gram";
  if (object) return fmt::format("{}:/stats/{}", object->file.string(), group);
  const fs::path dir = model ? model->dir : adapter->dir;
  return (dir / (part == Part::fisher ? "fisher.safetensors" : "regmean_gram.safetensors")).string();
}

PlanInput open_plan_input(const ModelRef& ref) { return ref.library ? open_library_object(ref) : open_directory(ref); }

std::string shard_file_name(std::size_t shard_idx, std::size_t n_shard) {
  if (n_shard == 1) return "model.safetensors";
  return fmt::format("model-{:05d}-of-{:05d}.safetensors", shard_idx + 1, n_shard);
}

MergePlan make_plan(Recipe recipe, std::uint64_t max_shard_bytes) {
  MergePlan plan;
  plan.recipe = std::move(recipe);
  const Recipe& rec = plan.recipe;
  const MethodInfo& info = rec.info();
  const std::string recipe_label = rec.file.string();
  std::vector<std::string> problems;

  // Distinct inputs, the base first.
  std::map<std::string, std::size_t> input_of_ref;
  bool all_open = true;
  auto add_input = [&](const ModelRef& ref) -> std::optional<std::size_t> {
    if (const auto found = input_of_ref.find(ref.text); found != input_of_ref.end()) return found->second;
    auto input = open_input(ref, problems);
    if (!input) {
      all_open = false;
      return std::nullopt;
    }
    plan.inputs.push_back(std::move(*input));
    input_of_ref[ref.text] = plan.inputs.size() - 1;
    return plan.inputs.size() - 1;
  };
  if (rec.base) plan.base = add_input(*rec.base);
  for (const std::size_t model_idx : rec.merged_models()) {
    const auto idx = add_input(rec.models[model_idx].ref);
    if (idx) plan.merged.push_back(*idx);
  }
  if (!all_open) throw InputError(fmt::format("{}: cannot merge:\n  {}", recipe_label, fmt::join(problems, "\n  ")));

  // The reference model gives the tensor names, shapes and config.json.
  const std::size_t ref_idx = plan.base ? *plan.base : plan.merged.front();
  const PlanInput& ref = plan.inputs[ref_idx];
  if (ref.kind != InputKind::hf_model)
    throw InputError(fmt::format("{}: model '{}' is a PEFT adapter: {} needs a base_model (an HF model directory) "
                                 "to apply it to",
                                 recipe_label, ref.label, plan.base ? "the base_model must be an HF model;" : "it"));
  const io::LlamaConfig& ref_config = ref.config;
  io::ShapeMap ref_shapes;
  for (const auto& [name, tensor] : ref.tensors.at(Part::weight)) ref_shapes[name] = tensor.shape;

  for (std::size_t idx = 0; idx < plan.inputs.size(); ++idx) {
    const PlanInput& input = plan.inputs[idx];
    try {
      if (input.kind == InputKind::hf_model) {
        if (input.config.vocab_size != ref_config.vocab_size)
          problems.push_back(fmt::format("model '{}': config.json vocab_size {} differs from {} in '{}'", input.label,
                                         input.config.vocab_size, ref_config.vocab_size, ref.label));
        for (const auto& [name, tensor] : input.tensors.at(Part::weight)) {
          if (!dtype_is_numeric(tensor.dtype))
            problems.push_back(fmt::format("model '{}': tensor '{}' has dtype {} (quantised or integer weights cannot "
                                           "be merged; F32, F16 and BF16 can)",
                                           input.label, name, dtype_name(tensor.dtype)));
        }
        if (idx != ref_idx && input.model) io::check_model_against_base(*input.model, ref_shapes, input.label, ref.label);
        if (idx != ref_idx && input.object) check_weights(input, ref_shapes, ref.label, problems);
      } else {
        io::check_adapter_against_base(*input.adapter, ref_shapes, input.label, ref.label);
        for (const auto& module : input.adapter->modules)
          for (const auto& [part, key] : {std::pair{Part::lora_a, module.a_key}, std::pair{Part::lora_b, module.b_key}}) {
            const DType dtype = input.tensor(part, module.module).dtype;
            if (!dtype_is_numeric(dtype))
              problems.push_back(fmt::format("model '{}': tensor '{}' has dtype {} (not F32, F16 or BF16)",
                                             input.label, key, dtype_name(dtype)));
          }
      }
    } catch (const InputError& error) {
      problems.push_back(error.what());
    }
  }
  if (rec.method == Method::regmean) {
    // Gram matrices G = X^T X / n of each linear layer's input, keyed by the layer's weight name
    // ([d_in, d_in]); the weights they name are merged by RegMean, every other tensor by a mean.
    std::optional<std::set<std::string>> first_names;
    for (const std::size_t idx : plan.merged) {
      PlanInput& input = plan.inputs[idx];
      const std::string where = input.stats_location(Part::gram);
      const bool present = input.object ? input.tensors.contains(Part::gram) : fs::exists(where);
      if (input.kind != InputKind::hf_model) {
        problems.push_back(fmt::format("model '{}': regmean merges full models with the Gram matrices of their linear "
                                       "layers; this is a LoRA adapter",
                                       input.label));
        continue;
      }
      if (!present) {
        problems.push_back(fmt::format("model '{}': regmean needs the Gram matrices of its linear layers: {} is missing",
                                       input.label, where));
        continue;
      }
      try {
        if (!input.object) {
          input.gram = io::TensorSet::open_file(where);
          input.tensors[Part::gram] = catalog_of(*input.gram);
        }
        std::set<std::string> names;
        for (const auto& [name, tensor] : input.tensors.at(Part::gram)) {
          names.insert(name);
          const auto shape_of = ref_shapes.find(name);
          if (shape_of == ref_shapes.end() || shape_of->second.size() != 2) {
            problems.push_back(fmt::format("{}: tensor '{}' is not a linear weight of the model", where, name));
          } else if (tensor.shape != std::vector<std::int64_t>{shape_of->second[1], shape_of->second[1]}) {
            problems.push_back(fmt::format("{}: tensor '{}' has shape {}, the Gram matrix of that layer is [{}, {}]",
                                           where, name, shape_text(tensor.shape), shape_of->second[1],
                                           shape_of->second[1]));
          } else if (!dtype_is_numeric(tensor.dtype)) {
            problems.push_back(fmt::format("{}: tensor '{}' has dtype {}", where, name, dtype_name(tensor.dtype)));
          }
        }
        if (names.empty()) problems.push_back(fmt::format("{}: holds no Gram matrix", where));
        if (!first_names) {
          first_names = names;
        } else if (*first_names != names) {
          problems.push_back(fmt::format("model '{}': {} names other layers than the first model's Gram matrices",
                                         input.label, where));
        }
      } catch (const InputError& error) {
        problems.push_back(error.what());
      }
    }
  }
  if (rec.method == Method::fisher) {
    for (const std::size_t idx : plan.merged) {
      PlanInput& input = plan.inputs[idx];
      const std::string where = input.stats_location(Part::fisher);
      const bool present = input.object ? input.tensors.contains(Part::fisher) : fs::exists(where);
      if (input.kind != InputKind::hf_model) {
        problems.push_back(fmt::format("model '{}': fisher merges full models with their diagonal Fisher; this is a "
                                       "LoRA adapter",
                                       input.label));
        continue;
      }
      if (!present) {
        problems.push_back(fmt::format("model '{}': fisher needs a diagonal Fisher: {} is missing{}", input.label, where,
                                       input.object ? " (import the expert together with its fisher.safetensors)" : ""));
        continue;
      }
      try {
        if (!input.object) {
          input.fisher = io::TensorSet::open_file(where);
          input.tensors[Part::fisher] = catalog_of(*input.fisher);
        }
        const TensorCatalog& fisher = input.tensors.at(Part::fisher);
        for (const auto& [name, shape] : ref_shapes) {
          const auto found = fisher.find(name);
          if (found == fisher.end()) {
            problems.push_back(fmt::format("{}: tensor '{}' is missing", where, name));
          } else if (found->second.shape != shape) {
            problems.push_back(fmt::format("{}: tensor '{}' has shape {}, the model's is {}", where, name,
                                           shape_text(found->second.shape), shape_text(shape)));
          } else if (!dtype_is_numeric(found->second.dtype)) {
            problems.push_back(fmt::format("{}: tensor '{}' has dtype {}", where, name, dtype_name(found->second.dtype)));
          }
        }
      } catch (const InputError& error) {
        problems.push_back(error.what());
      }
    }
  }
  if (!problems.empty())
    throw InputError(fmt::format("{}: cannot merge ({} problem{}):\n  {}", recipe_label, problems.size(),
                                 problems.size() == 1 ? "" : "s", fmt::join(problems, "\n  ")));

  // Per-tensor parameters.
  const std::vector<std::size_t> merged_models = rec.merged_models();
  const std::int64_t n_layer = ref_config.num_hidden_layers;
  for (const auto& [name, shape] : ref_shapes) {
    TensorTask task;
    task.name = name;
    task.shape = shape;
    task.out_dtype = rec.out_dtype ? *rec.out_dtype : rec.dtype ? *rec.dtype : ref.tensor(Part::weight, name).dtype;
    task.numel = 1;
    for (const auto dim : shape) task.numel *= static_cast<std::uint64_t>(dim);
    task.n_row = shape.size() >= 2 ? static_cast<std::uint64_t>(shape[0]) : 1;
    task.row_length = task.n_row > 0 ? task.numel / task.n_row : 0;
    if (task.numel == 0) task.n_row = 0;
    task.layer_t = layer_position(name, n_layer);
    const double t = task.layer_t;
    auto global = [&](std::string_view key, double fallback) {
      return rec.parameter(key, std::nullopt, name, t).value_or(fallback);
    };
    task.normalize = global("normalize", info.normalize_default ? 1.0 : 0.0) != 0.0;
    task.lambda = global("lambda", 1.0);
    task.filter_wise = global("filter_wise", 0.0) != 0.0;
    if (rec.method == Method::slerp) {
      const auto value = rec.parameter("t", std::nullopt, name, t);
      if (!value)
        throw ConfigError(fmt::format("{}: parameters.t: no value for tensor '{}' (add a default entry without a filter)",
                                      recipe_label, name));
      task.t = *value;
    }
    const bool rescale = global("rescale", info.rescale_default ? 1.0 : 0.0) != 0.0;
    for (std::size_t merged_idx = 0; merged_idx < merged_models.size(); ++merged_idx) {
      const std::size_t model_idx = merged_models[merged_idx];
      task.weight.push_back(rec.parameter("weight", model_idx, name, t).value_or(1.0));
      if (rec.method == Method::passthrough) task.scale = rec.parameter("scale", model_idx, name, t).value_or(1.0);
      SparsifyParams params;
      params.method = info.sparsify;
      params.density = rec.parameter("density", model_idx, name, t).value_or(1.0);
      params.gamma = rec.parameter("gamma", model_idx, name, t).value_or(0.01);
      params.epsilon = rec.parameter("epsilon", model_idx, name, t).value_or(0.15);
      params.rescale = rescale ? rec.rescale_mode : RescaleMode::none;
      if (rec.method == Method::ties && rec.ties_scope == TiesScope::global) params.rescale = RescaleMode::none;
      try {
        validate(params);
      } catch (const ConfigError& error) {
        throw ConfigError(fmt::format("{}: model '{}' on tensor '{}': {}", recipe_label, rec.models[model_idx].ref.text,
                                      name, error.what()));
      }
      task.sparsify.push_back(params);
    }
    if (rec.method == Method::regmean) {
      task.regmean = plan.merged_input(0).tensors.at(Part::gram).contains(name);
      task.regmean_alpha = global("alpha", 1.0);
      if (!(task.regmean_alpha >= 0.0 && task.regmean_alpha <= 1.0))
        throw ConfigError(fmt::format("{}: parameters.alpha: must lie in [0, 1], got {}", recipe_label, task.regmean_alpha));
      task.normalize = true;  // tensors without Gram matrices: the weighted mean
    }
    if ((rec.method == Method::linear || (rec.method == Method::regmean && !task.regmean)) && task.normalize) {
      double sum = 0;
      for (const double weight : task.weight) sum += weight;
      if (std::abs(sum) < 1e-8)
        throw ConfigError(fmt::format("{}: linear with normalize: the weights of tensor '{}' sum to {}", recipe_label,
                                      name, sum));
    }
    task.n_byte_out = task.numel * dtype_size(task.out_dtype);
    for (const PlanInput& input : plan.inputs) {
      if (input.kind == InputKind::hf_model) {
        task.n_byte_in += input.tensor(Part::weight, name).n_bytes;
      } else if (const auto found = input.lora_of_weight.find(name); found != input.lora_of_weight.end()) {
        const std::string& module = input.adapter->modules[found->second].module;
        task.n_byte_in += input.tensor(Part::lora_a, module).n_bytes + input.tensor(Part::lora_b, module).n_bytes;
      }
    }
    if (rec.method == Method::fisher)
      for (const std::size_t idx : plan.merged) task.n_byte_in += plan.inputs[idx].tensor(Part::fisher, name).n_bytes;
    if (task.regmean)
      for (const std::size_t idx : plan.merged) task.n_byte_in += plan.inputs[idx].tensor(Part::gram, name).n_bytes;
    plan.n_byte_in += task.n_byte_in;
    plan.n_byte_out += task.n_byte_out;
    plan.tensors.push_back(std::move(task));
  }

  // Output layout: greedy shards in name order (a tensor larger than the limit gets its own), each
  // a safetensors file with sorted keys, tensors in key order, data 8-byte aligned.
  if (max_shard_bytes == 0) throw ConfigError("--max-shard-size must be positive");
  std::vector<std::vector<std::size_t>> groups(1);
  std::uint64_t group_bytes = 0;
  for (std::size_t idx = 0; idx < plan.tensors.size(); ++idx) {
    const std::uint64_t n_byte = plan.tensors[idx].n_byte_out;
    if (!groups.back().empty() && group_bytes + n_byte > max_shard_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    group_bytes += n_byte;
    groups.back().push_back(idx);
  }
  for (std::size_t shard_idx = 0; shard_idx < groups.size(); ++shard_idx) {
    ShardLayout shard;
    shard.file = shard_file_name(shard_idx, groups.size());
    shard.tensors = groups[shard_idx];
    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const std::size_t idx : shard.tensors) {
      const TensorTask& task = plan.tensors[idx];
      header[task.name] = {{"dtype", std::string(dtype_name(task.out_dtype))},
                           {"shape", task.shape},
                           {"data_offsets", {offset, offset + task.n_byte_out}}};
      offset += task.n_byte_out;
    }
    header["__metadata__"] = {{"format", "pt"}};
    std::string json = header.dump();
    while ((8 + json.size()) % 8 != 0) json.push_back(' ');
    std::string bytes(8, '\0');
    std::uint64_t n = json.size();
    for (int byte_idx = 0; byte_idx < 8; ++byte_idx) bytes[byte_idx] = static_cast<char>((n >> (8 * byte_idx)) & 0xff);
    shard.header = bytes + json;
    shard.size = shard.header.size() + offset;
    std::uint64_t running = shard.header.size();
    for (const std::size_t idx : shard.tensors) {
      plan.tensors[idx].shard = shard_idx;
      plan.tensors[idx].file_offset = running;
      running += plan.tensors[idx].n_byte_out;
    }
    plan.shards.push_back(std::move(shard));
  }

  // config.json of the output: the reference's, with torch_dtype set when the recipe names a dtype.
  nlohmann::json config = ref_config.raw;
  if (rec.out_dtype || rec.dtype) config["torch_dtype"] = torch_dtype_name(rec.out_dtype ? *rec.out_dtype : *rec.dtype);
  plan.config_text = config.dump(2) + "\n";
  return plan;
}

}  // namespace moerge::merge
