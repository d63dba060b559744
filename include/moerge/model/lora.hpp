// LoRA experts at run time: loaded from PEFT adapters and checked against the base, applied
// unmerged per the routing decisions of a ModuleHook (the rows routed to one expert go through
// one GEMM), a hook that puts one expert on every row, and the dense merge
// W0 + sum_e w_e s_e B_e A_e used for parameter aggregation.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/io/hf.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/routing.hpp"

namespace moerge::model {

/// The module a HF path names ("model.layers.3.mlp.up_proj"), when it is one of the seven
/// adaptable linear layers of a layer below n_layer.
std::optional<ModuleId> parse_module_path(std::string_view path, int n_layer);

/// The LoRA factors of one module: delta W = scale * B A.
struct LoraFactors {
  Matrix a;  // [r, d_in], row-major (PEFT lora_A.weight)
  Matrix b;  // [d_out, r] (PEFT lora_B.weight)
};

/// One adapter: factors for the modules it adapts (others are absent), and its scale.
struct LoraExpert {
  std::string name;
  float scale = 1.0f;  // alpha / r, or alpha / sqrt(r) with rsLoRA
  std::vector<std::shared_ptr<const LoraFactors>>
      modules;  // [n_layer * n_module_kind] by ModuleId::index(); null = not adapted

  const LoraFactors* find(ModuleId module) const {
    const auto index = static_cast<std::size_t>(module.index());
    return index < modules.size() ? modules[index].get() : nullptr;
  }
};

/// Load a validated PEFT adapter for `base`: checks every module against the base's shapes
/// (io::check_adapter_against_base) and that it is one of the seven adaptable layers; converts
/// the factors to f32. InputError naming the adapter, the base and the bad module otherwise.
LoraExpert load_lora_expert(const io::PeftAdapter& adapter, const LlamaModel& base, std::string name);
/// The same checks against a base known by its config only (`base_label` names it in messages):
/// what a rank that hosts experts but not the base model uses.
LoraExpert load_lora_expert(const io::PeftAdapter& adapter, const io::LlamaConfig& base_config,
                            std::string_view base_label, std::string name);
/// open_peft_adapter(dir) then load_lora_expert.
LoraExpert load_lora_expert_dir(const std::filesystem::path& dir, const LlamaModel& base, std::string name);

/// A routing decision's entries grouped by expert (counting sort): expert e's entries are
/// [offsets[e], offsets[e + 1]) of `rows` (ascending) and `weights`.
struct ExpertRows {
  std::vector<std::int32_t> offsets;  // [n_expert + 1]
  std::vector<std::int32_t> rows;
  std::vector<float> weights;

  Eigen::Index n_row(int expert_idx) const {
    return offsets[static_cast<std::size_t>(expert_idx) + 1] - offsets[static_cast<std::size_t>(expert_idx)];
  }
  /// True when expert `expert_idx` takes rows 0..n_row-1 in order (no gather needed).
  bool takes_every_row(int expert_idx, Eigen::Index n_row_total) const;
};

/// Check `decision` for `n_row` input rows and `n_expert` experts (Error naming the module when it
/// is malformed: offsets, an expert index out of range, a non-finite weight) and group it.
ExpertRows group_rows_by_expert(ModuleId module, const RoutingDecision& decision, Eigen::Index n_row,
                                int n_expert);

/// One expert's output for its rows x [n, d_in] with per-row routing weights:
/// delta = ((x A^T) * weight * scale) B^T, [n, d_out]. The one kernel every applier uses, so the
/// in-process and the dispatched paths give the same bits.
void lora_delta(const LoraFactors& factors, float scale, const Matrix& x, std::span<const float> weights,
                Matrix& low, Matrix& delta);

/// output.row(rows[i]) += delta.row(i).
void scatter_add_rows(const Eigen::Ref<const Matrix>& delta, std::span<const std::int32_t> rows,
                      OutputBlock output);

/// The experts a routing decision's expert_idx refers to (index = order of add()).
class LoraSet final : public ExpertApplier {
 public:
  explicit LoraSet(const ModelConfig& config) : config_(config) {}

  /// Append an expert; ConfigError if an expert with that name is already there, Error if its
  /// module table does not fit the config (load_lora_expert's experts always fit).
  int add(LoraExpert expert);
  int n_expert() const override { return static_cast<int>(experts_.size()); }
  const std::string& expert_name(int expert_idx) const override { return expert(expert_idx).name; }
  const LoraExpert& expert(int expert_idx) const { return experts_.at(static_cast<std::size_t>(expert_idx)); }
  const ModelConfig& config() const { return config_; }

  /// output[r] += sum over row r's entries of weight * scale_e * B_e (A_e input[r]), for module
  /// `module`. Rows are grouped by expert: each expert used at this module costs two GEMMs over
  /// its rows (gathered when it does not take every row). Experts that do not adapt the module
  /// are skipped. Throws Error naming the module when the decision is malformed.
  /// input: [n_row, d_in]; output: [n_row, d_out] (a column block of a wider matrix is fine).
  void apply(ModuleId module, const Matrix& input, const RoutingDecision& decision, OutputBlock output) const;
  /// ExpertApplier: `base`, then apply() for each module.
  void apply(std::span<RoutedModule> modules, const Matrix& input,
             const std::function<void()>& base) const override;

 private:
  ModelConfig config_;
  std::vector<LoraExpert> experts_;
};

/// Puts expert `expert_idx` with weight `weight` on every row of every module: a single LoRA
/// expert evaluated alone (no router).
class SingleExpertHook : public ModuleHook {
 public:
  explicit SingleExpertHook(int expert_idx, float weight = 1.0f) : expert_idx_(expert_idx), weight_(weight) {}
  void at_module(const ModuleId& module, const Matrix& input, const BatchLayout& layout,
                 RoutingDecision& decision) override;

 private:
  int expert_idx_;
  float weight_;
};

/// A dense copy of `base` with every expert folded in: W = W0 + sum_e expert_weight[e] * s_e B_e A_e
/// (accumulated in f32 per module). expert_weight has one entry per expert of `experts`.
LlamaModel merge_dense(const LlamaModel& base, const LoraSet& experts, std::span<const float> expert_weight);

}  // namespace moerge::model
