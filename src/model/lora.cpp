// LoRA experts applied unmerged with one GEMM pair per expert per module, the single-expert hook,
// and the dense merge (see include/moerge/model/lora.hpp).
#include "moerge/model/lora.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numeric>

#include "moerge/core/error.hpp"
#include "tensor_load.hpp"

namespace fs = std::filesystem;

namespace moerge::model {

namespace {

struct KindName {
  std::string_view suffix;
  ModuleKind kind;
};
constexpr std::array<KindName, n_module_kind> kKindNames{{
    {"self_attn.q_proj", ModuleKind::q_proj},
    {"self_attn.k_proj", ModuleKind::k_proj},
    {"self_attn.v_proj", ModuleKind::v_proj},
    {"self_attn.o_proj", ModuleKind::o_proj},
    {"mlp.gate_proj", ModuleKind::gate_proj},
    {"mlp.up_proj", ModuleKind::up_proj},
    {"mlp.down_proj", ModuleKind::down_proj},
}};

}  // namespace

std::optional<ModuleId> parse_module_path(std::string_view path, int n_layer) {
  constexpr std::string_view kPrefix = "model.layers.";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  int layer_idx = -1;
  const auto [end, error] = std::from_chars(path.data(), path.data() + path.size(), layer_idx);
  if (error != std::errc() || end == path.data() || layer_idx < 0 || layer_idx >= n_layer)
    return std::nullopt;
  if (path.front() == '0' && end - path.data() > 1) return std::nullopt;  // "03" is not HF's spelling
  path.remove_prefix(static_cast<std::size_t>(end - path.data()));
  if (!path.starts_with('.')) return std::nullopt;
  path.remove_prefix(1);
  for (const KindName& entry : kKindNames)
    if (path == entry.suffix) return ModuleId{.layer_idx = layer_idx, .kind = entry.kind};
  return std::nullopt;
}

LoraExpert load_lora_expert(const io::PeftAdapter& adapter, const LlamaModel& base, std::string name) {
  return load_lora_expert(adapter, base.hf_config(), base.source().string(), std::move(name));
}

LoraExpert load_lora_expert(const io::PeftAdapter& adapter, const io::LlamaConfig& base_config,
                            std::string_view base_label, std::string name) {
  const std::string adapter_label = adapter.dir.string();
  io::check_adapter_against_base(adapter, io::llama_tensor_shapes(base_config), adapter_label, base_label);
  const ModelConfig config = ModelConfig::from_hf(base_config);
  std::vector<std::string> problems;
  for (const io::LoraModule& lora : adapter.modules)
    if (!parse_module_path(lora.module, config.n_layer))
      problems.push_back(
          fmt::format("module '{}' is not one of the linear layers moerge adapts "
                      "(model.layers.N.self_attn.{{q,k,v,o}}_proj, model.layers.N.mlp.{{gate,up,down}}_proj)",
                      lora.module));
  if (!problems.empty()) {
    std::string text = fmt::format("adapter {} does not fit base {}:", adapter_label, base_label);
    if (problems.size() == 1)
      text += " " + problems.front();
    else
      for (const std::string& problem : problems) text += "\n  " + problem;
    throw InputError(text);
  }
  LoraExpert expert;
  expert.name = std::move(name);
  expert.scale = static_cast<float>(adapter.scale());
  expert.modules.resize(static_cast<std::size_t>(config.n_layer) * n_module_kind);
  for (const io::LoraModule& lora : adapter.modules) {
    const ModuleId module = *parse_module_path(lora.module, config.n_layer);
    auto factors = std::make_shared<LoraFactors>();
    factors->a = detail::load_matrix(adapter.tensors, lora.a_key, static_cast<int>(lora.r),
                                     static_cast<int>(lora.d_in));
    factors->b = detail::load_matrix(adapter.tensors, lora.b_key, static_cast<int>(lora.d_out),
                                     static_cast<int>(lora.r));
    expert.modules[static_cast<std::size_t>(module.index())] = std::move(factors);
  }
  return expert;
}

LoraExpert load_lora_expert_dir(const fs::path& dir, const LlamaModel& base, std::string name) {
  return load_lora_expert(io::open_peft_adapter(dir), base, std::move(name));
}

int LoraSet::add(LoraExpert expert) {
  for (const LoraExpert& existing : experts_)
    if (existing.name == expert.name)
      throw ConfigError(fmt::format("two experts are named '{}'; give each a distinct name", expert.name));
  const auto n_module = static_cast<std::size_t>(config_.n_layer) * n_module_kind;
  if (expert.modules.size() != n_module)
    throw Error(fmt::format("expert '{}': a module table of {} entries, expected {} ({} layers x {})",
                            expert.name, expert.modules.size(), n_module, config_.n_layer, n_module_kind));
  for (std::size_t index = 0; index < n_module; ++index) {
    const LoraFactors* factors = expert.modules[index].get();
    if (factors == nullptr) continue;
    const ModuleId module{.layer_idx = static_cast<int>(index / n_module_kind),
                          .kind = static_cast<ModuleKind>(index % n_module_kind)};
    if (factors->a.cols() != config_.d_in(module.kind) || factors->b.rows() != config_.d_out(module.kind) ||
        factors->a.rows() != factors->b.cols() || factors->a.rows() == 0)
      throw Error(
          fmt::format("expert '{}', module {}: A [{}, {}] and B [{}, {}] do not fit d_in {}, d_out {}",
                      expert.name, module.hf_path(), factors->a.rows(), factors->a.cols(), factors->b.rows(),
                      factors->b.cols(), config_.d_in(module.kind), config_.d_out(module.kind)));
  }
  experts_.push_back(std::move(expert));
  return n_expert() - 1;
}

bool ExpertRows::takes_every_row(int expert_idx, Eigen::Index n_row_total) const {
  const auto first = static_cast<std::size_t>(offsets[static_cast<std::size_t>(expert_idx)]);
  if (n_row(expert_idx) != n_row_total) return false;
  for (Eigen::Index index = 0; index < n_row_total; ++index)
    if (rows[first + static_cast<std::size_t>(index)] != index) return false;
  return true;
}

ExpertRows group_rows_by_expert(ModuleId module, const RoutingDecision& decision, Eigen::Index n_row_in,
                                int n_expert) {
  const auto n_row = static_cast<std::size_t>(n_row_in);
  const std::size_t n_entry = decision.expert_idx.size();
  const auto malformed = [&](const std::string& what) {
    return Error(fmt::format("module {}: malformed routing decision: {}", module.hf_path(), what));
  };
  if (decision.row_offsets.size() != n_row + 1)
    throw malformed(fmt::format("{} row offsets for {} rows", decision.row_offsets.size(), n_row));
  if (decision.weight.size() != n_entry)
    throw malformed(fmt::format("{} experts but {} weights", n_entry, decision.weight.size()));
  if (decision.row_offsets.front() != 0 || static_cast<std::size_t>(decision.row_offsets.back()) != n_entry ||
      !std::is_sorted(decision.row_offsets.begin(), decision.row_offsets.end()))
    throw malformed(fmt::format("row offsets must rise from 0 to the {} entries", n_entry));

  // Counting sort of the entries by expert, rows ascending within each expert.
  ExpertRows grouped;
  grouped.offsets.assign(static_cast<std::size_t>(n_expert) + 1, 0);
  for (std::size_t entry_idx = 0; entry_idx < n_entry; ++entry_idx) {
    const std::int32_t expert_idx = decision.expert_idx[entry_idx];
    if (expert_idx < 0 || expert_idx >= n_expert)
      throw malformed(fmt::format("expert index {} outside 0..{}", expert_idx, n_expert - 1));
    if (!std::isfinite(decision.weight[entry_idx]))
      throw malformed(fmt::format("weight {} of expert {}", decision.weight[entry_idx], expert_idx));
    ++grouped.offsets[static_cast<std::size_t>(expert_idx) + 1];
  }
  std::partial_sum(grouped.offsets.begin(), grouped.offsets.end(), grouped.offsets.begin());
  grouped.rows.resize(n_entry);
  grouped.weights.resize(n_entry);
  std::vector<std::int32_t> fill(grouped.offsets.begin(), grouped.offsets.end() - 1);
  for (std::size_t row_idx = 0; row_idx < n_row; ++row_idx)
    for (auto entry_idx = static_cast<std::size_t>(decision.row_offsets[row_idx]);
         entry_idx < static_cast<std::size_t>(decision.row_offsets[row_idx + 1]); ++entry_idx) {
      const auto slot =
          static_cast<std::size_t>(fill[static_cast<std::size_t>(decision.expert_idx[entry_idx])]++);
      grouped.rows[slot] = static_cast<std::int32_t>(row_idx);
      grouped.weights[slot] = decision.weight[entry_idx];
    }
  return grouped;
}

void lora_delta(const LoraFactors& factors, float scale, const Matrix& x, std::span<const float> weights,
                Matrix& low, Matrix& delta) {
  const Eigen::Map<const Eigen::VectorXf> row_weight(weights.data(),
                                                     static_cast<Eigen::Index>(weights.size()));
  low.noalias() = x * factors.a.transpose();
  low.array().colwise() *= row_weight.array() * scale;
  delta.noalias() = low * factors.b.transpose();
}

void scatter_add_rows(const Eigen::Ref<const Matrix>& delta, std::span<const std::int32_t> rows,
                      OutputBlock output) {
  for (std::size_t index = 0; index < rows.size(); ++index)
    output.row(rows[index]) += delta.row(static_cast<Eigen::Index>(index));
}

void LoraSet::apply(ModuleId module, const Matrix& input, const RoutingDecision& decision,
                    OutputBlock output) const {
  if (output.rows() != input.rows() || output.cols() != config_.d_out(module.kind) ||
      input.cols() != config_.d_in(module.kind))
    throw Error(fmt::format("module {}: input [{}, {}] / output [{}, {}] do not fit the module",
                            module.hf_path(), input.rows(), input.cols(), output.rows(), output.cols()));
  const ExpertRows grouped = group_rows_by_expert(module, decision, input.rows(), n_expert());
  Matrix gathered;  // [n_row of the expert, d_in]
  Matrix low;       // [n_row of the expert, r]
  Matrix delta;     // [n_row of the expert, d_out]
  for (int expert_idx = 0; expert_idx < n_expert(); ++expert_idx) {
    const Eigen::Index n_expert_row = grouped.n_row(expert_idx);
    if (n_expert_row == 0) continue;
    const LoraExpert& expert = experts_[static_cast<std::size_t>(expert_idx)];
    const LoraFactors* factors = expert.find(module);
    if (factors == nullptr) continue;
    const auto first = static_cast<std::size_t>(grouped.offsets[static_cast<std::size_t>(expert_idx)]);
    const std::span<const float> weights(grouped.weights.data() + first,
                                         static_cast<std::size_t>(n_expert_row));
    const std::span<const std::int32_t> rows(grouped.rows.data() + first,
                                             static_cast<std::size_t>(n_expert_row));
    if (grouped.takes_every_row(expert_idx, input.rows())) {
      lora_delta(*factors, expert.scale, input, weights, low, delta);  // every row, in order: no gather
      output += delta;
      continue;
    }
    gathered.resize(n_expert_row, input.cols());
    for (Eigen::Index index = 0; index < n_expert_row; ++index)
      gathered.row(index) = input.row(rows[static_cast<std::size_t>(index)]);
    lora_delta(*factors, expert.scale, gathered, weights, low, delta);
    scatter_add_rows(delta, rows, output);
  }
}

void LoraSet::apply(std::span<RoutedModule> modules, const Matrix& input,
                    const std::function<void()>& base) const {
  base();
  for (RoutedModule& routed : modules) apply(routed.module, input, *routed.decision, routed.output);
}

void SingleExpertHook::at_module(const ModuleId& /*module*/, const Matrix& input,
                                 const BatchLayout& /*layout*/, RoutingDecision& decision) {
  const auto n_row = static_cast<std::size_t>(input.rows());
  decision.row_offsets.resize(n_row + 1);
  std::iota(decision.row_offsets.begin(), decision.row_offsets.end(), 0);
  decision.expert_idx.assign(n_row, expert_idx_);
  decision.weight.assign(n_row, weight_);
}

LlamaModel merge_dense(const LlamaModel& base, const LoraSet& experts, std::span<const float> expert_weight) {
  if (expert_weight.size() != static_cast<std::size_t>(experts.n_expert()))
    throw ConfigError(
        fmt::format("merge_dense: {} weights for {} experts", expert_weight.size(), experts.n_expert()));
  LlamaModel merged(base.hf_config(), base.source(), base.weights());
  const ModelConfig& config = base.config();
  for (int layer_idx = 0; layer_idx < config.n_layer; ++layer_idx)
    for (int kind_idx = 0; kind_idx < n_module_kind; ++kind_idx) {
      const ModuleId module{.layer_idx = layer_idx, .kind = static_cast<ModuleKind>(kind_idx)};
      auto weight = merged.module_weight(module);
      for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
        const LoraExpert& expert = experts.expert(expert_idx);
        const LoraFactors* factors = expert.find(module);
        const float coefficient = expert_weight[static_cast<std::size_t>(expert_idx)] * expert.scale;
        if (factors == nullptr || coefficient == 0.0f) continue;
        weight.noalias() += coefficient * (factors->b * factors->a);
      }
    }
  return merged;
}

}  // namespace moerge::model
