// Sequence-level routers as eval::Scorers: retrieval, the learned linear router and the c-BTM
// ensemble route each window on the context a causal model has already seen, the base model's mean
// final hidden state over the previous window of the same document; a document's first window is
// scored by the base alone (docs/routing.md, "Sequence-level routers: the context rule").
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "moerge/eval/bpb.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/hooks.hpp"
#include "moerge/route/math.hpp"

namespace moerge::route {

enum class SequenceRouterKind : std::uint8_t { retrieval, learned, cbtm };
enum class Aggregation : std::uint8_t { output, parameter };

struct SequenceRouterOptions {
  SequenceRouterKind kind = SequenceRouterKind::retrieval;
  int top_k = 3;                                   // retrieval 3, cbtm 2, learned 0 (dense)
  Aggregation aggregation = Aggregation::output;   // parameter: retrieval only
  float cbtm_temperature = 0.1f;
  int context = 0;  // window length L of the evaluation (the previous window is L bytes); 0: n_ctx
};

/// The combination of experts with weights as one LoRA expert: per module, A = sum_e w_e A_e and
/// B = sum_e w_e s_e B_e (lorahub_combine; scale 1). Experts must share ranks (check_router_experts).
model::LoraExpert combine_lora_experts(const model::LoraSet& experts, std::span<const double> weights,
                                       std::string name);

/// The per-sequence decision of a sequence router for context embeddings [n_query, d_model].
/// embeddings: the experts' [n_expert, d_model] (retrieval, cbtm); router: the trained linear
/// router (learned).
RoutingDecision route_sequences(const SequenceRouterOptions& options, const MatrixRef& queries,
                                const Matrix& expert_embeddings, const LinearRouter* router);

/// Scores windows with the experts chosen per window from the previous window's embedding.
/// Output aggregation mixes the chosen experts' LoRA outputs at every module with the router's
/// weights; parameter aggregation evaluates one LoRA combined from the chosen experts' A and B
/// (combine_lora_experts); c-BTM runs each chosen expert as its own model and mixes next-byte
/// distributions: log p = logsumexp_j(log w_j + log p_j).
class SequenceRoutedScorer : public eval::Scorer {
 public:
  /// `experts` applies the chosen experts (a LoraSet here, or a serve::ExpertDispatcher for experts
  /// hosted by other ranks); parameter aggregation combines factors, so it needs a LoraSet.
  SequenceRoutedScorer(const model::LlamaModel& base, const model::ExpertApplier& experts, Matrix expert_embeddings,
                       std::optional<LinearRouter> router, SequenceRouterOptions options);

  void prepare_batch(std::span<const eval::Window> windows, std::span<const eval::Document> documents) override;
  model::Matrix log_probs(const model::TokenBatch& batch) override;
  model::ByteVocab vocab() const override { return vocab_; }
  int n_ctx() const override { return base_.config().n_ctx; }

  /// The per-sequence decision of the last batch (no entries: a first window, base only).
  const model::RoutingDecision& last_decision() const { return last_decision_; }

 private:
  const model::LlamaModel& base_;
  const model::ExpertApplier& experts_;
  Matrix expert_embeddings_;
  std::optional<LinearRouter> router_;
  SequenceRouterOptions options_;
  model::ByteVocab vocab_;
  std::vector<eval::Window> windows_;               // the batch's windows (prepare_batch)
  std::span<const eval::Document> documents_;
  bool prepared_ = false;
  model::RoutingDecision last_decision_;
};

}  // namespace moerge::route
