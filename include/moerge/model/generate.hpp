// Byte-level generation: one batched prefill of every prompt into a KV cache, then one decode step
// per new byte for all unfinished prompts at once; greedy or sampled (temperature, top-k).
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/model/llama.hpp"

namespace moerge::model {

struct SamplingOptions {
  int max_new_tokens = 64;
  double temperature = 0.0;  // 0: greedy
  int top_k = 0;             // sample among the k most likely bytes; 0: all
  std::uint64_t seed = 0;
  int context = 0;  // positions per sequence, prompt included; 0: the model's n_ctx
};

/// Why a continuation ended.
enum class StopReason : std::uint8_t { eos, max_new_tokens, context };
std::string_view stop_reason_name(StopReason reason);

struct Generation {
  std::string text;  // the new bytes (without the prompt)
  StopReason stop = StopReason::max_new_tokens;
};

/// The next byte (or EOS) after a row of logits: greedy (ties to the lower id), or sampled from
/// softmax(logits / T) over the top-k. BOS and ids beyond EOS are never chosen.
TokenId choose_token(const float* logits, const ByteVocab& vocab, const SamplingOptions& options,
                     std::mt19937_64& rng);

/// Continue each prompt (BOS + its bytes) until EOS, max_new_tokens or the context. `options` is
/// used for every forward (its cache is replaced by the generation's own); `before_forward`, when
/// set, is called before each forward with the batch (sequence s = prompt s; finished prompts are
/// empty sequences), e.g. to set a per-sequence routing decision. InputError naming the prompt
/// when one does not fit the context.
std::vector<Generation> generate(const LlamaModel& model, std::span<const std::string> prompts,
                                 const SamplingOptions& sampling, ForwardOptions options = {},
                                 const std::function<void(const TokenBatch&)>& before_forward = {});

}  // namespace moerge::model
