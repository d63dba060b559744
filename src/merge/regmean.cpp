// RegMean: per linear layer, W = (sum_i W_i G'_i)(sum_i G'_i)^-1 solved row block by row block.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

namespace {

using MatrixRowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixRowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows of a Gram matrix converted to double at a time: bounds the temporary to 256 x d_in doubles.
constexpr Eigen::Index gram_chunk_rows = 256;

}  // namespace

RegmeanSolver::RegmeanSolver(std::span<const std::span<const float>> grams, std::size_t d_in, double alpha)
    : grams_(grams.begin(), grams.end()), d_in_(d_in), alpha_(alpha) {
  if (grams.empty()) throw InputError("regmean: no Gram matrices given");
  if (!std::isfinite(alpha) || alpha < 0.0 || alpha > 1.0) {
    throw ConfigError(fmt::format("regmean: alpha must lie in [0, 1], got {}", alpha));
  }
  for (std::size_t model_idx = 0; model_idx < grams.size(); ++model_idx) {
    if (grams[model_idx].size() != d_in * d_in) {
      throw InputError(fmt::format("regmean: Gram matrix of model {} has {} elements, expected {} x {}", model_idx,
                                   grams[model_idx].size(), d_in, d_in));
    }
  }
  const auto n = static_cast<Eigen::Index>(d_in);
  Eigen::MatrixXd total = Eigen::MatrixXd::Zero(n, n);
  for (const auto& gram : grams_) {
    const Eigen::Map<const MatrixRowMajorF> g(gram.data(), n, n);
    total += alpha_ * g.cast<double>();
    total.diagonal() += (1.0 - alpha_) * g.diagonal().cast<double>();
  }
  llt_.compute(total);
  if (llt_.info() != Eigen::Success) {
    throw InputError(
        fmt::format("regmean: the summed Gram matrix ({} x {}) is not positive definite", d_in, d_in));
  }
}

void RegmeanSolver::apply(std::span<const std::span<const float>> weights, std::size_t n_row,
                          std::span<float> out) const {
  if (weights.size() != grams_.size()) {
    throw Error(fmt::format("RegmeanSolver::apply: {} weight blocks for {} Gram matrices", weights.size(),
                            grams_.size()));
  }
  if (out.size() != n_row * d_in_) {
    throw Error(fmt::format("RegmeanSolver::apply: output of {} elements for {} x {}", out.size(), n_row, d_in_));
  }
  const auto n = static_cast<Eigen::Index>(d_in_);
  const auto rows = static_cast<Eigen::Index>(n_row);
  // rhs = sum_i G'_i W_i^T, [d_in, n_row]
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(n, rows);
  for (std::size_t model_idx = 0; model_idx < weights.size(); ++model_idx) {
    if (weights[model_idx].size() != n_row * d_in_) {
      throw Error(fmt::format("RegmeanSolver::apply: weight block {} has {} elements, expected {} x {}", model_idx,
                              weights[model_idx].size(), n_row, d_in_));
    }
    const MatrixRowMajorD w = Eigen::Map<const MatrixRowMajorF>(weights[model_idx].data(), rows, n).cast<double>();
    const Eigen::Map<const MatrixRowMajorF> g(grams_[model_idx].data(), n, n);
    for (Eigen::Index row_begin = 0; row_begin < n; row_begin += gram_chunk_rows) {
      const Eigen::Index n_chunk = std::min(gram_chunk_rows, n - row_begin);
      const MatrixRowMajorD g_rows = g.middleRows(row_begin, n_chunk).cast<double>();
      rhs.middleRows(row_begin, n_chunk).noalias() += alpha_ * (g_rows * w.transpose());
    }
    rhs.noalias() += ((1.0 - alpha_) * g.diagonal().cast<double>()).asDiagonal() * w.transpose();
  }
  const Eigen::MatrixXd solution = llt_.solve(rhs);  // [d_in, n_row] = merged W^T
  Eigen::Map<MatrixRowMajorF>(out.data(), rows, n) = solution.transpose().cast<float>();
}

}  // namespace moerge::merge
