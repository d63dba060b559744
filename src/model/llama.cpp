// The Llama decoder forward pass (see include/moerge/model/llama.hpp). Numerics follow HF
// modeling_llama in f32: RMSNorm x * rsqrt(mean(x^2) + eps) * w, RoPE with rotate_half and
// angle = float(pos) * inv_freq, softmax(QK^T / sqrt(d_head)) with a causal mask, SwiGLU MLP.
#include "moerge/model/llama.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <span>

#include "moerge/core/error.hpp"
#include "moerge/model/lora.hpp"
#include "tensor_load.hpp"

namespace fs = std::filesystem;

namespace moerge::model {

namespace detail {

namespace {

/// Copy tensor `name` of `tensors` (any numeric dtype) into `dst` as f32; the caller sized dst
/// from the validated shape.
void copy_tensor(const io::TensorSet& tensors, const std::string& name, float* dst, Eigen::Index n_value) {
  const TensorView view = tensors.view(name);
  if (view.numel() != n_value)
    throw InputError(fmt::format("{}: tensor '{}' has {} values, expected {}", tensors.file_of(name).string(),
                                 name, view.numel(), n_value));
  convert_to_f32(view.dtype, view.data, std::span<float>(dst, static_cast<std::size_t>(n_value)));
  const Eigen::Map<const Eigen::ArrayXf> values(dst, n_value);
  if (!values.allFinite()) {
    Eigen::Index bad_idx = 0;
    while (std::isfinite(values[bad_idx])) ++bad_idx;
    throw InputError(fmt::format("{}: tensor '{}' holds a non-finite value ({} at flat index {})",
                                 tensors.file_of(name).string(), name, values[bad_idx], bad_idx));
  }
}

}  // namespace

Matrix load_matrix(const io::TensorSet& tensors, const std::string& name, int n_row, int n_col) {
  Matrix out(n_row, n_col);
  copy_tensor(tensors, name, out.data(), out.size());
  return out;
}

Vector load_vector(const io::TensorSet& tensors, const std::string& name, int n) {
  Vector out(n);
  copy_tensor(tensors, name, out.data(), out.size());
  return out;
}

}  // namespace detail

namespace {

using detail::load_matrix;
using detail::load_vector;

/// Read-only map of a row-major matrix with a row stride (a column block of a wider one).
using ConstStridedMap = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;

int narrow(std::int64_t value) { return static_cast<int>(value); }

/// RoPE cos / sin tables [n_position, d_head / 2] as HF computes them in f32:
/// inv_freq_i = 1 / theta^(float(2i) / d_head), angle = float(pos) * inv_freq_i.
void rope_tables(const ModelConfig& config, int n_position, Matrix& cos_table, Matrix& sin_table) {
  const int n_half = config.d_head / 2;
  std::vector<float> inv_freq(static_cast<std::size_t>(n_half));
  const auto theta = static_cast<float>(config.rope_theta);
  for (int freq_idx = 0; freq_idx < n_half; ++freq_idx) {
    const float exponent = static_cast<float>(2 * freq_idx) / static_cast<float>(config.d_head);
    inv_freq[static_cast<std::size_t>(freq_idx)] = 1.0f / std::pow(theta, exponent);
  }
  cos_table.resize(n_position, n_half);
  sin_table.resize(n_position, n_half);
  for (int pos = 0; pos < n_position; ++pos)
    for (int freq_idx = 0; freq_idx < n_half; ++freq_idx) {
      const float angle = static_cast<float>(pos) * inv_freq[static_cast<std::size_t>(freq_idx)];
      cos_table(pos, freq_idx) = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_table(pos, freq_idx) = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
}

/// out[r] = in[r] * rsqrt(mean(in[r]^2) + eps) * weight.
void rms_norm(const Matrix& in, const Vector& weight, float eps, Matrix& out) {
  const auto n_col = static_cast<float>(in.cols());
  for (Eigen::Index row_idx = 0; row_idx < in.rows(); ++row_idx) {
    const float mean_square = in.row(row_idx).squaredNorm() / n_col;
    const float inv_rms = 1.0f / std::sqrt(mean_square + eps);
    out.row(row_idx) = (in.row(row_idx) * inv_rms).cwiseProduct(weight.transpose());
  }
}

/// Rotate n_head heads of d_head columns starting at column `first_col` of every row by its
/// position (HF rotate_half: first half / second half of each head).
void apply_rope(Matrix& rows, int first_col, int n_head, int d_head,
                const std::vector<std::int32_t>& pos_of_row, const Matrix& cos_table,
                const Matrix& sin_table) {
  const int n_half = d_head / 2;
  Eigen::ArrayXf cos_pos(n_half);
  Eigen::ArrayXf sin_pos(n_half);
  Eigen::ArrayXf first_old(n_half);
  for (Eigen::Index row_idx = 0; row_idx < rows.rows(); ++row_idx) {
    const int pos = pos_of_row[static_cast<std::size_t>(row_idx)];
    cos_pos = cos_table.row(pos).transpose().array();
    sin_pos = sin_table.row(pos).transpose().array();
    for (int head_idx = 0; head_idx < n_head; ++head_idx) {
      float* head = rows.data() + row_idx * rows.cols() + first_col + head_idx * d_head;
      Eigen::Map<Eigen::ArrayXf> first(head, n_half);
      Eigen::Map<Eigen::ArrayXf> second(head + n_half, n_half);
      first_old = first;
      first = first_old * cos_pos - second * sin_pos;
      second = second * cos_pos + first_old * sin_pos;
    }
  }
}

/// The modules `kinds` of layer `layer_idx` share `input`: ask the hook for each one's decision,
/// then let the experts' applier run `base` (the dense product writing every module's base output
/// into `stacked`) and add the routed experts' outputs to the modules' column blocks.
void run_modules(const ForwardOptions& options, const ModelConfig& config, int layer_idx,
                 std::span<const ModuleKind> kinds, const Matrix& input, const BatchLayout& layout,
                 std::span<RoutingDecision> decisions, Matrix& stacked, const std::function<void()>& base) {
  if (options.hook == nullptr) {
    base();
    return;
  }
  std::vector<RoutedModule> routed;
  routed.reserve(kinds.size());
  for (std::size_t kind_idx = 0; kind_idx < kinds.size(); ++kind_idx) {
    const ModuleId module{.layer_idx = layer_idx, .kind = kinds[kind_idx]};
    RoutingDecision& decision = decisions[kind_idx];
    decision.clear();
    options.hook->at_module(module, input, layout, decision);
    if (decision.expert_idx.empty()) continue;
    const ModuleSlot slot = module_slot(config, module.kind);  // its column block of `stacked`
    routed.push_back(RoutedModule{module, &decision, stacked.middleCols(slot.first_row, slot.n_row)});
  }
  if (routed.empty()) {
    base();
    return;
  }
  if (options.experts == nullptr)
    throw Error(
        fmt::format("module {}: the hook routed rows to experts, but the forward pass was given no experts",
                    routed.front().module.hf_path()));
  options.experts->apply(routed, input, base);
}

}  // namespace

int ModelConfig::d_out(ModuleKind kind) const {
  switch (kind) {
    case ModuleKind::q_proj:
    case ModuleKind::o_proj:
    case ModuleKind::down_proj:
      return d_model;
    case ModuleKind::k_proj:
    case ModuleKind::v_proj:
      return d_kv();
    case ModuleKind::gate_proj:
    case ModuleKind::up_proj:
      return n_ff;
  }
  return 0;
}

int ModelConfig::d_in(ModuleKind kind) const { return kind == ModuleKind::down_proj ? n_ff : d_model; }

ModelConfig ModelConfig::from_hf(const io::LlamaConfig& config) {
  ModelConfig out;
  out.d_model = narrow(config.hidden_size);
  out.n_layer = narrow(config.num_hidden_layers);
  out.n_head = narrow(config.num_attention_heads);
  out.n_head_kv = narrow(config.num_key_value_heads);
  out.d_head = out.d_model / out.n_head;
  out.n_ff = narrow(config.intermediate_size);
  out.n_vocab = narrow(config.vocab_size);
  out.n_ctx = narrow(config.max_position_embeddings);
  out.rms_norm_eps = static_cast<float>(config.rms_norm_eps);
  out.rope_theta = config.rope_theta;
  out.tie_word_embeddings = config.tie_word_embeddings;
  return out;
}

ModuleSlot module_slot(const ModelConfig& config, ModuleKind kind) {
  switch (kind) {
    case ModuleKind::q_proj:
      return {0, config.d_model};
    case ModuleKind::k_proj:
      return {config.d_model, config.d_kv()};
    case ModuleKind::v_proj:
      return {config.d_model + config.d_kv(), config.d_kv()};
    case ModuleKind::o_proj:
      return {0, config.d_model};
    case ModuleKind::gate_proj:
      return {0, config.n_ff};
    case ModuleKind::up_proj:
      return {config.n_ff, config.n_ff};
    case ModuleKind::down_proj:
      return {0, config.d_model};
  }
  return {};
}

void TokenBatch::add(std::span<const TokenId> sequence) {
  tokens.insert(tokens.end(), sequence.begin(), sequence.end());
  seq_offsets.push_back(static_cast<std::int32_t>(tokens.size()));
}

KvCache::KvCache(const ModelConfig& config, int n_slot, int capacity)
    : capacity_(capacity), d_kv_(config.d_kv()), length_(static_cast<std::size_t>(n_slot), 0) {
  if (n_slot <= 0 || capacity <= 0)
    throw ConfigError(fmt::format("a KV cache needs at least one slot and one position (got {} slots of {})",
                                  n_slot, capacity));
  for (int layer_idx = 0; layer_idx < config.n_layer; ++layer_idx) {
    k_.emplace_back(Matrix::Zero(static_cast<Eigen::Index>(n_slot) * capacity, d_kv_));
    v_.emplace_back(Matrix::Zero(static_cast<Eigen::Index>(n_slot) * capacity, d_kv_));
  }
}

void KvCache::clear() { std::fill(length_.begin(), length_.end(), 0); }

LlamaModel::LlamaModel(io::LlamaConfig hf_config, fs::path source, ModelWeights weights)
    : hf_config_(std::move(hf_config)),
      config_(ModelConfig::from_hf(hf_config_)),
      source_(std::move(source)),
      weights_(std::move(weights)) {
  rope_tables(config_, config_.n_ctx, rope_cos_, rope_sin_);
}

LlamaModel LlamaModel::load(const io::HfModel& hf) {
  const ModelConfig config = ModelConfig::from_hf(hf.config);
  if (config.d_head % 2 != 0)
    throw InputError(
        fmt::format("{}: head size hidden_size / num_attention_heads = {} is odd; RoPE needs an even one",
                    (hf.dir / "config.json").string(), config.d_head));
  const io::TensorSet& tensors = hf.tensors;
  const int d_model = config.d_model;
  const int d_kv = config.d_kv();
  const int n_ff = config.n_ff;
  ModelWeights weights;
  weights.embed = load_matrix(tensors, "model.embed_tokens.weight", config.n_vocab, d_model);
  for (int layer_idx = 0; layer_idx < config.n_layer; ++layer_idx) {
    const std::string prefix = fmt::format("model.layers.{}.", layer_idx);
    LayerWeights layer;
    layer.w_qkv.resize(d_model + 2 * d_kv, d_model);
    layer.w_qkv.topRows(d_model) = load_matrix(tensors, prefix + "self_attn.q_proj.weight", d_model, d_model);
    layer.w_qkv.middleRows(d_model, d_kv) =
        load_matrix(tensors, prefix + "self_attn.k_proj.weight", d_kv, d_model);
    layer.w_qkv.bottomRows(d_kv) = load_matrix(tensors, prefix + "self_attn.v_proj.weight", d_kv, d_model);
    layer.w_o = load_matrix(tensors, prefix + "self_attn.o_proj.weight", d_model, d_model);
    layer.w_gate_up.resize(2 * n_ff, d_model);
    layer.w_gate_up.topRows(n_ff) = load_matrix(tensors, prefix + "mlp.gate_proj.weight", n_ff, d_model);
    layer.w_gate_up.bottomRows(n_ff) = load_matrix(tensors, prefix + "mlp.up_proj.weight", n_ff, d_model);
    layer.w_down = load_matrix(tensors, prefix + "mlp.down_proj.weight", d_model, n_ff);
    layer.attn_norm = load_vector(tensors, prefix + "input_layernorm.weight", d_model);
    layer.ffn_norm = load_vector(tensors, prefix + "post_attention_layernorm.weight", d_model);
    weights.layers.push_back(std::move(layer));
  }
  weights.final_norm = load_vector(tensors, "model.norm.weight", d_model);
  weights.lm_head = config.tie_word_embeddings
                        ? weights.embed
                        : load_matrix(tensors, "lm_head.weight", config.n_vocab, d_model);
  for (const std::string& name : tensors.names()) tensors.release(name);
  return LlamaModel(hf.config, hf.dir, std::move(weights));
}

LlamaModel LlamaModel::load_dir(const fs::path& dir) { return load(io::open_hf_model(dir)); }

LlamaModel::RowBlock LlamaModel::module_weight(ModuleId module) {
  LayerWeights& layer = weights_.layers.at(static_cast<std::size_t>(module.layer_idx));
  const ModuleSlot slot = module_slot(config_, module.kind);
  switch (module.kind) {
    case ModuleKind::q_proj:
    case ModuleKind::k_proj:
    case ModuleKind::v_proj:
      return layer.w_qkv.middleRows(slot.first_row, slot.n_row);
    case ModuleKind::o_proj:
      return layer.w_o.middleRows(slot.first_row, slot.n_row);
    case ModuleKind::gate_proj:
    case ModuleKind::up_proj:
      return layer.w_gate_up.middleRows(slot.first_row, slot.n_row);
    case ModuleKind::down_proj:
      break;
  }
  return layer.w_down.middleRows(slot.first_row, slot.n_row);
}

LlamaModel::ConstRowBlock LlamaModel::module_weight(ModuleId module) const {
  const LayerWeights& layer = weights_.layers.at(static_cast<std::size_t>(module.layer_idx));
  const ModuleSlot slot = module_slot(config_, module.kind);
  switch (module.kind) {
    case ModuleKind::q_proj:
    case ModuleKind::k_proj:
    case ModuleKind::v_proj:
      return layer.w_qkv.middleRows(slot.first_row, slot.n_row);
    case ModuleKind::o_proj:
      return layer.w_o.middleRows(slot.first_row, slot.n_row);
    case ModuleKind::gate_proj:
    case ModuleKind::up_proj:
      return layer.w_gate_up.middleRows(slot.first_row, slot.n_row);
    case ModuleKind::down_proj:
      break;
  }
  return layer.w_down.middleRows(slot.first_row, slot.n_row);
}

ByteVocab LlamaModel::byte_vocab() const {
  const std::string label = (source_ / "config.json").string();
  if (config_.n_vocab < 258)
    throw InputError(
        fmt::format("{}: key 'vocab_size' is {}: a byte-level model needs at least 258 ids (bytes 0..255, "
                    "BOS, EOS)",
                    label, config_.n_vocab));
  const auto token_id = [&](const char* key) {
    const auto found = hf_config_.raw.find(key);
    if (found == hf_config_.raw.end() || !found->is_number_integer())
      throw InputError(fmt::format("{}: key '{}' is {}: a byte-level model needs an integer id in 256..{}",
                                   label, key, found == hf_config_.raw.end() ? "missing" : found->dump(),
                                   config_.n_vocab - 1));
    const auto value = found->get<std::int64_t>();
    if (value < 256 || value >= config_.n_vocab)
      throw InputError(
          fmt::format("{}: key '{}' is {}: a byte-level model needs an id in 256..{} (0..255 are bytes)",
                      label, key, value, config_.n_vocab - 1));
    return static_cast<TokenId>(value);
  };
  ByteVocab vocab;
  vocab.bos = token_id("bos_token_id");
  vocab.eos = token_id("eos_token_id");
  if (vocab.bos == vocab.eos)
    throw InputError(fmt::format("{}: keys 'bos_token_id' and 'eos_token_id' are both {}", label, vocab.bos));
  return vocab;
}

Matrix LlamaModel::forward(const TokenBatch& batch, const ForwardOptions& options) const {
  const ModelConfig& config = config_;
  if (batch.seq_offsets.empty())
    throw Error("forward: malformed batch (no seq_offsets, not even the leading 0)");
  const int n_row = batch.n_row();
  const int n_seq = batch.n_seq();
  const int d_model = config.d_model;
  const int d_kv = config.d_kv();
  const int d_head = config.d_head;
  const int n_ff = config.n_ff;
  const int n_group = config.n_head / config.n_head_kv;
  if (batch.seq_offsets.front() != 0 || batch.seq_offsets.back() != n_row ||
      !std::is_sorted(batch.seq_offsets.begin(), batch.seq_offsets.end()))
    throw Error(
        fmt::format("forward: malformed batch (seq_offsets do not cover the {} tokens in order)", n_row));
  KvCache* cache = options.cache;
  if (cache != nullptr) {
    if (n_seq > cache->n_slot())
      throw ConfigError(fmt::format("forward: a batch of {} sequences does not fit a KV cache of {} slots",
                                    n_seq, cache->n_slot()));
    if (cache->d_kv_ != d_kv || static_cast<int>(cache->k_.size()) != config.n_layer)
      throw ConfigError("forward: the KV cache was made for another model shape");
    for (int seq_idx = 0; seq_idx < n_seq; ++seq_idx)
      if (cache->length(seq_idx) + batch.length(seq_idx) > cache->capacity())
        throw ConfigError(
            fmt::format("forward: sequence {} would reach {} positions, beyond the KV cache's capacity {}",
                        seq_idx, cache->length(seq_idx) + batch.length(seq_idx), cache->capacity()));
  }

  // Where each row sits: its sequence and its position.
  BatchLayout layout;
  layout.n_seq = n_seq;
  layout.seq_of_row.resize(static_cast<std::size_t>(n_row));
  layout.pos_of_row.resize(static_cast<std::size_t>(n_row));
  int n_position = 0;
  for (int seq_idx = 0; seq_idx < n_seq; ++seq_idx) {
    const int start_pos = cache != nullptr ? cache->length(seq_idx) : 0;
    for (int row_idx = batch.seq_offsets[static_cast<std::size_t>(seq_idx)];
         row_idx < batch.seq_offsets[static_cast<std::size_t>(seq_idx) + 1]; ++row_idx) {
      layout.seq_of_row[static_cast<std::size_t>(row_idx)] = seq_idx;
      layout.pos_of_row[static_cast<std::size_t>(row_idx)] =
          start_pos + row_idx - batch.seq_offsets[static_cast<std::size_t>(seq_idx)];
    }
    n_position = std::max(n_position, start_pos + batch.length(seq_idx));
  }
  if (n_row == 0) return Matrix(0, config.n_vocab);
  Matrix long_cos;
  Matrix long_sin;
  if (n_position > config.n_ctx) rope_tables(config, n_position, long_cos, long_sin);
  const Matrix& cos_table = n_position > config.n_ctx ? long_cos : rope_cos_;
  const Matrix& sin_table = n_position > config.n_ctx ? long_sin : rope_sin_;

  Matrix hidden(n_row, d_model);  // the residual stream [n_row, d_model]
  for (int row_idx = 0; row_idx < n_row; ++row_idx) {
    const TokenId token = batch.tokens[static_cast<std::size_t>(row_idx)];
    if (token < 0 || token >= config.n_vocab)
      throw InputError(fmt::format("forward: token id {} (row {}) is outside the vocabulary 0..{} of {}",
                                   token, row_idx, config.n_vocab - 1, source_.string()));
    hidden.row(row_idx) = weights_.embed.row(token);
  }

  Matrix normed(n_row, d_model);          // RMSNorm output, input of q/k/v and of gate/up
  Matrix qkv(n_row, d_model + 2 * d_kv);  // q | k | v per row
  Matrix attn(n_row, d_model);            // attention output, input of o_proj
  Matrix gate_up(n_row, 2 * n_ff);        // gate | up per row
  Matrix act(n_row, n_ff);                // silu(gate) * up, input of down_proj
  Matrix proj(n_row, d_model);            // o_proj / down_proj output
  Matrix scores;                          // [n query rows, n key positions] of one (sequence, head)
  std::array<RoutingDecision, 3> decisions;  // of the modules sharing an input (at most q k v)
  constexpr std::array kQkv{ModuleKind::q_proj, ModuleKind::k_proj, ModuleKind::v_proj};
  constexpr std::array kGateUp{ModuleKind::gate_proj, ModuleKind::up_proj};
  constexpr std::array kOut{ModuleKind::o_proj};
  constexpr std::array kDown{ModuleKind::down_proj};
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));

  for (int layer_idx = 0; layer_idx < config.n_layer; ++layer_idx) {
    const LayerWeights& layer = weights_.layers[static_cast<std::size_t>(layer_idx)];
    rms_norm(hidden, layer.attn_norm, config.rms_norm_eps, normed);
    run_modules(options, config, layer_idx, kQkv, normed, layout, decisions, qkv,
                [&] { qkv.noalias() = normed * layer.w_qkv.transpose(); });
    apply_rope(qkv, 0, config.n_head, d_head, layout.pos_of_row, cos_table, sin_table);
    apply_rope(qkv, d_model, config.n_head_kv, d_head, layout.pos_of_row, cos_table, sin_table);

    for (int seq_idx = 0; seq_idx < n_seq; ++seq_idx) {
      const int first_row = batch.seq_offsets[static_cast<std::size_t>(seq_idx)];
      const int n_query = batch.length(seq_idx);
      if (n_query == 0) continue;
      const int start_pos = cache != nullptr ? cache->length(seq_idx) : 0;
      const int n_key = start_pos + n_query;
      // Keys and values [n_key, d_kv]: this batch's rows, or the cache slot after appending them.
      const float* key_data = qkv.data() + static_cast<Eigen::Index>(first_row) * qkv.cols() + d_model;
      const float* value_data = key_data + d_kv;
      Eigen::Index kv_stride = qkv.cols();
      if (cache != nullptr) {
        Matrix& cache_k = cache->k_[static_cast<std::size_t>(layer_idx)];
        Matrix& cache_v = cache->v_[static_cast<std::size_t>(layer_idx)];
        const Eigen::Index slot_row = static_cast<Eigen::Index>(seq_idx) * cache->capacity();
        cache_k.middleRows(slot_row + start_pos, n_query) = qkv.block(first_row, d_model, n_query, d_kv);
        cache_v.middleRows(slot_row + start_pos, n_query) =
            qkv.block(first_row, d_model + d_kv, n_query, d_kv);
        key_data = cache_k.data() + slot_row * d_kv;
        value_data = cache_v.data() + slot_row * d_kv;
        kv_stride = d_kv;
      }
      const ConstStridedMap keys(key_data, n_key, d_kv, Eigen::OuterStride<>(kv_stride));
      const ConstStridedMap values(value_data, n_key, d_kv, Eigen::OuterStride<>(kv_stride));
      for (int head_idx = 0; head_idx < config.n_head; ++head_idx) {
        const int kv_head_idx = head_idx / n_group;
        const auto query = qkv.block(first_row, head_idx * d_head, n_query, d_head);
        scores.resize(n_query, n_key);
        scores.noalias() = query * keys.middleCols(kv_head_idx * d_head, d_head).transpose();
        for (int query_idx = 0; query_idx < n_query; ++query_idx) {
          const int n_visible = start_pos + query_idx + 1;  // causal: keys at positions <= own
          auto visible = scores.row(query_idx).head(n_visible).array();
          visible *= scale;
          const float max_score = visible.maxCoeff();
          visible = (visible - max_score).exp();
          visible /= visible.sum();
          scores.row(query_idx).tail(n_key - n_visible).setZero();
        }
        attn.block(first_row, head_idx * d_head, n_query, d_head).noalias() =
            scores * values.middleCols(kv_head_idx * d_head, d_head);
      }
    }

    run_modules(options, config, layer_idx, kOut, attn, layout, decisions, proj,
                [&] { proj.noalias() = attn * layer.w_o.transpose(); });
    hidden += proj;

    rms_norm(hidden, layer.ffn_norm, config.rms_norm_eps, normed);
    run_modules(options, config, layer_idx, kGateUp, normed, layout, decisions, gate_up,
                [&] { gate_up.noalias() = normed * layer.w_gate_up.transpose(); });
    const auto gate = gate_up.leftCols(n_ff).array();
    act.array() = gate / (1.0f + (-gate).exp()) * gate_up.rightCols(n_ff).array();
    run_modules(options, config, layer_idx, kDown, act, layout, decisions, proj,
                [&] { proj.noalias() = act * layer.w_down.transpose(); });
    hidden += proj;
  }

  rms_norm(hidden, weights_.final_norm, config.rms_norm_eps, normed);
  Matrix logits(n_row, config.n_vocab);
  logits.noalias() = normed * weights_.lm_head.transpose();
  if (options.final_hidden != nullptr) *options.final_hidden = std::move(normed);
  if (cache != nullptr)
    for (int seq_idx = 0; seq_idx < n_seq; ++seq_idx)
      cache->length_[static_cast<std::size_t>(seq_idx)] += batch.length(seq_idx);
  return logits;
}

void log_softmax_rows(Matrix& logits) {
  for (Eigen::Index row_idx = 0; row_idx < logits.rows(); ++row_idx) {
    auto row = logits.row(row_idx).array();
    const float max_logit = row.maxCoeff();
    row -= max_logit;
    row -= std::log(row.exp().sum());
  }
}

}  // namespace moerge::model
