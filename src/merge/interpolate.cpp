// Interpolation kernels: slerp (mergekit), model_stock (whole tensor or per row), Fisher merging.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

namespace {

void check_size(const char* what, std::size_t expected, std::size_t actual) {
  if (expected != actual) {
    throw Error(fmt::format("{}: block of {} elements where {} were expected", what, actual, expected));
  }
}

void check_blocks(const char* what, std::size_t n_model, std::span<const std::span<const float>> blocks,
                  std::size_t n_element) {
  if (blocks.size() != n_model) {
    throw Error(fmt::format("{}: {} input blocks where {} were expected", what, blocks.size(), n_model));
  }
  for (const auto& block : blocks) check_size(what, n_element, block.size());
}

/// Pairwise cosine mean and model_stock's t from dot products: dot(i, j) for i <= j.
template <typename Dot>
double stock_t(std::size_t n_model, Dot dot) {
  double cos_sum = 0.0;
  std::size_t n_pair = 0;
  for (std::size_t model_a = 0; model_a < n_model; ++model_a) {
    for (std::size_t model_b = model_a + 1; model_b < n_model; ++model_b) {
      const double norm_product = std::sqrt(dot(model_a, model_a)) * std::sqrt(dot(model_b, model_b));
      const double cosine = dot(model_a, model_b) / std::max(norm_product, 1e-6);
      cos_sum += std::clamp(cosine, -1.0, 1.0);
      ++n_pair;
    }
  }
  const double cos_mean = cos_sum / static_cast<double>(n_pair);
  const auto n = static_cast<double>(n_model);
  return n * cos_mean / (1.0 + (n - 1.0) * cos_mean);
}

}  // namespace

void SlerpStats::add_block(std::span<const float> a, std::span<const float> b) {
  check_size("SlerpStats::add_block", a.size(), b.size());
  dot.add_dot(a, b);
  norm2_a.add_squares(a);
  norm2_b.add_squares(b);
}

void SlerpStats::merge(const SlerpStats& other) {
  dot.merge(other.dot);
  norm2_a.merge(other.norm2_a);
  norm2_b.merge(other.norm2_b);
}

SlerpCoefficients slerp_coefficients(double t, const SlerpStats& stats) {
  constexpr double dot_threshold = 0.9995;
  constexpr double eps = 1e-8;
  const double norm_a = std::sqrt(stats.norm2_a.value());
  const double norm_b = std::sqrt(stats.norm2_b.value());
  const double cosine = stats.dot.value() / ((norm_a > eps ? norm_a : 1.0) * (norm_b > eps ? norm_b : 1.0));
  if (std::abs(cosine) > dot_threshold) return {1.0 - t, t, true};
  const double theta = std::acos(cosine);
  const double sin_theta = std::sin(theta);
  return {std::sin(theta - theta * t) / sin_theta, std::sin(theta * t) / sin_theta, false};
}

void interpolate_block(const SlerpCoefficients& coefficients, std::span<const float> a, std::span<const float> b,
                       std::span<float> out) {
  check_size("interpolate_block", a.size(), b.size());
  check_size("interpolate_block", a.size(), out.size());
  for (std::size_t element_idx = 0; element_idx < a.size(); ++element_idx) {
    out[element_idx] = static_cast<float>(coefficients.coef_a * static_cast<double>(a[element_idx]) +
                                          coefficients.coef_b * static_cast<double>(b[element_idx]));
  }
}

ModelStockStats::ModelStockStats(std::size_t n_model) : n_model_(n_model), sums_(n_model * (n_model + 1) / 2) {}

const ExactSum& ModelStockStats::dot(std::size_t model_a, std::size_t model_b) const {
  if (model_a > model_b) std::swap(model_a, model_b);
  // Row model_a of the upper triangle starts after sum_{r < model_a} (n - r) entries.
  const std::size_t row_start = model_a * n_model_ - model_a * (model_a - 1) / 2;
  return sums_.at(row_start + (model_b - model_a));
}

void ModelStockStats::add_block(std::span<const float> base, std::span<const std::span<const float>> thetas) {
  check_blocks("ModelStockStats::add_block", n_model_, thetas, base.size());
  std::vector<std::vector<float>> taus(n_model_, std::vector<float>(base.size()));
  for (std::size_t model_idx = 0; model_idx < n_model_; ++model_idx) task_vector(thetas[model_idx], base, taus[model_idx]);
  std::size_t sum_idx = 0;
  for (std::size_t model_a = 0; model_a < n_model_; ++model_a) {
    for (std::size_t model_b = model_a; model_b < n_model_; ++model_b) {
      sums_[sum_idx++].add_dot(taus[model_a], taus[model_b]);
    }
  }
}

void ModelStockStats::merge(const ModelStockStats& other) {
  if (other.n_model_ != n_model_) {
    throw Error(fmt::format("ModelStockStats::merge: {} models vs {}", other.n_model_, n_model_));
  }
  for (std::size_t sum_idx = 0; sum_idx < sums_.size(); ++sum_idx) sums_[sum_idx].merge(other.sums_[sum_idx]);
}

double model_stock_t(const ModelStockStats& stats) {
  if (stats.n_model() < 2) {
    throw InputError(fmt::format("model_stock needs at least 2 models besides the base, got {}", stats.n_model()));
  }
  return stock_t(stats.n_model(), [&](std::size_t a, std::size_t b) { return stats.dot(a, b).value(); });
}

void model_stock_block(double t, std::span<const float> base, std::span<const std::span<const float>> thetas,
                       std::span<float> out) {
  check_size("model_stock_block", base.size(), out.size());
  check_blocks("model_stock_block", thetas.size(), thetas, base.size());
  const auto n_model = static_cast<double>(thetas.size());
  for (std::size_t element_idx = 0; element_idx < base.size(); ++element_idx) {
    double total = 0.0;
    for (const auto& theta : thetas) total += static_cast<double>(theta[element_idx]);
    out[element_idx] = static_cast<float>(t * (total / n_model) + (1.0 - t) * static_cast<double>(base[element_idx]));
  }
}

void model_stock_rows_block(std::span<const float> base, std::span<const std::span<const float>> thetas,
                            std::uint64_t row_length, std::span<float> out) {
  check_size("model_stock_rows_block", base.size(), out.size());
  check_blocks("model_stock_rows_block", thetas.size(), thetas, base.size());
  if (thetas.size() < 2) {
    throw InputError(fmt::format("model_stock needs at least 2 models besides the base, got {}", thetas.size()));
  }
  if (row_length == 0 || base.size() % row_length != 0) {
    throw Error(fmt::format("model_stock_rows_block: {} elements are not whole rows of {}", base.size(), row_length));
  }
  const std::size_t n_model = thetas.size();
  std::vector<double> dots(n_model * n_model);
  std::vector<std::span<const float>> rows(n_model);
  for (std::size_t row_begin = 0; row_begin < base.size(); row_begin += row_length) {
    std::fill(dots.begin(), dots.end(), 0.0);
    for (std::size_t column_idx = 0; column_idx < row_length; ++column_idx) {
      const std::size_t element_idx = row_begin + column_idx;
      for (std::size_t model_a = 0; model_a < n_model; ++model_a) {
        const double tau_a = static_cast<double>(thetas[model_a][element_idx] - base[element_idx]);
        for (std::size_t model_b = model_a; model_b < n_model; ++model_b) {
          dots[model_a * n_model + model_b] += tau_a * static_cast<double>(thetas[model_b][element_idx] - base[element_idx]);
        }
      }
    }
    const double t = stock_t(n_model, [&](std::size_t a, std::size_t b) { return dots[a * n_model + b]; });
    for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
      rows[model_idx] = thetas[model_idx].subspan(row_begin, row_length);
    }
    model_stock_block(t, base.subspan(row_begin, row_length), rows, out.subspan(row_begin, row_length));
  }
}

void fisher_block(std::span<const double> coefficients, std::span<const std::span<const float>> thetas,
                  std::span<const std::span<const float>> fishers, double floor, std::span<float> out) {
  check_blocks("fisher_block", coefficients.size(), thetas, out.size());
  check_blocks("fisher_block", coefficients.size(), fishers, out.size());
  for (std::size_t element_idx = 0; element_idx < out.size(); ++element_idx) {
    double numerator = 0.0;
    double denominator = 0.0;
    for (std::size_t model_idx = 0; model_idx < coefficients.size(); ++model_idx) {
      const double weight =
          coefficients[model_idx] * std::max(static_cast<double>(fishers[model_idx][element_idx]), floor);
      numerator += weight * static_cast<double>(thetas[model_idx][element_idx]);
      denominator += weight;
    }
    out[element_idx] = static_cast<float>(numerator / denominator);
  }
}

}  // namespace moerge::merge
