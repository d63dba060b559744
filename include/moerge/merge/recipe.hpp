// Merge recipes: mergekit's YAML (models, merge_method, base_model, parameters with per-tensor
// filters and layer gradients, dtype, out_dtype) plus moerge's own keys, parsed and validated into
// a plain struct, and the method table that `moerge methods` prints. Format: docs/merge.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/merge/kernels.hpp"
#include "moerge/tensor/dtype.hpp"

namespace moerge::merge {

enum class Method {
  linear,
  task_arithmetic,
  ties,
  dare_linear,
  dare_ties,
  breadcrumbs,
  breadcrumbs_ties,
  della,
  della_linear,
  slerp,
  model_stock,
  fisher,
  regmean,
  passthrough,
  lora_cat,  // LoRA adapters in, one PEFT adapter out (merge/adapter_merge.hpp)
  lora_svd,
};

/// Where TIES trims: per tensor (mergekit) or over each model's whole task vector (the paper).
enum class TiesScope { tensor, global };

/// One parameter a method reads, with its default as text ("" when required or none).
struct ParameterInfo {
  std::string_view name;
  bool per_model = false;  // read from a model's own `parameters` first, then the global ones
  std::string_view default_text;
  std::string_view meaning;
};

/// A method as `moerge methods` lists it.
struct MethodInfo {
  Method method = Method::linear;
  std::string_view name;
  std::string_view summary;
  bool needs_base = false;         // base_model required
  bool base_is_reference = false;  // the base is theta_base, not one of the merged models
  std::size_t n_model_min = 1;     // merged models (base excluded when base_is_reference)
  std::size_t n_model_max = 0;     // 0: no limit
  SparsifyMethod sparsify = SparsifyMethod::none;
  ConsensusMethod consensus = ConsensusMethod::none;
  bool normalize_default = false;
  bool rescale_default = false;
  std::vector<ParameterInfo> parameters;
  // Taxonomy (Yadav et al. 2024, see docs/methods.md).
  std::string_view input_granularity = "task";
  std::string_view depth = "model";
  std::string_view selection = "dense";
  std::string_view aggregation = "parameter";
  std::string_view routing_dataset = "none";
  std::string_view user_dataset = "zero-shot";
};

/// Every method, in the order `moerge methods` prints them.
const std::vector<MethodInfo>& method_table();
const MethodInfo& method_info(Method method);
std::optional<Method> method_from_name(std::string_view name);

/// A parameter value as mergekit allows it: a scalar, a gradient (numbers interpolated over the
/// layers), or a list of {filter: substring, value: setting} conditions (no filter: default).
struct Setting {
  enum class Kind { scalar, gradient, conditions };
  Kind kind = Kind::scalar;
  double scalar = 0;
  std::vector<double> gradient;
  std::vector<std::optional<std::string>> filters;  // conditions: one per entry
  std::vector<Setting> values;                      // conditions: one per entry

  /// The value for a tensor at layer position t in [0, 1] (mergekit's evaluate_setting):
  /// a gradient [v_0 .. v_{n-1}] gives the linear interpolation at t (n - 1); conditions give the
  /// first entry whose filter is a substring of the name (or has no filter); nullopt when none.
  std::optional<double> evaluate(std::string_view tensor_name, double t) const;
  /// Every number the setting can produce (for range checks before any work).
  std::vector<double> all_values() const;
};

using Settings = std::map<std::string, Setting>;

/// A model reference: a directory (HF model or PEFT adapter), or an object of an expert library
/// written `LIB/:experts/NAME` (LIB the library directory, then "/:" and the object path).
struct ModelRef {
  std::string text;  // as written in the recipe
  std::filesystem::path dir;
  std::optional<std::filesystem::path> library;  // set for library objects
  std::string object;                            // e.g. "experts/name" (library objects)
  bool operator==(const ModelRef& other) const { return text == other.text; }
};
/// Parse a reference as written in a recipe (no file access).
ModelRef parse_model_ref(std::string_view text);

struct RecipeModel {
  ModelRef ref;
  Settings parameters;
};

struct Recipe {
  std::filesystem::path file;  // the recipe file (for messages)
  std::string text;            // the recipe as read (copied into the output)
  Method method = Method::linear;
  std::optional<ModelRef> base;
  std::vector<RecipeModel> models;
  Settings parameters;  // global
  std::optional<DType> dtype;
  std::optional<DType> out_dtype;
  TiesScope ties_scope = TiesScope::tensor;
  RescaleMode rescale_mode = RescaleMode::l1;
  std::uint64_t seed = 0;
  std::vector<std::string> notes;  // keys accepted and ignored, said once by the CLI

  const MethodInfo& info() const { return method_info(method); }
  /// mergekit's lookup order: the model's own parameters (when model_idx is given), then the global
  /// ones; the first that yields a value for this tensor wins.
  std::optional<double> parameter(std::string_view name, std::optional<std::size_t> model_idx,
                                  std::string_view tensor_name, double t) const;
  /// Indices into `models` of the merged models: every entry, or those other than the base when
  /// the method uses the base as its reference. Philox model indices count these from 0.
  std::vector<std::size_t> merged_models() const;
};

/// Parse and validate a recipe file. Throws ConfigError naming the file, the key and the bad value.
Recipe parse_recipe(const std::filesystem::path& file);
/// The same from text (`label` names it in messages).
Recipe parse_recipe_text(const std::string& text, const std::filesystem::path& label);

/// Parse a dtype as recipes write it ("float32", "fp32", "F32", "bfloat16", "bf16", "float16",
/// "fp16", "half"); nullopt when unknown.
std::optional<DType> recipe_dtype(std::string_view name);

/// The layer position t of a tensor (mergekit): model.layers.N.* gives N / (n_layer - 1) (1 when
/// there is one layer); tensors before the layers (embeddings) 0; after them (norm, lm_head) 1.
double layer_position(std::string_view tensor_name, std::int64_t n_layer);

}  // namespace moerge::merge
