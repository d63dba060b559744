// Hugging Face model directories (Llama-style decoders) and PEFT LoRA adapter directories:
// parsing, validation, and the checks of an expert against its base.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moerge/io/safetensors.hpp"

namespace moerge::io {

/// The fields of a Llama-style config.json moerge relies on; `raw` keeps the whole document.
struct LlamaConfig {
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  nlohmann::json raw;
};
/// Parse and validate config.json (throws InputError naming the file, key and value).
LlamaConfig parse_llama_config(const std::filesystem::path& config_json);
/// The same on config.json text already read (e.g. a library object's `config` attribute);
/// `config_json` names it in messages.
LlamaConfig parse_llama_config_text(const std::string& text, const std::filesystem::path& config_json);

/// Name -> shape of every tensor a HF LlamaForCausalLM with this config holds.
using ShapeMap = std::map<std::string, std::vector<std::int64_t>>;
ShapeMap llama_tensor_shapes(const LlamaConfig& config);

/// A HF model directory: config.json + model.safetensors (or a sharded index).
struct HfModel {
  std::filesystem::path dir;
  LlamaConfig config;
  std::string config_text;  // config.json as found, kept verbatim for provenance and export
  TensorSet tensors;
};
/// Open and validate: every expected tensor present with its shape, no unexpected ones, numeric dtypes.
HfModel open_hf_model(const std::filesystem::path& dir);

/// One LoRA-adapted linear layer: `module` is the base's module path (e.g.
/// "model.layers.3.mlp.up_proj", whose weight is "<module>.weight" in the base).
struct LoraModule {
  std::string module;
  std::string a_key;  // tensor name of lora_A in the adapter file, shape [r, d_in]
  std::string b_key;  // tensor name of lora_B, shape [d_out, r]
  std::int64_t r = 0;
  std::int64_t d_in = 0;
  std::int64_t d_out = 0;
};

/// A PEFT LoRA adapter directory: adapter_config.json + adapter_model.safetensors.
struct PeftAdapter {
  std::filesystem::path dir;
  nlohmann::json config;
  std::string config_text;
  std::int64_t r = 0;
  double lora_alpha = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;
  std::string base_model_name_or_path;
  TensorSet tensors;
  std::vector<LoraModule> modules;  // sorted by module

  /// delta W = scale() * B A: alpha / r, or alpha / sqrt(r) with rsLoRA.
  double scale() const;
};
/// Open and validate on its own (config fields, A/B pairs, ranks agree with r).
PeftAdapter open_peft_adapter(const std::filesystem::path& dir);

/// Check an adapter against its base's tensor shapes: every module exists as "<module>.weight",
/// A is r x d_in and B is d_out x r for that module. Throws one InputError listing every problem,
/// naming `adapter_label` and `base_label`.
void check_adapter_against_base(const PeftAdapter& adapter, const ShapeMap& base_shapes,
                                std::string_view adapter_label, std::string_view base_label);
/// Check a full fine-tune against its base: same tensor names and shapes.
void check_model_against_base(const HfModel& model, const ShapeMap& base_shapes,
                              std::string_view model_label, std::string_view base_label);

enum class SourceKind { hf_model, peft_adapter };
/// What a directory holds (adapter_config.json -> PEFT, config.json -> HF); InputError otherwise.
SourceKind detect_source(const std::filesystem::path& dir);

}  // namespace moerge::io
