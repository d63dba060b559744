// Arrow: the prototype of a LoRA module (top right singular vector of s B A via its r x r core)
// and the token-level Arrow scores.
#include <fmt/core.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "checks.hpp"
#include "moerge/core/error.hpp"
#include "moerge/route/math.hpp"

namespace moerge::route {

namespace {

void require_finite_factor(const MatrixRef& factor, std::string_view what, std::string_view name) {
  Eigen::Index row = 0;
  Eigen::Index col = 0;
  if (detail::find_non_finite(factor, row, col))
    throw InputError(fmt::format("{}: {}[{}, {}] is {}; an Arrow prototype needs finite factors", what, name, row, col,
                                 factor(row, col)));
}

/// The upper-triangular R [min(n_row, n_col), n_col] of a Householder QR.
Eigen::MatrixXd thin_r(const Eigen::HouseholderQR<Eigen::MatrixXd>& qr) {
  const Eigen::Index n_keep = std::min(qr.matrixQR().rows(), qr.matrixQR().cols());
  return qr.matrixQR().topRows(n_keep).triangularView<Eigen::Upper>();
}

}  // namespace

ArrowPrototype arrow_prototype(const MatrixRef& lora_a, const MatrixRef& lora_b, float scale, std::string_view what) {
  const Eigen::Index rank = lora_a.rows();
  const Eigen::Index d_in = lora_a.cols();
  const Eigen::Index d_out = lora_b.rows();
  if (rank == 0 || d_in == 0 || d_out == 0)
    throw InputError(fmt::format("{}: empty LoRA factor (A is {} x {}, B is {} x {})", what, rank, d_in, d_out,
                                 lora_b.cols()));
  if (lora_b.cols() != rank)
    throw InputError(fmt::format("{}: rank mismatch: A is {} x {} (r x d_in) but B is {} x {} (d_out x r)", what, rank,
                                 d_in, d_out, lora_b.cols()));
  if (!std::isfinite(scale)) throw InputError(fmt::format("{}: LoRA scale is {}", what, scale));
  require_finite_factor(lora_a, what, "A");
  require_finite_factor(lora_b, what, "B");

  // s B A = Q_B (s R_B R_A^T) Q_A^T with B = Q_B R_B and A^T = Q_A R_A, Q_* with orthonormal
  // columns: the right singular vectors of s B A are Q_A times those of the small core.
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_b(lora_b.cast<double>());
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_a(lora_a.transpose().cast<double>());
  const Eigen::MatrixXd core = static_cast<double>(scale) * thin_r(qr_b) * thin_r(qr_a).transpose();
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(core, Eigen::ComputeFullV);
  const double sigma = svd.singularValues()(0);

  ArrowPrototype prototype;
  prototype.v = Vector::Zero(d_in);
  prototype.sigma2 = sigma * sigma;
  if (!(sigma > 0.0)) return prototype;  // s B A == 0: no direction

  Eigen::VectorXd coefficients = Eigen::VectorXd::Zero(d_in);
  coefficients.head(core.cols()) = svd.matrixV().col(0);
  Eigen::VectorXd v = qr_a.householderQ() * coefficients;
  v /= v.norm();
  Eigen::Index largest = 0;
  for (Eigen::Index idx = 1; idx < d_in; ++idx)
    if (std::abs(v(idx)) > std::abs(v(largest))) largest = idx;
  if (v(largest) < 0.0) v = -v;
  prototype.v = v.cast<float>();
  return prototype;
}

Matrix arrow_logits(const MatrixRef& input, const MatrixRef& prototypes, float temperature) {
  detail::require_expert_rows(input, prototypes, "arrow", "prototypes");
  detail::require_temperature(temperature, "arrow");
  Matrix logits(input.rows(), prototypes.rows());
  logits.noalias() = input * prototypes.transpose();
  logits = logits.cwiseAbs() / temperature;
  return logits;
}

RoutingDecision arrow_route(const MatrixRef& input, const MatrixRef& prototypes, const ArrowOptions& options) {
  detail::require_top_k(options.top_k, "arrow");
  return top_k_softmax(arrow_logits(input, prototypes, options.temperature), options.top_k);
}

}  // namespace moerge::route
