// The merge plan: resolve and check every input, evaluate per-tensor parameters, lay out the output.
#include "moerge/merge/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
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

/// Opens one reference; problems are appended instead of thrown.
std::optional<PlanInput> open_input(const ModelRef& ref, std::vector<std::string>& problems) {
  PlanInput input;
  input.label = ref.text;
  if (ref.library) {
    problems.push_back(fmt::format("model '{}': library objects are not accepted by `moerge merge` yet; export it "
                                   "with `moerge library export {} {} DIR` and name DIR",
                                   ref.text, ref.library->string(), ref.object));
    return std::nullopt;
  }
  try {
    if (io::detect_source(ref.dir) == io::SourceKind::hf_model) {
      input.kind = InputKind::hf_model;
      input.model = io::open_hf_model(ref.dir);
    } else {
      input.kind = InputKind::peft_adapter;
      input.adapter = io::open_peft_adapter(ref.dir);
      for (std::size_t idx = 0; idx < input.adapter->modules.size(); ++idx)
        input.lora_of_weight[input.adapter->modules[idx].module + ".weight"] = idx;
    }
  } catch (const Error& error) {
    problems.push_back(fmt::format("model '{}': {}", ref.text, error.what()));
    return std::nullopt;
  }
  return input;
}

}  // namespace

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
  const io::HfModel& ref_model = *ref.model;
  io::ShapeMap ref_shapes;
  for (const auto& name : ref_model.tensors.names()) ref_shapes[name] = ref_model.tensors.entry(name).shape;

  for (std::size_t idx = 0; idx < plan.inputs.size(); ++idx) {
    const PlanInput& input = plan.inputs[idx];
    try {
      if (input.kind == InputKind::hf_model) {
        if (input.model->config.vocab_size != ref_model.config.vocab_size)
          problems.push_back(fmt::format("model '{}': config.json vocab_size {} differs from {} in '{}'", input.label,
                                         input.model->config.vocab_size, ref_model.config.vocab_size, ref.label));
        for (const auto& name : input.model->tensors.names()) {
          const DType dtype = input.model->tensors.entry(name).dtype;
          if (!dtype_is_numeric(dtype))
            problems.push_back(fmt::format("model '{}': tensor '{}' has dtype {} (quantised or integer weights cannot "
                                           "be merged; F32, F16 and BF16 can)",
                                           input.label, name, dtype_name(dtype)));
        }
        if (idx != ref_idx) io::check_model_against_base(*input.model, ref_shapes, input.label, ref.label);
      } else {
        io::check_adapter_against_base(*input.adapter, ref_shapes, input.label, ref.label);
        for (const auto& module : input.adapter->modules)
          for (const auto& key : {module.a_key, module.b_key}) {
            const DType dtype = input.adapter->tensors.entry(key).dtype;
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
      const fs::path file = (input.kind == InputKind::hf_model ? input.model->dir : input.adapter->dir) / "regmean_gram.safetensors";
      if (input.kind != InputKind::hf_model || !fs::exists(file)) {
        problems.push_back(fmt::format("model '{}': regmean needs the Gram matrices of its linear layers: {} is missing",
                                       input.label, file.string()));
        continue;
      }
      try {
        input.gram = io::TensorSet::open_file(file);
        std::set<std::string> names;
        for (const auto& name : input.gram->names()) {
          names.insert(name);
          const auto shape_of = ref_shapes.find(name);
          const auto& entry = input.gram->entry(name);
          if (shape_of == ref_shapes.end() || shape_of->second.size() != 2) {
            problems.push_back(fmt::format("{}: tensor '{}' is not a linear weight of the model", file.string(), name));
          } else if (entry.shape != std::vector<std::int64_t>{shape_of->second[1], shape_of->second[1]}) {
            problems.push_back(fmt::format("{}: tensor '{}' has shape {}, the Gram matrix of that layer is [{}, {}]",
                                           file.string(), name, shape_text(entry.shape), shape_of->second[1],
                                           shape_of->second[1]));
          } else if (!dtype_is_numeric(entry.dtype)) {
            problems.push_back(fmt::format("{}: tensor '{}' has dtype {}", file.string(), name, dtype_name(entry.dtype)));
          }
        }
        if (names.empty()) problems.push_back(fmt::format("{}: holds no Gram matrix", file.string()));
        if (!first_names) {
          first_names = names;
        } else if (*first_names != names) {
          problems.push_back(fmt::format("model '{}': {} names other layers than the first model's Gram file",
                                         input.label, file.string()));
        }
      } catch (const InputError& error) {
        problems.push_back(error.what());
      }
    }
  }
  if (rec.method == Method::fisher) {
    for (const std::size_t idx : plan.merged) {
      PlanInput& input = plan.inputs[idx];
      const fs::path file = (input.kind == InputKind::hf_model ? input.model->dir : input.adapter->dir) / "fisher.safetensors";
      if (input.kind != InputKind::hf_model || !fs::exists(file)) {
        problems.push_back(fmt::format("model '{}': fisher needs a diagonal Fisher: {} is missing", input.label,
                                       file.string()));
        continue;
      }
      try {
        input.fisher = io::TensorSet::open_file(file);
        for (const auto& [name, shape] : ref_shapes) {
          if (!input.fisher->contains(name)) {
            problems.push_back(fmt::format("{}: tensor '{}' is missing", file.string(), name));
          } else if (input.fisher->entry(name).shape != shape) {
            problems.push_back(fmt::format("{}: tensor '{}' has shape {}, the model's is {}", file.string(), name,
                                           shape_text(input.fisher->entry(name).shape), shape_text(shape)));
          } else if (!dtype_is_numeric(input.fisher->entry(name).dtype)) {
            problems.push_back(fmt::format("{}: tensor '{}' has dtype {}", file.string(), name,
                                           dtype_name(input.fisher->entry(name).dtype)));
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
  const std::int64_t n_layer = ref_model.config.num_hidden_layers;
  for (const auto& [name, shape] : ref_shapes) {
    TensorTask task;
    task.name = name;
    task.shape = shape;
    const io::TensorEntry& entry = ref_model.tensors.entry(name);
    task.out_dtype = rec.out_dtype ? *rec.out_dtype : rec.dtype ? *rec.dtype : entry.dtype;
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
      task.regmean = plan.merged_input(0).gram->contains(name);
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
        task.n_byte_in += input.model->tensors.entry(name).end - input.model->tensors.entry(name).begin;
      } else if (const auto found = input.lora_of_weight.find(name); found != input.lora_of_weight.end()) {
        const auto& module = input.adapter->modules[found->second];
        for (const auto& key : {module.a_key, module.b_key})
          task.n_byte_in += input.adapter->tensors.entry(key).end - input.adapter->tensors.entry(key).begin;
      }
    }
    if (rec.method == Method::fisher)
      for (const std::size_t idx : plan.merged)
        task.n_byte_in += plan.inputs[idx].fisher->entry(name).end - plan.inputs[idx].fisher->entry(name).begin;
    if (task.regmean)
      for (const std::size_t idx : plan.merged)
        task.n_byte_in += plan.inputs[idx].gram->entry(name).end - plan.inputs[idx].gram->entry(name).begin;
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
  nlohmann::json config = ref_model.config.raw;
  if (rec.out_dtype || rec.dtype) config["torch_dtype"] = torch_dtype_name(rec.out_dtype ? *rec.out_dtype : *rec.dtype);
  plan.config_text = config.dump(2) + "\n";
  return plan;
}

}  // namespace moerge::merge
