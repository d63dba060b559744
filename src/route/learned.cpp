// The learned linear router: softmax regression trained by full-batch gradient descent (double).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "checks.hpp"
#include "moerge/core/error.hpp"
#include "moerge/route/math.hpp"

namespace moerge::route {

namespace {

constexpr int n_power_iteration = 100;

/// Row-wise softmax of logits [n, n_expert] in place; returns the mean -log p[label].
double softmax_cross_entropy(Eigen::MatrixXd& logits, std::span<const std::int32_t> labels) {
  double loss = 0.0;
  for (Eigen::Index row_idx = 0; row_idx < logits.rows(); ++row_idx) {
    logits.row(row_idx).array() -= logits.row(row_idx).maxCoeff();
    const double log_sum = std::log(logits.row(row_idx).array().exp().sum());
    loss -= logits(row_idx, labels[static_cast<std::size_t>(row_idx)]) - log_sum;
    logits.row(row_idx).array() = (logits.row(row_idx).array() - log_sum).exp();
  }
  return loss / static_cast<double>(logits.rows());
}

/// lambda_max of X~^T X~ / n, X~ = [X, 1], by power iteration from the all-ones vector.
double largest_gram_eigenvalue(const Eigen::MatrixXd& x) {
  const auto n = static_cast<double>(x.rows());
  Eigen::VectorXd v = Eigen::VectorXd::Ones(x.cols() + 1) / std::sqrt(static_cast<double>(x.cols() + 1));
  double lambda = 0.0;
  for (int iteration = 0; iteration < n_power_iteration; ++iteration) {
    const Eigen::VectorXd u = x * v.head(x.cols()) + Eigen::VectorXd::Constant(x.rows(), v(x.cols()));
    Eigen::VectorXd w(x.cols() + 1);
    w.head(x.cols()) = x.transpose() * u / n;
    w(x.cols()) = u.sum() / n;
    lambda = w.norm();
    if (!(lambda > 0.0)) return 0.0;
    v = w / lambda;
  }
  return lambda;
}

}  // namespace

LinearRouter train_linear_router(const MatrixRef& features, std::span<const std::int32_t> labels, int n_expert,
                                 const LinearRouterOptions& options) {
  const Eigen::Index n_sample = features.rows();
  const Eigen::Index d = features.cols();
  if (n_expert < 1) throw ConfigError(fmt::format("learned router: n_expert must be >= 1, got {}", n_expert));
  if (n_sample == 0 || d == 0)
    throw InputError(fmt::format("learned router: no training data (features are {} x {})", n_sample, d));
  if (static_cast<Eigen::Index>(labels.size()) != n_sample)
    throw InputError(fmt::format("learned router: {} feature rows but {} labels", n_sample, labels.size()));
  for (std::size_t sample_idx = 0; sample_idx < labels.size(); ++sample_idx)
    if (labels[sample_idx] < 0 || labels[sample_idx] >= n_expert)
      throw InputError(fmt::format("learned router: label of sample {} is {}, outside [0, {})", sample_idx,
                                   labels[sample_idx], n_expert));
  Eigen::Index bad_row = 0;
  Eigen::Index bad_col = 0;
  if (detail::find_non_finite(features, bad_row, bad_col))
    throw InputError(fmt::format("learned router: feature [{}, {}] is {}", bad_row, bad_col, features(bad_row, bad_col)));
  if (!(options.l2 >= 0.0) || !std::isfinite(options.l2))
    throw ConfigError(fmt::format("learned router: l2 must be >= 0, got {}", options.l2));
  if (options.n_step < 0) throw ConfigError(fmt::format("learned router: n_step must be >= 0, got {}", options.n_step));
  if (!(options.learning_rate >= 0.0) || !std::isfinite(options.learning_rate))
    throw ConfigError(fmt::format("learned router: learning_rate must be >= 0 (0 = automatic), got {}",
                                  options.learning_rate));

  Eigen::MatrixXd x = features.cast<double>();  // [n_sample, d]
  Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(d);
  Eigen::RowVectorXd inv_std = Eigen::RowVectorXd::Ones(d);
  if (options.standardize) {
    mean = x.colwise().mean();
    x.rowwise() -= mean;
    for (Eigen::Index col = 0; col < d; ++col) {
      const double std_dev = std::sqrt(x.col(col).squaredNorm() / static_cast<double>(n_sample));
      if (std_dev > 0.0) inv_std(col) = 1.0 / std_dev;  // a constant feature stays 0
    }
    x.array().rowwise() *= inv_std.array();
  }

  LinearRouter router;
  router.learning_rate = options.learning_rate > 0.0
                             ? options.learning_rate
                             : 1.0 / (0.5 * largest_gram_eigenvalue(x) + options.l2);
  Eigen::MatrixXd weight = Eigen::MatrixXd::Zero(n_expert, d);
  Eigen::VectorXd bias = Eigen::VectorXd::Zero(n_expert);
  Eigen::MatrixXd one_hot = Eigen::MatrixXd::Zero(n_sample, n_expert);
  for (Eigen::Index sample_idx = 0; sample_idx < n_sample; ++sample_idx)
    one_hot(sample_idx, labels[static_cast<std::size_t>(sample_idx)]) = 1.0;

  router.loss_history.reserve(static_cast<std::size_t>(options.n_step) + 1);
  for (int step = 0; step <= options.n_step; ++step) {
    Eigen::MatrixXd probs = x * weight.transpose();
    probs.rowwise() += bias.transpose();
    const double loss = softmax_cross_entropy(probs, labels) + 0.5 * options.l2 * weight.squaredNorm();
    router.loss_history.push_back(loss);
    if (step == options.n_step) break;
    const Eigen::MatrixXd residual = (probs - one_hot) / static_cast<double>(n_sample);  // d loss / d logits
    const Eigen::MatrixXd grad_weight = residual.transpose() * x + options.l2 * weight;
    const Eigen::VectorXd grad_bias = residual.colwise().sum().transpose();
    weight -= router.learning_rate * grad_weight;
    bias -= router.learning_rate * grad_bias;
  }

  // Fold the standardisation: W' = W diag(inv_std), b' = b - W' mean.
  const Eigen::MatrixXd folded = weight * inv_std.asDiagonal();
  router.weight = folded.cast<float>();
  router.bias = (bias - folded * mean.transpose()).cast<float>();
  return router;
}

Matrix linear_router_logits(const LinearRouter& router, const MatrixRef& features) {
  detail::require_expert_rows(features, router.weight, "learned", "weights");
  if (router.bias.size() != router.weight.rows())
    throw InputError(fmt::format("learned router: {} biases for {} experts", router.bias.size(), router.weight.rows()));
  Matrix logits(features.rows(), router.weight.rows());
  logits.noalias() = features * router.weight.transpose();
  logits.rowwise() += router.bias.transpose();
  return logits;
}

RoutingDecision linear_router_route(const LinearRouter& router, const MatrixRef& features, int top_k) {
  detail::require_top_k(top_k, "learned");
  return top_k_softmax(linear_router_logits(router, features), top_k);
}

}  // namespace moerge::route
