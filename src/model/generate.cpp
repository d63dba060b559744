// Batched byte-level generation with a KV cache (see include/moerge/model/generate.hpp).
#include "moerge/model/generate.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "moerge/core/error.hpp"

namespace moerge::model {

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::eos:
      return "eos";
    case StopReason::max_new_tokens:
      return "max_new_tokens";
    case StopReason::context:
      return "context";
  }
  return "?";
}

TokenId choose_token(const float* logits, const ByteVocab& vocab, const SamplingOptions& options,
                     std::mt19937_64& rng) {
  std::vector<std::pair<float, TokenId>> candidates;
  candidates.reserve(257);
  for (TokenId token = 0; token < 256; ++token) candidates.emplace_back(logits[token], token);
  candidates.emplace_back(logits[vocab.eos], vocab.eos);
  // Highest logit first; ties go to the lower id.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (options.temperature == 0.0) return candidates.front().second;
  if (options.top_k > 0 && static_cast<std::size_t>(options.top_k) < candidates.size())
    candidates.resize(static_cast<std::size_t>(options.top_k));
  std::vector<double> weights;
  weights.reserve(candidates.size());
  for (const auto& [logit, token] : candidates)
    weights.push_back(
        std::exp((static_cast<double>(logit) - candidates.front().first) / options.temperature));
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  return candidates[pick(rng)].second;
}

std::vector<Generation> generate(const LlamaModel& model, std::span<const std::string> prompts,
                                 const SamplingOptions& sampling, ForwardOptions options,
                                 const std::function<void(const TokenBatch&)>& before_forward) {
  const ByteVocab vocab = model.byte_vocab();
  const int capacity = sampling.context > 0 ? sampling.context : model.config().n_ctx;
  const auto n_prompt = static_cast<int>(prompts.size());
  std::vector<Generation> out(prompts.size());
  if (n_prompt == 0) return out;

  TokenBatch batch;
  for (int prompt_idx = 0; prompt_idx < n_prompt; ++prompt_idx) {
    const std::string& prompt = prompts[static_cast<std::size_t>(prompt_idx)];
    if (static_cast<int>(prompt.size()) + 1 > capacity)
      throw InputError(
          fmt::format("prompt {} is {} bytes; with BOS it does not fit the context of {} positions",
                      prompt_idx + 1, prompt.size(), capacity));
    std::vector<TokenId> tokens{vocab.bos};
    for (const char byte : prompt) tokens.push_back(static_cast<unsigned char>(byte));
    batch.add(tokens);
  }
  KvCache cache(model.config(), n_prompt, capacity);
  options.cache = &cache;
  if (before_forward) before_forward(batch);
  Matrix logits = model.forward(batch, options);
  std::vector<int> last_row(static_cast<std::size_t>(n_prompt));
  for (int prompt_idx = 0; prompt_idx < n_prompt; ++prompt_idx)
    last_row[static_cast<std::size_t>(prompt_idx)] =
        batch.seq_offsets[static_cast<std::size_t>(prompt_idx) + 1] - 1;

  std::mt19937_64 rng(sampling.seed);
  std::vector<bool> done(static_cast<std::size_t>(n_prompt), sampling.max_new_tokens == 0);
  for (int step = 0; step < sampling.max_new_tokens; ++step) {
    batch.tokens.clear();
    batch.seq_offsets.assign(1, 0);
    bool any_active = false;
    for (int prompt_idx = 0; prompt_idx < n_prompt; ++prompt_idx) {
      const auto index = static_cast<std::size_t>(prompt_idx);
      if (done[index]) {
        batch.add({});
        continue;
      }
      const TokenId token = choose_token(logits.row(last_row[index]).data(), vocab, sampling, rng);
      if (token == vocab.eos) {
        done[index] = true;
        out[index].stop = StopReason::eos;
        batch.add({});
        continue;
      }
      out[index].text.push_back(static_cast<char>(token));
      if (cache.length(prompt_idx) >= capacity || step + 1 == sampling.max_new_tokens) {
        done[index] = true;
        out[index].stop =
            cache.length(prompt_idx) >= capacity ? StopReason::context : StopReason::max_new_tokens;
        batch.add({});
        continue;
      }
      const TokenId next[] = {token};
      batch.add(next);
      any_active = true;
    }
    if (!any_active) break;
    if (before_forward) before_forward(batch);
    logits = model.forward(batch, options);
    for (int prompt_idx = 0; prompt_idx < n_prompt; ++prompt_idx)
      last_row[static_cast<std::size_t>(prompt_idx)] =
          batch.seq_offsets[static_cast<std::size_t>(prompt_idx)];
  }
  return out;
}

}  // namespace moerge::model
