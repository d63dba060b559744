// Hugging Face Llama model directories and PEFT LoRA adapter directories: config parsing, tensor
// name/shape/dtype validation, and the checks of an expert against its base model.
#include "moerge/io/hf.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "safetensors_detail.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace moerge::io {

namespace {

using detail::brief_json;
using detail::format_shape;

/// Largest config.json / adapter_config.json read (real ones are a few kB).
constexpr std::uintmax_t kMaxConfigBytes = 16u << 20;
/// Largest size a config may give one dimension, so that every shape product fits in int64.
constexpr std::int64_t kMaxDim = std::int64_t{1} << 24;
/// Largest layer count accepted.
constexpr std::int64_t kMaxLayers = 1 << 16;

constexpr std::string_view kPeftPrefix = "base_model.model.";
constexpr std::string_view kLoraASuffix = ".lora_A.weight";
constexpr std::string_view kLoraBSuffix = ".lora_B.weight";

/// The text of a small JSON file; IoError when it cannot be read, InputError when it is absent
/// or too large.
std::string read_config_text(const fs::path& path, std::string_view what) {
  std::error_code error;
  const auto status = fs::status(path, error);
  if (!fs::exists(status)) throw InputError(fmt::format("{}: no {} (file not found)", path.string(), what));
  if (!fs::is_regular_file(status))
    throw InputError(fmt::format("{}: {} is not a regular file", path.string(), what));
  const std::uintmax_t n_byte = fs::file_size(path, error);
  if (error) throw IoError(fmt::format("{}: cannot stat: {}", path.string(), error.message()));
  if (n_byte > kMaxConfigBytes)
    throw InputError(fmt::format("{}: {} is {} bytes, above the limit of {} bytes", path.string(), what,
                                 n_byte, kMaxConfigBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open {}", path.string(), what));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("{}: read of {} failed", path.string(), what));
  return text.str();
}

/// Parse a config document: strict JSON (valid UTF-8, no duplicate keys), a top-level object.
json parse_config_object(const std::string& text, const fs::path& path, std::string_view what) {
  json root = detail::parse_json_strict(text, path.string(), what);
  if (!root.is_object())
    throw InputError(fmt::format("{}: {} is not a JSON object (found {} {})", path.string(), what,
                                 root.type_name(), brief_json(root)));
  return root;
}

bool is_null_or_absent(const json& root, std::string_view key) {
  const auto found = root.find(key);
  return found == root.end() || found->is_null();
}

/// A required positive integer no larger than `max_value`.
std::int64_t positive_int(const json& root, std::string_view key, const std::string& label,
                          std::int64_t max_value) {
  const auto found = root.find(key);
  if (found == root.end())
    throw InputError(fmt::format("{}: key '{}' is missing (a positive integer is required)", label, key));
  const json& value = *found;
  if (!value.is_number_integer())
    throw InputError(fmt::format("{}: key '{}' must be a positive integer (found {} {})", label, key,
                                 value.type_name(), brief_json(value)));
  if (value.is_number_unsigned()) {
    const auto unsigned_value = value.get<std::uint64_t>();
    if (unsigned_value > static_cast<std::uint64_t>(max_value))
      throw InputError(
          fmt::format("{}: key '{}' is {}, above the limit of {}", label, key, unsigned_value, max_value));
    if (unsigned_value == 0)
      throw InputError(fmt::format("{}: key '{}' must be a positive integer (found 0)", label, key));
    return static_cast<std::int64_t>(unsigned_value);
  }
  const auto signed_value = value.get<std::int64_t>();
  if (signed_value <= 0)
    throw InputError(
        fmt::format("{}: key '{}' must be a positive integer (found {})", label, key, signed_value));
  if (signed_value > max_value)
    throw InputError(
        fmt::format("{}: key '{}' is {}, above the limit of {}", label, key, signed_value, max_value));
  return signed_value;
}

/// An optional finite positive number, `fallback` when absent or null.
double positive_number(const json& root, std::string_view key, const std::string& label, double fallback) {
  const auto found = root.find(key);
  if (found == root.end() || found->is_null()) return fallback;
  const json& value = *found;
  if (!value.is_number())
    throw InputError(fmt::format("{}: key '{}' must be a positive number (found {} {})", label, key,
                                 value.type_name(), brief_json(value)));
  const double number = value.get<double>();
  if (!(number > 0) || !std::isfinite(number))
    throw InputError(
        fmt::format("{}: key '{}' must be a positive number (found {})", label, key, brief_json(value)));
  return number;
}

/// An optional boolean, `fallback` when absent or null.
bool optional_bool(const json& root, std::string_view key, const std::string& label, bool fallback) {
  const auto found = root.find(key);
  if (found == root.end() || found->is_null()) return fallback;
  if (!found->is_boolean())
    throw InputError(fmt::format("{}: key '{}' must be true or false (found {} {})", label, key,
                                 found->type_name(), brief_json(*found)));
  return found->get<bool>();
}

/// An optional string key that, when present and not null, must equal one of `allowed`.
void require_string_in(const json& root, std::string_view key, const std::string& label,
                       std::initializer_list<std::string_view> allowed, std::string_view why) {
  const auto found = root.find(key);
  if (found == root.end() || found->is_null()) return;
  if (!found->is_string())
    throw InputError(fmt::format("{}: key '{}' must be a string (found {} {})", label, key,
                                 found->type_name(), brief_json(*found)));
  const auto& text = found->get_ref<const std::string&>();
  if (std::find(allowed.begin(), allowed.end(), text) == allowed.end())
    throw InputError(fmt::format("{}: key '{}' is {}: {}", label, key, brief_json(*found), why));
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

/// HF Llama checkpoints before transformers 4.31 stored RoPE's inverse frequencies as a buffer.
bool is_rotary_inv_freq(std::string_view name) {
  return name.starts_with("model.layers.") && ends_with(name, ".self_attn.rotary_emb.inv_freq");
}

std::string shape_text(const std::vector<std::int64_t>& shape) { return format_shape(shape); }

/// Most problems one message lists (a wrong base for a large model would otherwise list hundreds).
constexpr std::size_t kMaxProblemsListed = 40;

/// "{header}: {problem}" for one problem, or a header line and one indented line per problem.
[[noreturn]] void throw_problems(std::string_view header, const std::vector<std::string>& problems) {
  if (problems.size() == 1) throw InputError(fmt::format("{}: {}", header, problems.front()));
  std::string message = fmt::format("{}: {} problems:", header, problems.size());
  const std::size_t n_listed = std::min(problems.size(), kMaxProblemsListed);
  for (std::size_t problem_idx = 0; problem_idx < n_listed; ++problem_idx)
    message += "\n  - " + problems[problem_idx];
  if (n_listed < problems.size()) message += fmt::format("\n  - ... and {} more", problems.size() - n_listed);
  throw InputError(message);
}

}  // namespace

LlamaConfig parse_llama_config_text(const std::string& text, const fs::path& config_json) {
  const std::string label = config_json.string();
  const json root = parse_config_object(text, config_json, "config");

  const auto model_type = root.find("model_type");
  if (model_type == root.end())
    throw InputError(fmt::format("{}: key 'model_type' is missing (\"llama\" is required)", label));
  if (!model_type->is_string() || model_type->get_ref<const std::string&>() != "llama")
    throw InputError(
        fmt::format("{}: key 'model_type' is {}: only Llama-architecture models (\"llama\") are "
                    "supported",
                    label, brief_json(*model_type)));
  if (const auto architectures = root.find("architectures");
      architectures != root.end() && !architectures->is_null()) {
    const bool is_llama_list =
        architectures->is_array() &&
        std::any_of(architectures->begin(), architectures->end(), [](const json& entry) {
          return entry.is_string() && entry.get_ref<const std::string&>() == "LlamaForCausalLM";
        });
    if (!is_llama_list)
      throw InputError(
          fmt::format("{}: key 'architectures' is {}: a list holding \"LlamaForCausalLM\" is required", label,
                      brief_json(*architectures)));
  }

  LlamaConfig config;
  config.hidden_size = positive_int(root, "hidden_size", label, kMaxDim);
  config.intermediate_size = positive_int(root, "intermediate_size", label, kMaxDim);
  config.num_hidden_layers = positive_int(root, "num_hidden_layers", label, kMaxLayers);
  config.num_attention_heads = positive_int(root, "num_attention_heads", label, kMaxDim);
  // As transformers' LlamaConfig: absent or null means one key/value head per attention head.
  config.num_key_value_heads = is_null_or_absent(root, "num_key_value_heads")
                                   ? config.num_attention_heads
                                   : positive_int(root, "num_key_value_heads", label, kMaxDim);
  config.vocab_size = positive_int(root, "vocab_size", label, kMaxDim);
  config.max_position_embeddings = positive_int(root, "max_position_embeddings", label, kMaxDim);
  config.rms_norm_eps = positive_number(root, "rms_norm_eps", label, 1e-6);
  config.rope_theta = positive_number(root, "rope_theta", label, 10000.0);
  config.tie_word_embeddings = optional_bool(root, "tie_word_embeddings", label, false);

  if (config.hidden_size % config.num_attention_heads != 0)
    throw InputError(fmt::format("{}: key 'hidden_size' ({}) is not divisible by 'num_attention_heads' ({})",
                                 label, config.hidden_size, config.num_attention_heads));
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    throw InputError(
        fmt::format("{}: key 'num_attention_heads' ({}) is not divisible by 'num_key_value_heads' ({})",
                    label, config.num_attention_heads, config.num_key_value_heads));
  if (!is_null_or_absent(root, "head_dim")) {
    const std::int64_t head_dim = positive_int(root, "head_dim", label, kMaxDim);
    if (head_dim != config.hidden_size / config.num_attention_heads)
      throw InputError(
          fmt::format("{}: key 'head_dim' is {}, but hidden_size / num_attention_heads is {}; a head "
                      "size other than that is not supported",
                      label, head_dim, config.hidden_size / config.num_attention_heads));
  }

  // Variants the model code does not implement: refuse them rather than compute something else.
  require_string_in(root, "hidden_act", label, {"silu"}, "only \"silu\" (SwiGLU) is supported");
  if (optional_bool(root, "attention_bias", label, false))
    throw InputError(
        fmt::format("{}: key 'attention_bias' is true: attention projections with biases are not "
                    "supported",
                    label));
  if (optional_bool(root, "mlp_bias", label, false))
    throw InputError(
        fmt::format("{}: key 'mlp_bias' is true: MLP projections with biases are not supported", label));
  if (!is_null_or_absent(root, "rope_scaling"))
    throw InputError(
        fmt::format("{}: key 'rope_scaling' is {}: RoPE scaling is not supported (null is required)", label,
                    brief_json(root.at("rope_scaling"))));
  config.raw = root;
  return config;
}

LlamaConfig parse_llama_config(const fs::path& config_json) {
  return parse_llama_config_text(read_config_text(config_json, "config.json"), config_json);
}

ShapeMap llama_tensor_shapes(const LlamaConfig& config) {
  const std::int64_t d_model = config.hidden_size;
  const std::int64_t n_ff = config.intermediate_size;
  const std::int64_t d_head = d_model / config.num_attention_heads;
  const std::int64_t d_kv = config.num_key_value_heads * d_head;
  ShapeMap shapes;
  shapes["model.embed_tokens.weight"] = {config.vocab_size, d_model};
  for (std::int64_t layer_idx = 0; layer_idx < config.num_hidden_layers; ++layer_idx) {
    const std::string layer = fmt::format("model.layers.{}.", layer_idx);
    shapes[layer + "self_attn.q_proj.weight"] = {d_model, d_model};
    shapes[layer + "self_attn.k_proj.weight"] = {d_kv, d_model};
    shapes[layer + "self_attn.v_proj.weight"] = {d_kv, d_model};
    shapes[layer + "self_attn.o_proj.weight"] = {d_model, d_model};
    shapes[layer + "mlp.gate_proj.weight"] = {n_ff, d_model};
    shapes[layer + "mlp.up_proj.weight"] = {n_ff, d_model};
    shapes[layer + "mlp.down_proj.weight"] = {d_model, n_ff};
    shapes[layer + "input_layernorm.weight"] = {d_model};
    shapes[layer + "post_attention_layernorm.weight"] = {d_model};
  }
  shapes["model.norm.weight"] = {d_model};
  if (!config.tie_word_embeddings) shapes["lm_head.weight"] = {config.vocab_size, d_model};
  return shapes;
}

HfModel open_hf_model(const fs::path& dir) {
  HfModel model;
  model.dir = dir;
  const fs::path config_path = dir / "config.json";
  model.config_text = read_config_text(config_path, "config.json");
  model.config = parse_llama_config_text(model.config_text, config_path);
  model.tensors = TensorSet::open_dir(dir);

  const ShapeMap expected = llama_tensor_shapes(model.config);
  std::vector<std::string> problems;
  for (const auto& [name, shape] : expected) {
    if (!model.tensors.contains(name)) {
      problems.push_back(fmt::format("tensor '{}' is missing (expected shape {} for this config.json)", name,
                                     shape_text(shape)));
      continue;
    }
    const TensorEntry& entry = model.tensors.entry(name);
    const std::string file = model.tensors.file_of(name).filename().string();
    if (entry.shape != shape)
      problems.push_back(fmt::format("{}: tensor '{}' has shape {}, expected {} from config.json", file, name,
                                     shape_text(entry.shape), shape_text(shape)));
    if (!dtype_is_numeric(entry.dtype))
      problems.push_back(
          fmt::format("{}: tensor '{}' has dtype {}; only F32, F16 and BF16 are supported (quantised "
                      "or integer weights are refused)",
                      file, name, dtype_name(entry.dtype)));
  }
  for (const std::string& name : model.tensors.names()) {
    if (expected.contains(name)) continue;
    const std::string file = model.tensors.file_of(name).filename().string();
    if (is_rotary_inv_freq(name)) {
      log::warn("{}: ignoring tensor '{}' (a RoPE buffer old transformers versions saved)",
                model.tensors.file_of(name).string(), name);
      continue;
    }
    problems.push_back(
        fmt::format("{}: unexpected tensor '{}' (not part of a LlamaForCausalLM with this "
                    "config.json{})",
                    file, name,
                    name == "lm_head.weight" && model.config.tie_word_embeddings
                        ? ", which ties lm_head to the embeddings"
                        : ""));
  }
  if (!problems.empty()) throw_problems(dir.string(), problems);
  return model;
}

double PeftAdapter::scale() const {
  return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r)) : lora_alpha / static_cast<double>(r);
}

PeftAdapter open_peft_adapter(const fs::path& dir) {
  PeftAdapter adapter;
  adapter.dir = dir;
  const fs::path config_path = dir / "adapter_config.json";
  const std::string label = config_path.string();
  adapter.config_text = read_config_text(config_path, "adapter_config.json");
  const json root = parse_config_object(adapter.config_text, config_path, "adapter config");

  const auto peft_type = root.find("peft_type");
  if (peft_type == root.end())
    throw InputError(fmt::format("{}: key 'peft_type' is missing (\"LORA\" is required)", label));
  if (!peft_type->is_string() || peft_type->get_ref<const std::string&>() != "LORA")
    throw InputError(fmt::format("{}: key 'peft_type' is {}: only LoRA adapters (\"LORA\") are supported",
                                 label, brief_json(*peft_type)));
  require_string_in(root, "task_type", label, {"CAUSAL_LM"},
                    "only causal-LM adapters (\"CAUSAL_LM\") are supported");

  adapter.r = positive_int(root, "r", label, kMaxDim);
  if (!root.contains("lora_alpha"))
    throw InputError(fmt::format("{}: key 'lora_alpha' is missing (a positive number is required)", label));
  adapter.lora_alpha = positive_number(root, "lora_alpha", label, 0.0);
  if (!(adapter.lora_alpha > 0))
    throw InputError(fmt::format("{}: key 'lora_alpha' must be a positive number (found null)", label));
  adapter.use_rslora = optional_bool(root, "use_rslora", label, false);

  const auto targets = root.find("target_modules");
  if (targets == root.end() || targets->is_null())
    throw InputError(
        fmt::format("{}: key 'target_modules' is missing (a list of module names is required)", label));
  if (targets->is_string())
    throw InputError(
        fmt::format("{}: key 'target_modules' is the string {}; PEFT reads a string as a regular "
                    "expression (or the shorthand \"all-linear\"), which moerge does not support: give a "
                    "list of module names such as "
                    "[\"q_proj\", \"v_proj\"]",
                    label, brief_json(*targets)));
  if (!targets->is_array() || targets->empty())
    throw InputError(
        fmt::format("{}: key 'target_modules' must be a non-empty list of module names (found {})", label,
                    brief_json(*targets)));
  for (const json& target : *targets) {
    if (!target.is_string() || target.get_ref<const std::string&>().empty())
      throw InputError(
          fmt::format("{}: key 'target_modules' holds {}; every entry must be a module name string", label,
                      brief_json(target)));
    adapter.target_modules.push_back(target.get<std::string>());
  }
  std::sort(adapter.target_modules.begin(), adapter.target_modules.end());
  adapter.target_modules.erase(std::unique(adapter.target_modules.begin(), adapter.target_modules.end()),
                               adapter.target_modules.end());

  const auto base_name = root.find("base_model_name_or_path");
  if (base_name == root.end())
    throw InputError(fmt::format("{}: key 'base_model_name_or_path' is missing", label));
  if (!base_name->is_null() && !base_name->is_string())
    throw InputError(fmt::format("{}: key 'base_model_name_or_path' must be a string (found {} {})", label,
                                 base_name->type_name(), brief_json(*base_name)));
  if (base_name->is_string()) adapter.base_model_name_or_path = base_name->get<std::string>();

  if (optional_bool(root, "fan_in_fan_out", label, false))
    throw InputError(
        fmt::format("{}: key 'fan_in_fan_out' is true: transposed (Conv1D, GPT-2 style) LoRA weights "
                    "are not supported",
                    label));
  if (optional_bool(root, "use_dora", label, false))
    throw InputError(fmt::format("{}: key 'use_dora' is true: DoRA adapters are not supported", label));
  for (const std::string_view key : {"rank_pattern", "alpha_pattern"}) {
    const auto pattern = root.find(key);
    if (pattern == root.end() || pattern->is_null()) continue;
    if (!pattern->is_object())
      throw InputError(
          fmt::format("{}: key '{}' must be an object (found {})", label, key, brief_json(*pattern)));
    if (!pattern->empty())
      throw InputError(
          fmt::format("{}: key '{}' is {}: per-module ranks and alphas are not supported yet (every "
                      "module must use r and lora_alpha)",
                      label, key, brief_json(*pattern)));
  }
  require_string_in(root, "bias", label, {"none"}, "trained biases are not supported (\"none\" is required)");
  if (const auto saved = root.find("modules_to_save");
      saved != root.end() && !saved->is_null() && !(saved->is_array() && saved->empty()))
    throw InputError(
        fmt::format("{}: key 'modules_to_save' is {}: adapters that carry fully trained modules are "
                    "not supported",
                    label, brief_json(*saved)));
  adapter.config = root;

  adapter.tensors = TensorSet::open_dir(dir, "adapter_model");

  // Pair lora_A / lora_B keys by module path.
  struct Pair {
    std::optional<std::string> a_key;
    std::optional<std::string> b_key;
  };
  std::map<std::string, Pair> pairs;
  std::vector<std::string> problems;
  for (const std::string& name : adapter.tensors.names()) {
    const std::string_view key = name;
    const bool is_a = ends_with(key, kLoraASuffix);
    const bool is_b = ends_with(key, kLoraBSuffix);
    if (!key.starts_with(kPeftPrefix) || !(is_a || is_b)) {
      problems.push_back(
          fmt::format("tensor '{}' is not a LoRA weight (expected 'base_model.model.<module>"
                      ".lora_A.weight' or '.lora_B.weight'; DoRA magnitudes, embedding LoRA and "
                      "other PEFT tensors are not supported)",
                      name));
      continue;
    }
    const std::string module(key.substr(
        kPeftPrefix.size(), key.size() - kPeftPrefix.size() - (is_a ? kLoraASuffix : kLoraBSuffix).size()));
    if (module.empty()) {
      problems.push_back(fmt::format("tensor '{}' names no module", name));
      continue;
    }
    (is_a ? pairs[module].a_key : pairs[module].b_key) = name;
  }
  if (pairs.empty() && problems.empty()) problems.push_back("holds no LoRA tensors");

  for (const auto& [module, pair] : pairs) {
    if (!pair.a_key) {
      problems.push_back(fmt::format("module '{}': has lora_B ('{}') but no lora_A", module, *pair.b_key));
      continue;
    }
    if (!pair.b_key) {
      problems.push_back(fmt::format("module '{}': has lora_A ('{}') but no lora_B", module, *pair.a_key));
      continue;
    }
    const std::string component = module.substr(module.rfind('.') + 1);
    if (!std::binary_search(adapter.target_modules.begin(), adapter.target_modules.end(), component))
      problems.push_back(fmt::format("module '{}': '{}' is not in target_modules {}", module, component,
                                     brief_json(json(adapter.target_modules))));
    const TensorEntry& a_entry = adapter.tensors.entry(*pair.a_key);
    const TensorEntry& b_entry = adapter.tensors.entry(*pair.b_key);
    bool shapes_ok = true;
    for (const TensorEntry* entry : {&a_entry, &b_entry}) {
      if (!dtype_is_numeric(entry->dtype)) {
        problems.push_back(fmt::format("tensor '{}' has dtype {}; only F32, F16 and BF16 are supported",
                                       entry->name, dtype_name(entry->dtype)));
        shapes_ok = false;
      }
      if (entry->shape.size() != 2) {
        problems.push_back(fmt::format("tensor '{}' has shape {}; a LoRA weight is a matrix", entry->name,
                                       shape_text(entry->shape)));
        shapes_ok = false;
      }
    }
    if (!shapes_ok) continue;
    if (a_entry.shape[0] != adapter.r)
      problems.push_back(
          fmt::format("module '{}': lora_A has shape {}, expected [r, d_in] with r = {} from "
                      "adapter_config.json",
                      module, shape_text(a_entry.shape), adapter.r));
    if (b_entry.shape[1] != adapter.r)
      problems.push_back(
          fmt::format("module '{}': lora_B has shape {}, expected [d_out, r] with r = {} from "
                      "adapter_config.json",
                      module, shape_text(b_entry.shape), adapter.r));
    if (a_entry.shape[1] <= 0 || b_entry.shape[0] <= 0)
      problems.push_back(fmt::format("module '{}': lora_A {} and lora_B {} must have positive d_in and d_out",
                                     module, shape_text(a_entry.shape), shape_text(b_entry.shape)));
    adapter.modules.push_back(LoraModule{.module = module,
                                         .a_key = *pair.a_key,
                                         .b_key = *pair.b_key,
                                         .r = adapter.r,
                                         .d_in = a_entry.shape[1],
                                         .d_out = b_entry.shape[0]});
  }
  if (!problems.empty()) {
    const std::vector<std::string> names = adapter.tensors.names();
    throw_problems(
        names.empty() ? adapter.tensors.source().string() : adapter.tensors.file_of(names.front()).string(),
        problems);
  }
  return adapter;
}

void check_adapter_against_base(const PeftAdapter& adapter, const ShapeMap& base_shapes,
                                std::string_view adapter_label, std::string_view base_label) {
  std::vector<std::string> problems;
  for (const LoraModule& lora : adapter.modules) {
    const std::string weight = lora.module + ".weight";
    const auto found = base_shapes.find(weight);
    const std::vector<std::int64_t> a_shape{lora.r, lora.d_in};
    const std::vector<std::int64_t> b_shape{lora.d_out, lora.r};
    if (found == base_shapes.end()) {
      problems.push_back(
          fmt::format("module '{}': the base has no tensor '{}' (adapter has lora_A {}, lora_B {})",
                      lora.module, weight, shape_text(a_shape), shape_text(b_shape)));
      continue;
    }
    const std::vector<std::int64_t>& base_shape = found->second;
    if (base_shape.size() != 2) {
      problems.push_back(
          fmt::format("module '{}': base tensor '{}' has shape {}, not a linear layer's matrix", lora.module,
                      weight, shape_text(base_shape)));
      continue;
    }
    const std::int64_t d_out = base_shape[0];
    const std::int64_t d_in = base_shape[1];
    if (lora.d_in != d_in)
      problems.push_back(fmt::format(
          "module '{}': lora_A has shape {}, expected {} (base weight {} is [d_out, d_in] "
          "= {})",
          lora.module, shape_text(a_shape), shape_text({lora.r, d_in}), weight, shape_text(base_shape)));
    if (lora.d_out != d_out)
      problems.push_back(fmt::format(
          "module '{}': lora_B has shape {}, expected {} (base weight {} is [d_out, d_in] "
          "= {})",
          lora.module, shape_text(b_shape), shape_text({d_out, lora.r}), weight, shape_text(base_shape)));
  }
  if (!problems.empty())
    throw_problems(fmt::format("adapter {} does not fit base {}", adapter_label, base_label), problems);
}

void check_model_against_base(const HfModel& model, const ShapeMap& base_shapes, std::string_view model_label,
                              std::string_view base_label) {
  std::vector<std::string> problems;
  for (const auto& [name, shape] : base_shapes) {
    if (!model.tensors.contains(name)) {
      problems.push_back(fmt::format("tensor '{}' is missing (base shape {})", name, shape_text(shape)));
      continue;
    }
    const TensorEntry& entry = model.tensors.entry(name);
    if (entry.shape != shape)
      problems.push_back(fmt::format("tensor '{}' has shape {}, base has {}", name, shape_text(entry.shape),
                                     shape_text(shape)));
  }
  for (const std::string& name : model.tensors.names())
    if (!base_shapes.contains(name) && !is_rotary_inv_freq(name))
      problems.push_back(fmt::format("tensor '{}' (shape {}) is not in the base", name,
                                     shape_text(model.tensors.entry(name).shape)));
  if (!problems.empty())
    throw_problems(fmt::format("model {} does not fit base {}", model_label, base_label), problems);
}

SourceKind detect_source(const fs::path& dir) {
  std::error_code error;
  const auto status = fs::status(dir, error);
  if (!fs::exists(status)) throw InputError(fmt::format("{}: no such directory", dir.string()));
  if (!fs::is_directory(status))
    throw InputError(
        fmt::format("{}: is not a directory (expected a HF model or PEFT adapter directory)", dir.string()));
  const auto exists = [&dir](std::string_view name) { return fs::exists(dir / name); };
  // The first pickle checkpoint (by name) whose file name starts with `stem`, when there is one.
  const auto refuse_pickle_weights = [&dir](std::string_view stem) {
    std::vector<fs::path> pickles;
    std::error_code list_error;
    for (const auto& entry : fs::directory_iterator(dir, list_error)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(stem) && detail::has_pickle_extension(name)) pickles.push_back(entry.path());
    }
    std::sort(pickles.begin(), pickles.end());
    if (!pickles.empty()) refuse_pickle(pickles.front());
  };

  // Weights present only as a pickle checkpoint: refuse that file. Other pickles (a Trainer's
  // training_args.bin) beside safetensors weights are left alone.
  if (exists("adapter_config.json")) {
    if (!exists("adapter_model.safetensors")) refuse_pickle_weights("adapter_model");
    return SourceKind::peft_adapter;
  }
  if (exists("config.json")) {
    if (!exists("model.safetensors") && !exists("model.safetensors.index.json"))
      refuse_pickle_weights("pytorch_model");
    return SourceKind::hf_model;
  }
  refuse_pickle_weights("adapter_model");
  refuse_pickle_weights("pytorch_model");
  throw InputError(fmt::format(
      "{}: holds neither adapter_config.json (a PEFT adapter) nor config.json (a HF model)", dir.string()));
}

}  // namespace moerge::io
