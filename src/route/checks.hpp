// Shape and value checks shared by the router math (internal to src/route).
#pragma once
#include <fmt/core.h>

#include <cmath>
#include <string_view>

#include "moerge/core/error.hpp"
#include "moerge/route/math.hpp"

namespace moerge::route::detail {

/// The experts' matrix [n_expert, d] must have at least one expert and match the input's width d.
inline void require_expert_rows(const MatrixRef& input, const MatrixRef& experts, std::string_view router,
                                std::string_view experts_name) {
  if (experts.rows() == 0 || experts.cols() == 0)
    throw InputError(fmt::format("{} router: the {} matrix is empty ({} x {}); it needs one row per expert", router,
                                 experts_name, experts.rows(), experts.cols()));
  if (input.cols() != experts.cols())
    throw InputError(fmt::format("{} router: the input has {} columns but the {} have {} (one row of that width per "
                                 "expert)",
                                 router, input.cols(), experts_name, experts.cols()));
}

inline void require_top_k(int top_k, std::string_view router) {
  if (top_k < 0) throw ConfigError(fmt::format("{} router: top_k must be >= 0 (0 = all experts), got {}", router, top_k));
}

inline void require_temperature(float temperature, std::string_view router) {
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    throw ConfigError(fmt::format("{} router: temperature must be positive and finite, got {}", router, temperature));
}

/// The first non-finite entry of m as (row, col), or nothing.
inline bool find_non_finite(const MatrixRef& m, Eigen::Index& row, Eigen::Index& col) {
  if (m.allFinite()) return false;
  for (row = 0; row < m.rows(); ++row)
    for (col = 0; col < m.cols(); ++col)
      if (!std::isfinite(m(row, col))) return true;
  return false;
}

}  // namespace moerge::route::detail
