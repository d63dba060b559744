// Routers as forward-pass hooks (model::ModuleHook): token-level routers that score every row at
// every module (Arrow, PHATGOOSE, centroid), and a hook that applies one fixed decision per
// sequence (sequence-level routers mixing outputs).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "moerge/model/routing.hpp"
#include "moerge/route/math.hpp"
#include "moerge/route/stats.hpp"

namespace moerge::route {

enum class TokenRouterKind : std::uint8_t { arrow, phatgoose, centroid };

struct TokenRouterOptions {
  int top_k = 0;                     // 0: dense softmax
  std::optional<float> temperature;  // arrow: 1; centroid: sqrt(d); unused by phatgoose
  float layer_norm_eps = 1e-5f;      // phatgoose
};

/// At every module: the decision of `kind` from the module's input rows and the experts' vectors
/// of that module (ModuleVectors: Arrow prototypes, PHATGOOSE gates or centroids). Modules no
/// expert adapts get no entries. Causal by construction: a row's decision uses that row only.
class TokenRouterHook : public model::ModuleHook {
 public:
  TokenRouterHook(TokenRouterKind kind, ModuleVectors vectors, TokenRouterOptions options);
  void at_module(const model::ModuleId& module, const Matrix& input, const model::BatchLayout& layout,
                 model::RoutingDecision& decision) override;
  /// The decision for `input` at `module` (what at_module gives), for tests and inspection.
  model::RoutingDecision route(const model::ModuleId& module, const Matrix& input) const;

 private:
  TokenRouterKind kind_;
  ModuleVectors vectors_;
  TokenRouterOptions options_;
};

/// Applies a per-sequence decision (row s = sequence s of the batch) to every row of that sequence
/// at every module: the output mixture of a sequence-level router.
class SequenceDecisionHook : public model::ModuleHook {
 public:
  /// Set before each forward; per_sequence.row_offsets has n_seq + 1 entries.
  void set(model::RoutingDecision per_sequence);
  void at_module(const model::ModuleId& module, const Matrix& input, const model::BatchLayout& layout,
                 model::RoutingDecision& decision) override;

 private:
  model::RoutingDecision per_sequence_;
  model::RoutingDecision per_row_;          // expanded for the layout below
  std::vector<std::int32_t> expanded_for_;  // seq_of_row of the layout per_row_ was expanded for
  bool expanded_ = false;
};

}  // namespace moerge::route
