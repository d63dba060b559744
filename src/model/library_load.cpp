// Runtime models from an expert library (see include/moerge/model/library_load.hpp).
#include "moerge/model/library_load.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <span>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/tensor/dtype.hpp"

namespace fs = std::filesystem;

namespace moerge::model {

namespace {

/// Dataset `path` of `file` converted to f32 into `dst` ([n_row, n_col], any row-major storage of
/// that size), with the checks load_matrix does on a safetensors tensor.
void read_f32(const io::ObjectFile& file, const std::string& path, float* dst, Eigen::Index n_row,
              Eigen::Index n_col) {
  const std::string label = fmt::format("{}:{}", file.path().string(), path);
  if (!file.exists(path)) throw InputError(fmt::format("{}: tensor missing", label));
  const io::DatasetInfo info = file.info(path);
  const std::vector<std::int64_t> expected = n_row == 1 && n_col >= 1 && info.shape.size() == 1
                                                 ? std::vector<std::int64_t>{n_col}
                                                 : std::vector<std::int64_t>{n_row, n_col};
  if (info.shape != expected || !dtype_is_numeric(info.dtype))
    throw InputError(fmt::format("{}: {} of shape [{}], expected a float tensor of shape [{}]", label,
                                 dtype_name(info.dtype), fmt::join(info.shape, ", "),
                                 fmt::join(expected, ", ")));
  const io::StoredTensor stored = file.read(path);
  const auto n_value = static_cast<std::size_t>(n_row * n_col);
  convert_to_f32(stored.dtype, stored.data, std::span<float>(dst, n_value));
  const Eigen::Map<const Eigen::ArrayXf> values(dst, static_cast<Eigen::Index>(n_value));
  if (!values.allFinite()) {
    Eigen::Index bad_idx = 0;
    while (std::isfinite(values[bad_idx])) ++bad_idx;
    throw InputError(
        fmt::format("{}: holds a non-finite value ({} at flat index {})", label, values[bad_idx], bad_idx));
  }
}

Matrix read_matrix(const io::ObjectFile& file, const std::string& path, int n_row, int n_col) {
  Matrix out(n_row, n_col);
  read_f32(file, path, out.data(), n_row, n_col);
  return out;
}

Vector read_vector(const io::ObjectFile& file, const std::string& path, int n) {
  Vector out(n);
  read_f32(file, path, out.data(), 1, n);
  return out;
}

/// The `config` attribute of a model object, or the base's for a merge stored without one.
io::LlamaConfig config_of(const io::Library& library, const io::ObjectFile& file) {
  if (file.has_attr("config"))
    return io::parse_llama_config_text(file.attr_string("config"),
                                       fs::path(fmt::format("{}:config", file.path().string())));
  return io::parse_llama_config_text(
      io::ObjectFile(library, "base").attr_string("config"),
      fs::path(fmt::format("{}:config", library.object_path("base").string())));
}

}  // namespace

io::LlamaConfig library_model_config(const io::Library& library, std::string_view name) {
  const io::ObjectFile file(library, name);
  if (file.entry().kind == io::ObjectKind::lora)
    throw InputError(
        fmt::format("{}: '{}' is a LoRA expert, not a model", file.path().string(), file.entry().name));
  return config_of(library, file);
}

LlamaModel load_library_model(const io::Library& library, std::string_view name) {
  const io::ObjectFile file(library, name);
  const io::CatalogueEntry& entry = file.entry();
  if (entry.kind == io::ObjectKind::lora)
    throw InputError(fmt::format("{}: '{}' is a LoRA expert, not a model: load it with its base",
                                 file.path().string(), entry.name));
  const fs::path label = fs::path(fmt::format("{}:config", file.path().string()));
  const io::LlamaConfig hf_config = config_of(library, file);
  const ModelConfig config = ModelConfig::from_hf(hf_config);
  if (config.d_head % 2 != 0)
    throw InputError(
        fmt::format("{}: head size hidden_size / num_attention_heads = {} is odd; RoPE needs an even one",
                    label.string(), config.d_head));
  const int d_model = config.d_model;
  const int d_kv = config.d_kv();
  const int n_ff = config.n_ff;
  const auto param = [](const std::string& tensor) { return "/params/" + tensor; };
  ModelWeights weights;
  weights.embed = read_matrix(file, param("model.embed_tokens.weight"), config.n_vocab, d_model);
  for (int layer_idx = 0; layer_idx < config.n_layer; ++layer_idx) {
    const std::string prefix = fmt::format("/params/model.layers.{}.", layer_idx);
    LayerWeights layer;
    layer.w_qkv.resize(d_model + 2 * d_kv, d_model);
    layer.w_qkv.topRows(d_model) = read_matrix(file, prefix + "self_attn.q_proj.weight", d_model, d_model);
    layer.w_qkv.middleRows(d_model, d_kv) =
        read_matrix(file, prefix + "self_attn.k_proj.weight", d_kv, d_model);
    layer.w_qkv.bottomRows(d_kv) = read_matrix(file, prefix + "self_attn.v_proj.weight", d_kv, d_model);
    layer.w_o = read_matrix(file, prefix + "self_attn.o_proj.weight", d_model, d_model);
    layer.w_gate_up.resize(2 * n_ff, d_model);
    layer.w_gate_up.topRows(n_ff) = read_matrix(file, prefix + "mlp.gate_proj.weight", n_ff, d_model);
    layer.w_gate_up.bottomRows(n_ff) = read_matrix(file, prefix + "mlp.up_proj.weight", n_ff, d_model);
    layer.w_down = read_matrix(file, prefix + "mlp.down_proj.weight", d_model, n_ff);
    layer.attn_norm = read_vector(file, prefix + "input_layernorm.weight", d_model);
    layer.ffn_norm = read_vector(file, prefix + "post_attention_layernorm.weight", d_model);
    weights.layers.push_back(std::move(layer));
  }
  weights.final_norm = read_vector(file, param("model.norm.weight"), d_model);
  weights.lm_head = config.tie_word_embeddings
                        ? weights.embed
                        : read_matrix(file, param("lm_head.weight"), config.n_vocab, d_model);
  return LlamaModel(hf_config, file.path(), std::move(weights));
}

LoraExpert load_library_lora(const io::Library& library, std::string_view name, const LlamaModel& base,
                             std::string expert_name) {
  return load_library_lora(library, name, base.config(), base.source().string(), std::move(expert_name));
}

LoraExpert load_library_lora(const io::Library& library, std::string_view name, const ModelConfig& config,
                             std::string_view base_label, std::string expert_name) {
  const io::ObjectFile file(library, name);
  const std::string label = file.path().string();
  if (file.entry().kind != io::ObjectKind::lora)
    throw InputError(fmt::format("{}: '{}' is a {} object, not a LoRA expert", label, file.entry().name,
                                 io::kind_name(file.entry().kind)));
  const std::int64_t r = file.attr_int("r");
  const double alpha = file.attr_double("alpha");
  const bool rslora = file.attr_int("rslora") != 0;
  if (r <= 0 || !(alpha > 0) || !std::isfinite(alpha))
    throw InputError(fmt::format("{}: attributes r = {} and alpha = {} must be positive", label, r, alpha));
  LoraExpert expert;
  expert.name = std::move(expert_name);
  // As io::PeftAdapter::scale() computes it, then narrowed as load_lora_expert does.
  expert.scale =
      static_cast<float>(rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r));
  expert.modules.resize(static_cast<std::size_t>(config.n_layer) * n_module_kind);
  std::vector<std::string> problems;
  std::vector<std::string> module_paths;
  for (const std::string& path : file.datasets("/lora/")) {
    const std::string module =
        path.substr(std::string_view("/lora/").size(), path.rfind('/') - std::string_view("/lora/").size());
    if (module_paths.empty() || module_paths.back() != module) module_paths.push_back(module);
  }
  if (module_paths.empty()) problems.push_back("no /lora/<module> datasets");
  for (const std::string& module_path : module_paths) {
    const std::optional<ModuleId> module = parse_module_path(module_path, config.n_layer);
    if (!module) {
      problems.push_back(fmt::format(
          "module '{}' is not one of the linear layers of base {} that moerge adapts "
          "(model.layers.N.self_attn.{{q,k,v,o}}_proj, model.layers.N.mlp.{{gate,up,down}}_proj, N < {})",
          module_path, base_label, config.n_layer));
      continue;
    }
    const std::string group = "/lora/" + module_path;
    if (!file.exists(group + "/A") || !file.exists(group + "/B")) {
      problems.push_back(fmt::format("module '{}' lacks its A or B factor", module_path));
      continue;
    }
    const io::DatasetInfo a = file.info(group + "/A");
    const io::DatasetInfo b = file.info(group + "/B");
    const std::vector<std::int64_t> a_expected{r, config.d_in(module->kind)};
    const std::vector<std::int64_t> b_expected{config.d_out(module->kind), r};
    if (a.shape != a_expected || b.shape != b_expected) {
      problems.push_back(
          fmt::format("module '{}': A [{}] and B [{}], expected A [{}] and B [{}] for base {} (r = {})",
                      module_path, fmt::join(a.shape, ", "), fmt::join(b.shape, ", "),
                      fmt::join(a_expected, ", "), fmt::join(b_expected, ", "), base_label, r));
      continue;
    }
    auto factors = std::make_shared<LoraFactors>();
    factors->a = read_matrix(file, group + "/A", static_cast<int>(r), config.d_in(module->kind));
    factors->b = read_matrix(file, group + "/B", config.d_out(module->kind), static_cast<int>(r));
    expert.modules[static_cast<std::size_t>(module->index())] = std::move(factors);
  }
  if (!problems.empty()) {
    std::string text = fmt::format("LoRA expert {} does not fit base {}:", label, base_label);
    for (const std::string& problem : problems) text += "\n  " + problem;
    throw InputError(text);
  }
  return expert;
}

}  // namespace moerge::model
