// LoraHub: a bounded CMA-ES over one weight per expert with an exact evaluation budget, and the
// combination of LoRA factors with those weights.
#include "moerge/route/lorahub.hpp"

#include <fmt/core.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

#include "moerge/core/error.hpp"

namespace moerge::route {

namespace {

/// Standard normal draws from mt19937_64 (fully specified by the C++ standard) by Box-Muller, so a
/// seed gives the same numbers with any standard library.
class NormalSource {
 public:
  explicit NormalSource(std::uint64_t seed) : engine_(seed) {}

  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // u1 in (0, 1], u2 in [0, 1): 53-bit uniforms.
    const double u1 = static_cast<double>((engine_() >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// Reflects x into [-bound, bound] (repeatedly for far points): Nevergrad's "bouncing".
double reflect(double x, double bound) {
  const double width = 2.0 * bound;
  double t = std::fmod(x + bound, 2.0 * width);
  if (t < 0.0) t += 2.0 * width;
  if (t > width) t = 2.0 * width - t;
  return t - bound;
}

}  // namespace

LorahubResult lorahub_optimize(int n_expert, const LorahubLoss& loss, const LorahubOptions& options) {
  if (n_expert < 1) throw ConfigError(fmt::format("lorahub: n_expert must be >= 1, got {}", n_expert));
  if (!loss) throw ConfigError("lorahub: no loss function given");
  if (options.budget < 1) throw ConfigError(fmt::format("lorahub: budget must be >= 1, got {}", options.budget));
  if (!(options.bound > 0.0) || !std::isfinite(options.bound))
    throw ConfigError(fmt::format("lorahub: bound must be positive, got {}", options.bound));
  if (!(options.l1 >= 0.0) || !std::isfinite(options.l1))
    throw ConfigError(fmt::format("lorahub: l1 must be >= 0, got {}", options.l1));
  if (!(options.sigma0 > 0.0) || !std::isfinite(options.sigma0))
    throw ConfigError(fmt::format("lorahub: sigma0 must be positive, got {}", options.sigma0));
  if (options.population != 0 && options.population < 2)
    throw ConfigError(fmt::format("lorahub: population must be 0 (automatic) or >= 2, got {}", options.population));

  // Strategy parameters (Hansen, "The CMA Evolution Strategy: A Tutorial", table 1).
  const int n = n_expert;
  const double n_real = n;
  const int lambda = options.population > 0 ? options.population : 4 + static_cast<int>(std::floor(3.0 * std::log(n_real)));
  const int mu = lambda / 2;
  Eigen::VectorXd recombination(mu);
  for (int rank = 0; rank < mu; ++rank) recombination(rank) = std::log(mu + 0.5) - std::log(rank + 1.0);
  recombination /= recombination.sum();
  const double mu_eff = 1.0 / recombination.squaredNorm();
  const double c_c = (4.0 + mu_eff / n_real) / (n_real + 4.0 + 2.0 * mu_eff / n_real);
  const double c_s = (mu_eff + 2.0) / (n_real + mu_eff + 5.0);
  const double c_1 = 2.0 / ((n_real + 1.3) * (n_real + 1.3) + mu_eff);
  const double c_mu = std::min(1.0 - c_1, 2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n_real + 2.0) * (n_real + 2.0) + mu_eff));
  const double damp_s = 1.0 + 2.0 * std::max(0.0, std::sqrt((mu_eff - 1.0) / (n_real + 1.0)) - 1.0) + c_s;
  const double chi_n = std::sqrt(n_real) * (1.0 - 1.0 / (4.0 * n_real) + 1.0 / (21.0 * n_real * n_real));

  Eigen::VectorXd mean = Eigen::VectorXd::Zero(n);
  double sigma = options.sigma0;
  Eigen::MatrixXd covariance = Eigen::MatrixXd::Identity(n, n);
  Eigen::VectorXd path_c = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd path_s = Eigen::VectorXd::Zero(n);
  NormalSource normal(options.seed);

  LorahubResult result;
  result.objective = std::numeric_limits<double>::infinity();
  result.objective_history.reserve(static_cast<std::size_t>(options.budget));
  auto evaluate = [&](const Eigen::VectorXd& weights) {
    const double value = loss(weights);
    ++result.n_eval;
    const double objective = std::isfinite(value) ? value + options.l1 * weights.cwiseAbs().mean()
                                                  : std::numeric_limits<double>::infinity();
    result.objective_history.push_back(objective);
    if (objective < result.objective) {
      result.objective = objective;
      result.loss = value;
      result.weights = weights;
    }
    return objective;
  };

  int n_left = options.budget;
  for (int generation = 1; n_left > 1; ++generation) {
    const int n_sample = std::min(lambda, n_left - 1);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(covariance);
    const Eigen::MatrixXd& basis = eigen.eigenvectors();
    const Eigen::VectorXd axis = eigen.eigenvalues().cwiseMax(1e-300).cwiseSqrt();

    Eigen::MatrixXd steps(n, n_sample);  // y = (x - mean) / sigma of each sample
    std::vector<double> objectives(static_cast<std::size_t>(n_sample));
    for (int sample_idx = 0; sample_idx < n_sample; ++sample_idx) {
      Eigen::VectorXd z(n);
      for (int dim = 0; dim < n; ++dim) z(dim) = normal.next();
      Eigen::VectorXd x = mean + sigma * (basis * axis.cwiseProduct(z));
      for (int dim = 0; dim < n; ++dim) x(dim) = reflect(x(dim), options.bound);
      steps.col(sample_idx) = (x - mean) / sigma;
      objectives[static_cast<std::size_t>(sample_idx)] = evaluate(x);
    }
    n_left -= n_sample;
    if (n_sample < lambda) break;  // a partial last generation only adds candidates

    std::vector<int> order(static_cast<std::size_t>(lambda));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&objectives](int a, int b) {
      return objectives[static_cast<std::size_t>(a)] < objectives[static_cast<std::size_t>(b)];
    });
    Eigen::VectorXd step_w = Eigen::VectorXd::Zero(n);
    for (int rank = 0; rank < mu; ++rank) step_w += recombination(rank) * steps.col(order[static_cast<std::size_t>(rank)]);
    mean += sigma * step_w;
    for (int dim = 0; dim < n; ++dim) mean(dim) = std::clamp(mean(dim), -options.bound, options.bound);

    const Eigen::VectorXd whitened = basis * (basis.transpose() * step_w).cwiseQuotient(axis);  // C^-1/2 y_w
    path_s = (1.0 - c_s) * path_s + std::sqrt(c_s * (2.0 - c_s) * mu_eff) * whitened;
    const double path_s_norm = path_s.norm();
    const bool h_s = path_s_norm / std::sqrt(1.0 - std::pow(1.0 - c_s, 2.0 * generation)) / chi_n < 1.4 + 2.0 / (n_real + 1.0);
    path_c = (1.0 - c_c) * path_c + (h_s ? std::sqrt(c_c * (2.0 - c_c) * mu_eff) : 0.0) * step_w;
    Eigen::MatrixXd rank_mu = Eigen::MatrixXd::Zero(n, n);
    for (int rank = 0; rank < mu; ++rank) {
      const auto column = steps.col(order[static_cast<std::size_t>(rank)]);
      rank_mu += recombination(rank) * column * column.transpose();
    }
    const double keep = 1.0 - c_1 - c_mu + (h_s ? 0.0 : c_1 * c_c * (2.0 - c_c));
    covariance = keep * covariance + c_1 * path_c * path_c.transpose() + c_mu * rank_mu;
    covariance = 0.5 * (covariance + covariance.transpose());
    sigma *= std::exp((c_s / damp_s) * (path_s_norm / chi_n - 1.0));
  }
  evaluate(mean);  // the last evaluation: the distribution's mean

  if (!std::isfinite(result.objective))
    throw InputError(fmt::format("lorahub: the loss was not finite at any of the {} evaluations", result.n_eval));
  return result;
}

LoraFactors lorahub_combine(std::span<const Matrix> lora_a, std::span<const Matrix> lora_b,
                            std::span<const float> scales, std::span<const double> weights, std::string_view what) {
  const std::size_t n_expert = lora_a.size();
  if (n_expert == 0) throw InputError(fmt::format("{}: lorahub combination of no experts", what));
  if (lora_b.size() != n_expert || scales.size() != n_expert || weights.size() != n_expert)
    throw InputError(fmt::format("{}: lorahub combination needs one A, B, scale and weight per expert (got {}, {}, {}, {})",
                                 what, n_expert, lora_b.size(), scales.size(), weights.size()));
  const Eigen::Index rank = lora_a[0].rows();
  const Eigen::Index d_in = lora_a[0].cols();
  const Eigen::Index d_out = lora_b[0].rows();
  for (std::size_t expert_idx = 0; expert_idx < n_expert; ++expert_idx) {
    const Matrix& a = lora_a[expert_idx];
    const Matrix& b = lora_b[expert_idx];
    if (a.rows() != rank || a.cols() != d_in || b.rows() != d_out || b.cols() != rank)
      throw InputError(fmt::format("{}: expert {} has A {} x {} and B {} x {}, expert 0 has A {} x {} and B {} x {}; "
                                   "LoraHub combines factors of equal shapes (same rank) only",
                                   what, expert_idx, a.rows(), a.cols(), b.rows(), b.cols(), rank, d_in, d_out, rank));
    if (!std::isfinite(scales[expert_idx]) || !std::isfinite(weights[expert_idx]))
      throw InputError(fmt::format("{}: expert {} has scale {} and weight {}", what, expert_idx, scales[expert_idx],
                                   weights[expert_idx]));
  }
  Eigen::MatrixXd a_sum = Eigen::MatrixXd::Zero(rank, d_in);
  Eigen::MatrixXd b_sum = Eigen::MatrixXd::Zero(d_out, rank);
  for (std::size_t expert_idx = 0; expert_idx < n_expert; ++expert_idx) {
    a_sum += weights[expert_idx] * lora_a[expert_idx].cast<double>();
    b_sum += (weights[expert_idx] * static_cast<double>(scales[expert_idx])) * lora_b[expert_idx].cast<double>();
  }
  return {a_sum.cast<float>(), b_sum.cast<float>()};
}

Matrix lora_delta(const LoraFactors& factors) {
  if (factors.b.cols() != factors.a.rows())
    throw InputError(fmt::format("LoRA delta: B is {} x {} but A is {} x {}", factors.b.rows(), factors.b.cols(),
                                 factors.a.rows(), factors.a.cols()));
  Matrix delta(factors.b.rows(), factors.a.cols());
  delta.noalias() = factors.b * factors.a;
  return delta;
}

}  // namespace moerge::route
