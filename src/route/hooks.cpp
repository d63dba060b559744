// Routers as forward-pass hooks (see include/moerge/route/hooks.hpp).
#include "moerge/route/hooks.hpp"

#include <fmt/core.h>

#include "moerge/core/error.hpp"

namespace moerge::route {

TokenRouterHook::TokenRouterHook(TokenRouterKind kind, ModuleVectors vectors, TokenRouterOptions options)
    : kind_(kind), vectors_(std::move(vectors)), options_(options) {
  if (options_.top_k < 0) throw ConfigError(fmt::format("top-k {} must not be negative", options_.top_k));
}

model::RoutingDecision TokenRouterHook::route(const model::ModuleId& module, const Matrix& input) const {
  const auto index = static_cast<std::size_t>(module.index());
  model::RoutingDecision decision;
  decision.clear();
  if (index >= vectors_.size() || vectors_[index].size() == 0) {
    decision.row_offsets.assign(static_cast<std::size_t>(input.rows()) + 1, 0);
    return decision;
  }
  const Matrix& vectors = vectors_[index];
  if (vectors.cols() != input.cols())
    throw Error(fmt::format("router at {}: input width {} but the experts' vectors have {}", module.hf_path(),
                            input.cols(), vectors.cols()));
  switch (kind_) {
    case TokenRouterKind::arrow:
      return arrow_route(
          input, vectors,
          ArrowOptions{.top_k = options_.top_k, .temperature = options_.temperature.value_or(1.0f)});
    case TokenRouterKind::phatgoose:
      return phatgoose_route(
          input, vectors,
          PhatgooseOptions{.top_k = options_.top_k, .layer_norm_eps = options_.layer_norm_eps});
    case TokenRouterKind::centroid:
      return centroid_route(input, vectors,
                            CentroidOptions{.top_k = options_.top_k, .temperature = options_.temperature});
  }
  throw Error("unknown token router kind");
}

void TokenRouterHook::at_module(const model::ModuleId& module, const Matrix& input,
                                const model::BatchLayout& /*layout*/, model::RoutingDecision& decision) {
  decision = route(module, input);
}

void SequenceDecisionHook::set(model::RoutingDecision per_sequence) {
  per_sequence_ = std::move(per_sequence);
  expanded_ = false;
}

void SequenceDecisionHook::at_module(const model::ModuleId& /*module*/, const Matrix& input,
                                     const model::BatchLayout& layout, model::RoutingDecision& decision) {
  if (static_cast<int>(per_sequence_.row_offsets.size()) != layout.n_seq + 1)
    throw Error(fmt::format("sequence router: a decision for {} sequences given to a batch of {}",
                            static_cast<int>(per_sequence_.row_offsets.size()) - 1, layout.n_seq));
  // Once per forward: every module of a forward sees the same layout, but decode steps with the
  // same row count can hold other sequences, so the cache is keyed on the rows' sequences.
  if (!expanded_ || static_cast<Eigen::Index>(per_row_.row_offsets.size()) != input.rows() + 1 ||
      expanded_for_ != layout.seq_of_row) {
    per_row_ = expand_to_rows(per_sequence_, layout);
    expanded_for_ = layout.seq_of_row;
    expanded_ = true;
  }
  decision = per_row_;
}

}  // namespace moerge::route
