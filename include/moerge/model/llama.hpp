// The Llama-style decoder runtime: weights loaded from a HF directory (f32 / bf16 / f16 -> f32),
// a batched forward over many sequences of different lengths, a KV cache for decoding, and the
// byte-level vocabulary (ids 0..255 are bytes, BOS and EOS come from config.json).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "moerge/io/hf.hpp"
#include "moerge/model/routing.hpp"

namespace moerge::model {

using TokenId = std::int32_t;


/// The hyper-parameters of a HF LlamaForCausalLM the forward pass needs.
struct ModelConfig {
  int d_model = 0;    // hidden_size
  int n_layer = 0;    // num_hidden_layers
  int n_head = 0;     // num_attention_heads
  int n_head_kv = 0;  // num_key_value_heads (grouped-query attention when < n_head)
  int d_head = 0;     // d_model / n_head
  int n_ff = 0;       // intermediate_size
  int n_vocab = 0;    // vocab_size
  int n_ctx = 0;      // max_position_embeddings
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;

  int d_kv() const { return n_head_kv * d_head; }
  /// Output width of a module: d_model for q and o, d_kv for k and v, n_ff for gate and up.
  int d_out(ModuleKind kind) const;
  int d_in(ModuleKind kind) const;

  static ModelConfig from_hf(const io::LlamaConfig& config);
};

/// One decoder block. Projections sharing an input are stacked row-wise so that one GEMM computes
/// them all; module_weight() gives each HF module's block.
struct LayerWeights {
  Matrix w_qkv;      // [d_model + 2 d_kv, d_model], row-major: q_proj, k_proj, v_proj rows
  Matrix w_o;        // [d_model, d_model]
  Matrix w_gate_up;  // [2 n_ff, d_model]: gate_proj rows then up_proj rows
  Matrix w_down;     // [d_model, n_ff]
  Vector attn_norm;  // input_layernorm [d_model]
  Vector ffn_norm;   // post_attention_layernorm [d_model]
};

struct ModelWeights {
  Matrix embed;  // [n_vocab, d_model]
  std::vector<LayerWeights> layers;
  Vector final_norm;  // [d_model]
  Matrix lm_head;     // [n_vocab, d_model]; a copy of embed when the config ties them
};

/// Where the stacked matrix of a module lives and which rows are the module's weight
/// ([d_out, d_in] as HF stores "<module>.weight").
struct ModuleSlot {
  int first_row = 0;  // first row of the module in its stacked matrix (= column of its output)
  int n_row = 0;      // d_out
};
ModuleSlot module_slot(const ModelConfig& config, ModuleKind kind);

/// Byte-level token ids: bytes are 0..255, BOS and EOS are extra ids from config.json.
struct ByteVocab {
  TokenId bos = 256;
  TokenId eos = 257;
};

/// A batch of sequences, concatenated row after row: sequence s is rows
/// [seq_offsets[s], seq_offsets[s + 1]).
struct TokenBatch {
  std::vector<TokenId> tokens;
  std::vector<std::int32_t> seq_offsets{0};

  void add(std::span<const TokenId> sequence);
  int n_seq() const { return static_cast<int>(seq_offsets.size()) - 1; }
  int n_row() const { return static_cast<int>(tokens.size()); }
  int length(int seq_idx) const { return seq_offsets[seq_idx + 1] - seq_offsets[seq_idx]; }
};

/// Keys and values of past positions for up to n_slot sequences of up to `capacity` positions.
/// Sequence s of a batch run with a cache uses slot s and continues at position length(s).
class KvCache {
 public:
  KvCache(const ModelConfig& config, int n_slot, int capacity);

  int n_slot() const { return static_cast<int>(length_.size()); }
  int capacity() const { return capacity_; }
  int length(int slot) const { return length_[static_cast<std::size_t>(slot)]; }
  void clear();

 private:
  friend class LlamaModel;
  int capacity_ = 0;
  int d_kv_ = 0;
  std::vector<Matrix> k_;  // per layer: [n_slot * capacity, d_kv], slot s owns rows [s * capacity, ...)
  std::vector<Matrix> v_;
  std::vector<int> length_;
};

/// What a forward pass does besides the base model.
struct ForwardOptions {
  /// Called at every linear module of every layer (q k v o gate up down); its decisions pick the
  /// experts of `experts` per row. nullptr: base only.
  ModuleHook* hook = nullptr;
  /// The LoRA experts a hook's decisions refer to (required when the hook returns decisions): a
  /// LoraSet in this process, or a serve::ExpertDispatcher for experts hosted by other ranks.
  const ExpertApplier* experts = nullptr;
  /// Continue the sequences held in this cache (sequence s = slot s) and append the batch to it.
  KvCache* cache = nullptr;
  /// When set, receives the final hidden states (after the final RMSNorm), [n_row, d_model].
  Matrix* final_hidden = nullptr;
};

class LlamaModel {
 public:
  /// Convert a validated HF model's weights to f32.
  static LlamaModel load(const io::HfModel& hf);
  /// open_hf_model(dir) then load.
  static LlamaModel load_dir(const std::filesystem::path& dir);

  LlamaModel(io::LlamaConfig hf_config, std::filesystem::path source, ModelWeights weights);

  const ModelConfig& config() const { return config_; }
  const io::LlamaConfig& hf_config() const { return hf_config_; }
  /// The directory the weights came from (labels in messages).
  const std::filesystem::path& source() const { return source_; }
  const ModelWeights& weights() const { return weights_; }
  ModelWeights& weights() { return weights_; }

  /// The rows of `layer_idx`'s stacked matrix that are module `kind`'s weight [d_out, d_in].
  using RowBlock = Eigen::Block<Matrix, Eigen::Dynamic, Eigen::Dynamic, true>;
  using ConstRowBlock = Eigen::Block<const Matrix, Eigen::Dynamic, Eigen::Dynamic, true>;
  RowBlock module_weight(ModuleId module);
  ConstRowBlock module_weight(ModuleId module) const;

  /// Byte-level vocabulary from config.json (bos_token_id, eos_token_id); InputError naming the
  /// config when the model is not byte-level (vocab below 258, ids missing or inside 0..255).
  ByteVocab byte_vocab() const;

  /// Logits [n_row, n_vocab] of every row of the batch (row-major, rows in batch order): causal
  /// attention within each sequence, positions from 0 (or from the cache's lengths).
  Matrix forward(const TokenBatch& batch, const ForwardOptions& options = {}) const;

 private:
  io::LlamaConfig hf_config_;
  ModelConfig config_;
  std::filesystem::path source_;
  ModelWeights weights_;
  // RoPE tables [n_ctx, d_head / 2] (HF: angle = float(pos) * inv_freq in f32); positions past
  // n_ctx get a table of their own in the forward call.
  Matrix rope_cos_;
  Matrix rope_sin_;
};

/// Natural-log softmax of every row, in place (f32, max-subtracted like torch.log_softmax).
void log_softmax_rows(Matrix& logits);

}  // namespace moerge::model
