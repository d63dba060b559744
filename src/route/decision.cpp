// Routing decisions from logits: top-k with deterministic ties, softmax over the kept experts.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "checks.hpp"
#include "moerge/core/error.hpp"
#include "moerge/route/math.hpp"

namespace moerge::route {

RoutingDecision top_k_softmax(const MatrixRef& logits, int top_k) {
  detail::require_top_k(top_k, "top-k softmax");
  const Eigen::Index n_row = logits.rows();
  const Eigen::Index n_expert = logits.cols();
  if (n_expert == 0) throw InputError(fmt::format("top-k softmax: the logits have no experts ({} x 0)", n_row));
  const auto n_keep = static_cast<Eigen::Index>(top_k == 0 ? n_expert : std::min<Eigen::Index>(top_k, n_expert));
  if (n_expert > std::numeric_limits<std::int32_t>::max() || n_row * n_keep > std::numeric_limits<std::int32_t>::max())
    throw InputError(fmt::format("top-k softmax: {} rows x {} kept experts exceed the 32-bit index range of a "
                                 "RoutingDecision",
                                 n_row, n_keep));
  Eigen::Index bad_row = 0;
  Eigen::Index bad_expert = 0;
  if (detail::find_non_finite(logits, bad_row, bad_expert))
    throw InputError(fmt::format("router score of row {}, expert {} is {} (the module input or the expert's vector "
                                 "holds NaN or infinity)",
                                 bad_row, bad_expert, logits(bad_row, bad_expert)));

  RoutingDecision decision;
  decision.row_offsets.resize(static_cast<std::size_t>(n_row) + 1);
  decision.expert_idx.resize(static_cast<std::size_t>(n_row * n_keep));
  decision.weight.resize(static_cast<std::size_t>(n_row * n_keep));
  std::vector<std::int32_t> order(static_cast<std::size_t>(n_expert));
  std::vector<double> exps(static_cast<std::size_t>(n_keep));
  for (Eigen::Index row_idx = 0; row_idx < n_row; ++row_idx) {
    const auto row = logits.row(row_idx);
    std::iota(order.begin(), order.end(), 0);
    // Larger logit first; equal logits: the lower expert index first (deterministic).
    std::partial_sort(order.begin(), order.begin() + n_keep, order.end(), [&row](std::int32_t a, std::int32_t b) {
      return row(a) > row(b) || (row(a) == row(b) && a < b);
    });
    const double top = row(order[0]);
    double sum = 0.0;
    for (Eigen::Index rank = 0; rank < n_keep; ++rank) {
      exps[static_cast<std::size_t>(rank)] = std::exp(static_cast<double>(row(order[static_cast<std::size_t>(rank)])) - top);
      sum += exps[static_cast<std::size_t>(rank)];
    }
    const auto first = static_cast<std::size_t>(row_idx * n_keep);
    decision.row_offsets[static_cast<std::size_t>(row_idx)] = static_cast<std::int32_t>(first);
    for (Eigen::Index rank = 0; rank < n_keep; ++rank) {
      decision.expert_idx[first + static_cast<std::size_t>(rank)] = order[static_cast<std::size_t>(rank)];
      decision.weight[first + static_cast<std::size_t>(rank)] = static_cast<float>(exps[static_cast<std::size_t>(rank)] / sum);
    }
  }
  decision.row_offsets[static_cast<std::size_t>(n_row)] = static_cast<std::int32_t>(n_row * n_keep);
  return decision;
}

Matrix dense_weights(const RoutingDecision& decision, int n_expert) {
  if (decision.row_offsets.empty())
    throw InputError("routing decision has no row_offsets (an empty decision has row_offsets = {0})");
  if (n_expert < 0) throw InputError(fmt::format("routing decision: n_expert must be >= 0, got {}", n_expert));
  const auto n_row = static_cast<Eigen::Index>(decision.row_offsets.size() - 1);
  Matrix dense = Matrix::Zero(n_row, n_expert);
  for (Eigen::Index row_idx = 0; row_idx < n_row; ++row_idx) {
    const auto begin = decision.row_offsets[static_cast<std::size_t>(row_idx)];
    const auto end = decision.row_offsets[static_cast<std::size_t>(row_idx) + 1];
    if (begin < 0 || begin > end || static_cast<std::size_t>(end) > decision.expert_idx.size() ||
        decision.expert_idx.size() != decision.weight.size())
      throw InputError(fmt::format("routing decision: row {} has entries [{}, {}) outside the {} entries", row_idx,
                                   begin, end, decision.expert_idx.size()));
    for (auto entry = begin; entry < end; ++entry) {
      const auto expert_idx = decision.expert_idx[static_cast<std::size_t>(entry)];
      if (expert_idx < 0 || expert_idx >= n_expert)
        throw InputError(fmt::format("routing decision: row {} names expert {} but there are {}", row_idx, expert_idx,
                                     n_expert));
      dense(row_idx, expert_idx) += decision.weight[static_cast<std::size_t>(entry)];
    }
  }
  return dense;
}

}  // namespace moerge::route
