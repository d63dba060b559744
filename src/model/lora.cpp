// LoRA experts applied unmerged with one GEMM pair per expert per module, the single-expert hook,
// and the dense merge (see include/moerge/model/lora.hpp).
#include "moerge/model/lora.hpp"

#include <fmt/core.h>

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
  const std::string adapter_label = adapter.dir.string();
  const std::string base_label = base.source().string();
  io::check_adapter_against_base(adapter, io::llama_tensor_shapes(base.hf_config()), adapter_label,
                                 base_label);
  const ModelConfig& config = base.config();
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

void LoraSet::apply(ModuleId module, const Matrix& input, const RoutingDecision& decision,
                    Eigen::Ref<Matrix, 0, Eigen::OuterStride<>> output) const {
  const auto n_row = static_cast<std::size_t>(input.rows());
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
  if (output.rows() != input.rows() || output.cols() != config_.d_out(module.kind) ||
      input.cols() != config_.d_in(module.kind))
    throw malformed(fmt::format("input [{}, {}] / output [{}, {}] do not fit the module", input.rows(),
                                input.cols(), output.rows(), output.cols()));

  // Counting sort of the entries by expert, rows ascending within each expert.
  const auto n_expert_total = experts_.size();
  std::vector<std::int32_t> expert_offsets(n_expert_total + 1, 0);
  for (std::size_t entry_idx = 0; entry_idx < n_entry; ++entry_idx) {
    const std::int32_t expert_idx = decision.expert_idx[entry_idx];
    if (expert_idx < 0 || static_cast<std::size_t>(expert_idx) >= n_expert_total)
      throw malformed(
          fmt::format("expert index {} outside 0..{}", expert_idx, static_cast<int>(n_expert_total) - 1));
    if (!std::isfinite(decision.weight[entry_idx]))
      throw malformed(fmt::format("weight {} of expert {}", decision.weight[entry_idx], expert_idx));
    ++expert_offsets[static_cast<std::size_t>(expert_idx) + 1];
  }
  std::partial_sum(expert_offsets.begin(), expert_offsets.end(), expert_offsets.begin());
  std::vector<std::int32_t> rows(n_entry);
  std::vector<float> weights(n_entry);
  std::vector<std::int32_t> fill(expert_offsets.begin(), expert_offsets.end() - 1);
  for (std::size_t row_idx = 0; row_idx < n_row; ++row_idx)
    for (auto entry_idx = static_cast<std::size_t>(decision.row_offsets[row_idx]);
         entry_idx < static_cast<std::size_t>(decision.row_offsets[row_idx + 1]); ++entry_idx) {
      const auto slot =
          static_cast<std::size_t>(fill[static_cast<std::size_t>(decision.expert_idx[entry_idx])]++);
      rows[slot] = static_cast<std::int32_t>(row_idx);
      weights[slot] = decision.weight[entry_idx];
    }

  Matrix gathered;  // [n_row of the expert, d_in]
  Matrix low;       // [n_row of the expert, r]
  Matrix delta;     // [n_row of the expert, d_out]
  for (std::size_t expert_idx = 0; expert_idx < n_expert_total; ++expert_idx) {
    const auto first = static_cast<std::size_t>(expert_offsets[expert_idx]);
    const auto n_expert_row =
        static_cast<Eigen::Index>(expert_offsets[expert_idx + 1]) - static_cast<Eigen::Index>(first);
    if (n_expert_row == 0) continue;
    const LoraExpert& expert = experts_[expert_idx];
    const LoraFactors* factors = expert.find(module);
    if (factors == nullptr) continue;
    const Eigen::Map<const Eigen::VectorXf> row_weight(weights.data() + first, n_expert_row);
    bool takes_every_row = static_cast<std::size_t>(n_expert_row) == n_row;
    for (Eigen::Index index = 0; takes_every_row && index < n_expert_row; ++index)
      takes_every_row = rows[first + static_cast<std::size_t>(index)] == index;
    if (takes_every_row) {
      // Every row, in order: no gather or scatter.
      low.noalias() = input * factors->a.transpose();
      low.array().colwise() *= row_weight.array() * expert.scale;
      output.noalias() += low * factors->b.transpose();
      continue;
    }
    gathered.resize(n_expert_row, input.cols());
    for (Eigen::Index index = 0; index < n_expert_row; ++index)
      gathered.row(index) = input.row(rows[first + static_cast<std::size_t>(index)]);
    low.noalias() = gathered * factors->a.transpose();
    low.array().colwise() *= row_weight.array() * expert.scale;
    delta.noalias() = low * factors->b.transpose();
    for (Eigen::Index index = 0; index < n_expert_row; ++index)
      output.row(rows[first + static_cast<std::size_t>(index)]) += delta.row(index);
  }
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
