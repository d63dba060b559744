// Sequence-level routers as eval::Scorers (see include/moerge/route/sequence.hpp).
#include "moerge/route/sequence.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

#include "moerge/core/error.hpp"
#include "moerge/route/lorahub.hpp"
#include "moerge/route/stats.hpp"

namespace moerge::route {

namespace {

/// The sequences `seq_list` of `batch` as a batch of their own, in that order.
model::TokenBatch sub_batch(const model::TokenBatch& batch, std::span<const int> seq_list) {
  model::TokenBatch out;
  for (const int seq_idx : seq_list)
    out.add(std::span(batch.tokens).subspan(static_cast<std::size_t>(batch.seq_offsets[static_cast<std::size_t>(seq_idx)]),
                                            static_cast<std::size_t>(batch.length(seq_idx))));
  return out;
}

/// Copies (or log-adds, when `log_add`) the rows of `part` (a sub_batch's output) into `out`.
void scatter_rows(const model::TokenBatch& batch, std::span<const int> seq_list, const Matrix& part, float log_weight,
                  bool log_add, Matrix& out) {
  Eigen::Index part_row = 0;
  for (const int seq_idx : seq_list) {
    const Eigen::Index first = batch.seq_offsets[static_cast<std::size_t>(seq_idx)];
    for (Eigen::Index row = first; row < first + batch.length(seq_idx); ++row, ++part_row) {
      if (!log_add) {
        out.row(row) = part.row(part_row);
        continue;
      }
      for (Eigen::Index col = 0; col < out.cols(); ++col) {
        const float term = log_weight + part(part_row, col);
        float& acc = out(row, col);
        const float high = std::max(acc, term);
        if (high == -std::numeric_limits<float>::infinity()) continue;
        acc = high + static_cast<float>(std::log1p(std::exp(static_cast<double>(std::min(acc, term) - high))));
      }
    }
  }
}

}  // namespace

model::LoraExpert combine_lora_experts(const model::LoraSet& experts, std::span<const double> weights,
                                       std::string name) {
  if (static_cast<int>(weights.size()) != experts.n_expert())
    throw Error(fmt::format("combine_lora_experts: {} weights for {} experts", weights.size(), experts.n_expert()));
  const model::LoraExpert& first = experts.expert(0);
  model::LoraExpert out{.name = std::move(name), .scale = 1.0f, .modules = {}};
  out.modules.resize(first.modules.size());
  std::vector<Matrix> lora_a(static_cast<std::size_t>(experts.n_expert()));
  std::vector<Matrix> lora_b(static_cast<std::size_t>(experts.n_expert()));
  std::vector<float> scales(static_cast<std::size_t>(experts.n_expert()));
  for (std::size_t index = 0; index < first.modules.size(); ++index) {
    if (first.modules[index] == nullptr) continue;
    for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
      const model::LoraExpert& expert = experts.expert(expert_idx);
      const model::LoraFactors* factors = index < expert.modules.size() ? expert.modules[index].get() : nullptr;
      if (factors == nullptr)
        throw InputError(fmt::format("expert '{}' does not adapt a module that expert '{}' adapts: cannot combine",
                                     expert.name, first.name));
      lora_a[static_cast<std::size_t>(expert_idx)] = factors->a;
      lora_b[static_cast<std::size_t>(expert_idx)] = factors->b;
      scales[static_cast<std::size_t>(expert_idx)] = expert.scale;
    }
    LoraFactors combined = lorahub_combine(lora_a, lora_b, scales, weights, out.name);
    out.modules[index] = std::make_shared<const model::LoraFactors>(
        model::LoraFactors{.a = std::move(combined.a), .b = std::move(combined.b)});
  }
  return out;
}

RoutingDecision route_sequences(const SequenceRouterOptions& options, const MatrixRef& queries,
                                const Matrix& expert_embeddings, const LinearRouter* router) {
  switch (options.kind) {
    case SequenceRouterKind::retrieval:
      return retrieval_route(queries, expert_embeddings, RetrievalOptions{.top_k = options.top_k});
    case SequenceRouterKind::cbtm:
      return cbtm_route(queries, expert_embeddings,
                        CbtmOptions{.top_k = options.top_k, .temperature = options.cbtm_temperature});
    case SequenceRouterKind::learned:
      if (router == nullptr) throw Error("the learned router has no trained classifier");
      return linear_router_route(*router, queries, options.top_k);
  }
  throw Error("unknown sequence router kind");
}

SequenceRoutedScorer::SequenceRoutedScorer(const model::LlamaModel& base, const model::ExpertApplier& experts,
                                           Matrix expert_embeddings, std::optional<LinearRouter> router,
                                           SequenceRouterOptions options)
    : base_(base),
      experts_(experts),
      expert_embeddings_(std::move(expert_embeddings)),
      router_(std::move(router)),
      options_(options),
      vocab_(base.byte_vocab()) {
  if (options_.context <= 0) options_.context = base.config().n_ctx;
  if (options_.aggregation == Aggregation::parameter && options_.kind == SequenceRouterKind::cbtm)
    throw ConfigError("c-BTM mixes the outputs of separate models: --aggregate parameter does not apply");
  if (options_.kind == SequenceRouterKind::learned && !router_)
    throw ConfigError("the learned router needs a trained classifier");
  if (options_.aggregation == Aggregation::parameter && dynamic_cast<const model::LoraSet*>(&experts) == nullptr)
    throw ConfigError("--aggregate parameter combines the experts' factors: it needs every expert in this process");
  if (options_.kind != SequenceRouterKind::learned && expert_embeddings_.rows() != experts.n_expert())
    throw Error(fmt::format("sequence router: {} expert embeddings for {} experts", expert_embeddings_.rows(),
                            experts.n_expert()));
}

void SequenceRoutedScorer::prepare_batch(std::span<const eval::Window> windows,
                                         std::span<const eval::Document> documents) {
  windows_.assign(windows.begin(), windows.end());
  documents_ = documents;
  prepared_ = true;
}

model::Matrix SequenceRoutedScorer::log_probs(const model::TokenBatch& batch) {
  if (!prepared_ || static_cast<int>(windows_.size()) != batch.n_seq())
    throw Error("a sequence router scores windows of documents: call prepare_batch with the batch's windows first");
  prepared_ = false;
  // The context of every window that has one: the previous window of its document, as it was fed.
  std::vector<int> with_context;
  std::vector<int> without_context;
  std::vector<eval::Window> context_windows;
  for (int seq_idx = 0; seq_idx < batch.n_seq(); ++seq_idx) {
    const eval::Window& window = windows_[static_cast<std::size_t>(seq_idx)];
    if (window.begin == 0) {
      without_context.push_back(seq_idx);
      continue;
    }
    const std::int64_t begin = std::max<std::int64_t>(0, window.begin - options_.context);
    with_context.push_back(seq_idx);
    context_windows.push_back(eval::Window{.doc_idx = window.doc_idx,
                                           .begin = begin,
                                           .n_byte = static_cast<std::int32_t>(window.begin - begin)});
  }
  RoutingDecision per_context;
  if (!with_context.empty()) {
    const Matrix queries = sequence_embeddings(base_, window_batch(documents_, context_windows, vocab_));
    per_context = route_sequences(options_, queries, expert_embeddings_, router_ ? &*router_ : nullptr);
  }
  // Per sequence of the batch: the context's decision, none for first windows.
  last_decision_.clear();
  {
    std::size_t context_idx = 0;
    for (int seq_idx = 0; seq_idx < batch.n_seq(); ++seq_idx) {
      if (context_idx < with_context.size() && with_context[context_idx] == seq_idx) {
        for (std::int32_t entry = per_context.row_offsets[context_idx]; entry < per_context.row_offsets[context_idx + 1];
             ++entry) {
          last_decision_.expert_idx.push_back(per_context.expert_idx[static_cast<std::size_t>(entry)]);
          last_decision_.weight.push_back(per_context.weight[static_cast<std::size_t>(entry)]);
        }
        ++context_idx;
      }
      last_decision_.row_offsets.push_back(static_cast<std::int32_t>(last_decision_.expert_idx.size()));
    }
  }

  if (options_.kind == SequenceRouterKind::cbtm) {
    Matrix out = Matrix::Constant(batch.n_row(), base_.config().n_vocab, -std::numeric_limits<float>::infinity());
    if (!without_context.empty()) {
      Matrix part = base_.forward(sub_batch(batch, without_context));
      model::log_softmax_rows(part);
      scatter_rows(batch, without_context, part, 0.0f, false, out);
    }
    for (int expert_idx = 0; expert_idx < experts_.n_expert(); ++expert_idx) {
      std::vector<int> seq_list;
      std::vector<float> log_weights;
      for (int seq_idx = 0; seq_idx < batch.n_seq(); ++seq_idx)
        for (std::int32_t entry = last_decision_.row_offsets[static_cast<std::size_t>(seq_idx)];
             entry < last_decision_.row_offsets[static_cast<std::size_t>(seq_idx) + 1]; ++entry)
          if (last_decision_.expert_idx[static_cast<std::size_t>(entry)] == expert_idx &&
              last_decision_.weight[static_cast<std::size_t>(entry)] > 0.0f) {
            seq_list.push_back(seq_idx);
            log_weights.push_back(std::log(last_decision_.weight[static_cast<std::size_t>(entry)]));
          }
      if (seq_list.empty()) continue;
      model::SingleExpertHook single(expert_idx);
      Matrix part = base_.forward(sub_batch(batch, seq_list), model::ForwardOptions{.hook = &single, .experts = &experts_});
      model::log_softmax_rows(part);
      // One sequence at a time, each with its own weight.
      Eigen::Index part_row = 0;
      for (std::size_t list_idx = 0; list_idx < seq_list.size(); ++list_idx) {
        const int seq_idx = seq_list[list_idx];
        const std::array<int, 1> one{seq_idx};
        scatter_rows(batch, one, part.middleRows(part_row, batch.length(seq_idx)), log_weights[list_idx], true, out);
        part_row += batch.length(seq_idx);
      }
    }
    return out;
  }

  SequenceDecisionHook hook;
  if (options_.aggregation == Aggregation::output) {
    hook.set(last_decision_);
    Matrix logits = base_.forward(batch, model::ForwardOptions{.hook = &hook, .experts = &experts_});
    model::log_softmax_rows(logits);
    return logits;
  }
  // Parameter aggregation: one combined LoRA per distinct choice of experts and weights.
  const auto& factors = dynamic_cast<const model::LoraSet&>(experts_);  // checked at construction
  model::LoraSet combined(factors.config());
  std::map<std::vector<double>, int> combo_of;
  RoutingDecision per_sequence;
  per_sequence.clear();
  for (int seq_idx = 0; seq_idx < batch.n_seq(); ++seq_idx) {
    const auto first = last_decision_.row_offsets[static_cast<std::size_t>(seq_idx)];
    const auto last = last_decision_.row_offsets[static_cast<std::size_t>(seq_idx) + 1];
    if (first < last) {
      std::vector<double> weights(static_cast<std::size_t>(experts_.n_expert()), 0.0);
      for (auto entry = first; entry < last; ++entry)
        weights[static_cast<std::size_t>(last_decision_.expert_idx[static_cast<std::size_t>(entry)])] +=
            last_decision_.weight[static_cast<std::size_t>(entry)];
      auto found = combo_of.find(weights);
      if (found == combo_of.end()) {
        const int combo_idx = combined.add(
            combine_lora_experts(factors, weights, fmt::format("combination {}", combo_of.size())));
        found = combo_of.emplace(weights, combo_idx).first;
      }
      per_sequence.expert_idx.push_back(found->second);
      per_sequence.weight.push_back(1.0f);
    }
    per_sequence.row_offsets.push_back(static_cast<std::int32_t>(per_sequence.expert_idx.size()));
  }
  hook.set(per_sequence);
  Matrix logits = base_.forward(batch, model::ForwardOptions{.hook = &hook, .experts = &combined});
  model::log_softmax_rows(logits);
  return logits;
}

}  // namespace moerge::route
