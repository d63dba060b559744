// Token-level scores of PHATGOOSE and average activation (centroid), and the sequence-level
// routers: retrieval, c-BTM and the c-BTM mixture of expert predictions.
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

namespace {

float default_temperature(Eigen::Index d) { return static_cast<float>(std::sqrt(static_cast<double>(d))); }

/// Rows divided by max(||row||, 1e-12); norms in double.
Matrix normalize_rows(const MatrixRef& x) {
  Matrix out(x.rows(), x.cols());
  for (Eigen::Index row_idx = 0; row_idx < x.rows(); ++row_idx) {
    const double norm = x.row(row_idx).cast<double>().norm();
    out.row(row_idx) = (x.row(row_idx).cast<double>() / std::max(norm, 1e-12)).cast<float>();
  }
  return out;
}

/// The rows of the layout as validated indices.
void require_layout(Eigen::Index n_row, const BatchLayout& layout) {
  if (layout.n_seq < 0) throw InputError(fmt::format("batch layout: n_seq is {}", layout.n_seq));
  if (static_cast<Eigen::Index>(layout.seq_of_row.size()) != n_row)
    throw InputError(fmt::format("batch layout: seq_of_row has {} entries but the batch has {} rows",
                                 layout.seq_of_row.size(), n_row));
  for (std::size_t row_idx = 0; row_idx < layout.seq_of_row.size(); ++row_idx) {
    const auto seq_idx = layout.seq_of_row[row_idx];
    if (seq_idx < 0 || seq_idx >= layout.n_seq)
      throw InputError(fmt::format("batch layout: row {} belongs to sequence {} but n_seq is {}", row_idx, seq_idx,
                                   layout.n_seq));
  }
}

}  // namespace

Matrix layer_norm_rows(const MatrixRef& x, float eps) {
  if (!(eps >= 0.0f) || !std::isfinite(eps)) throw ConfigError(fmt::format("layer norm: eps must be >= 0, got {}", eps));
  Matrix out(x.rows(), x.cols());
  const auto d = static_cast<double>(x.cols());
  for (Eigen::Index row_idx = 0; row_idx < x.rows(); ++row_idx) {
    const Eigen::RowVectorXd row = x.row(row_idx).cast<double>();
    const double mean = row.sum() / d;
    const double variance = (row.array() - mean).square().sum() / d;
    out.row(row_idx) = ((row.array() - mean) / std::sqrt(variance + static_cast<double>(eps))).cast<float>();
  }
  return out;
}

Matrix phatgoose_logits(const MatrixRef& input, const MatrixRef& gates, float layer_norm_eps) {
  detail::require_expert_rows(input, gates, "phatgoose", "gates");
  const Matrix normalized_input = layer_norm_rows(input, layer_norm_eps);
  const Matrix normalized_gates = layer_norm_rows(gates, layer_norm_eps);
  Matrix logits(input.rows(), gates.rows());
  logits.noalias() = normalized_input * normalized_gates.transpose();
  logits /= default_temperature(input.cols());
  return logits;
}

RoutingDecision phatgoose_route(const MatrixRef& input, const MatrixRef& gates, const PhatgooseOptions& options) {
  detail::require_top_k(options.top_k, "phatgoose");
  return top_k_softmax(phatgoose_logits(input, gates, options.layer_norm_eps), options.top_k);
}

Matrix centroid_logits(const MatrixRef& input, const MatrixRef& centroids, std::optional<float> temperature) {
  detail::require_expert_rows(input, centroids, "centroid", "centroids");
  const float divisor = temperature.value_or(default_temperature(input.cols()));
  detail::require_temperature(divisor, "centroid");
  Matrix logits(input.rows(), centroids.rows());
  logits.noalias() = input * centroids.transpose();
  logits /= divisor;
  return logits;
}

RoutingDecision centroid_route(const MatrixRef& input, const MatrixRef& centroids, const CentroidOptions& options) {
  detail::require_top_k(options.top_k, "centroid");
  return top_k_softmax(centroid_logits(input, centroids, options.temperature), options.top_k);
}

Matrix sequence_means(const MatrixRef& input, const BatchLayout& layout) {
  require_layout(input.rows(), layout);
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(layout.n_seq, input.cols());
  std::vector<std::int64_t> n_row_of_seq(static_cast<std::size_t>(layout.n_seq), 0);
  for (Eigen::Index row_idx = 0; row_idx < input.rows(); ++row_idx) {
    const auto seq_idx = layout.seq_of_row[static_cast<std::size_t>(row_idx)];
    sums.row(seq_idx) += input.row(row_idx).cast<double>();
    ++n_row_of_seq[static_cast<std::size_t>(seq_idx)];
  }
  Matrix means(layout.n_seq, input.cols());
  for (int seq_idx = 0; seq_idx < layout.n_seq; ++seq_idx) {
    const auto n_row = n_row_of_seq[static_cast<std::size_t>(seq_idx)];
    if (n_row == 0) throw InputError(fmt::format("batch layout: sequence {} has no rows", seq_idx));
    means.row(seq_idx) = (sums.row(seq_idx) / static_cast<double>(n_row)).cast<float>();
  }
  return means;
}

RoutingDecision expand_to_rows(const RoutingDecision& per_sequence, const BatchLayout& layout) {
  require_layout(static_cast<Eigen::Index>(layout.seq_of_row.size()), layout);
  if (per_sequence.row_offsets.size() != static_cast<std::size_t>(layout.n_seq) + 1)
    throw InputError(fmt::format("sequence decision has {} rows but the batch has {} sequences",
                                 per_sequence.row_offsets.empty() ? 0 : per_sequence.row_offsets.size() - 1,
                                 layout.n_seq));
  for (std::size_t seq_idx = 0; seq_idx < static_cast<std::size_t>(layout.n_seq); ++seq_idx) {
    const auto begin = per_sequence.row_offsets[seq_idx];
    const auto end = per_sequence.row_offsets[seq_idx + 1];
    if (begin < 0 || begin > end || static_cast<std::size_t>(end) > per_sequence.expert_idx.size() ||
        per_sequence.expert_idx.size() != per_sequence.weight.size())
      throw InputError(fmt::format("sequence decision: sequence {} has entries [{}, {}) outside the {} entries", seq_idx,
                                   begin, end, per_sequence.expert_idx.size()));
  }
  RoutingDecision decision;
  decision.row_offsets.reserve(layout.seq_of_row.size() + 1);
  decision.row_offsets.push_back(0);
  for (const auto seq_idx : layout.seq_of_row) {
    const auto begin = per_sequence.row_offsets[static_cast<std::size_t>(seq_idx)];
    const auto end = per_sequence.row_offsets[static_cast<std::size_t>(seq_idx) + 1];
    for (auto entry = begin; entry < end; ++entry) {
      decision.expert_idx.push_back(per_sequence.expert_idx[static_cast<std::size_t>(entry)]);
      decision.weight.push_back(per_sequence.weight[static_cast<std::size_t>(entry)]);
    }
    if (decision.expert_idx.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      throw InputError("expanded routing decision exceeds the 32-bit index range");
    decision.row_offsets.push_back(static_cast<std::int32_t>(decision.expert_idx.size()));
  }
  return decision;
}

Matrix cosine_similarity(const MatrixRef& queries, const MatrixRef& keys) {
  detail::require_expert_rows(queries, keys, "retrieval", "expert embeddings");
  const Matrix unit_queries = normalize_rows(queries);
  const Matrix unit_keys = normalize_rows(keys);
  Matrix similarity(queries.rows(), keys.rows());
  similarity.noalias() = unit_queries * unit_keys.transpose();
  return similarity;
}

RoutingDecision retrieval_route(const MatrixRef& queries, const MatrixRef& expert_embeddings,
                                const RetrievalOptions& options) {
  detail::require_top_k(options.top_k, "retrieval");
  // The top-k by similarity; every kept expert weighs 1/k.
  RoutingDecision decision = top_k_softmax(cosine_similarity(queries, expert_embeddings), options.top_k);
  for (std::size_t row_idx = 0; row_idx + 1 < decision.row_offsets.size(); ++row_idx) {
    const auto begin = decision.row_offsets[row_idx];
    const auto end = decision.row_offsets[row_idx + 1];
    for (auto entry = begin; entry < end; ++entry)
      decision.weight[static_cast<std::size_t>(entry)] = 1.0f / static_cast<float>(end - begin);
  }
  return decision;
}

Matrix squared_distances(const MatrixRef& queries, const MatrixRef& keys) {
  detail::require_expert_rows(queries, keys, "cbtm", "centroids");
  Matrix distances(queries.rows(), keys.rows());
  distances.noalias() = queries * keys.transpose();
  const Eigen::VectorXf query_norms = queries.rowwise().squaredNorm();
  const Eigen::RowVectorXf key_norms = keys.rowwise().squaredNorm().transpose();
  distances = ((-2.0f * distances).colwise() + query_norms).rowwise() + key_norms;
  return distances.cwiseMax(0.0f);
}

RoutingDecision cbtm_route(const MatrixRef& queries, const MatrixRef& centroids, const CbtmOptions& options) {
  detail::require_top_k(options.top_k, "cbtm");
  detail::require_temperature(options.temperature, "cbtm");
  const Matrix logits = -squared_distances(queries, centroids) / options.temperature;
  RoutingDecision decision = top_k_softmax(logits, options.top_k);
  if (options.normalization == CbtmNormalization::all) {
    // Weights relative to all centroids: multiply the top-k softmax by sum_kept / sum_all.
    for (Eigen::Index row_idx = 0; row_idx < logits.rows(); ++row_idx) {
      const auto begin = decision.row_offsets[static_cast<std::size_t>(row_idx)];
      const auto end = decision.row_offsets[static_cast<std::size_t>(row_idx) + 1];
      const double top = logits.row(row_idx).maxCoeff();
      const double sum_all = (logits.row(row_idx).cast<double>().array() - top).exp().sum();
      double sum_kept = 0.0;
      for (auto entry = begin; entry < end; ++entry)
        sum_kept += std::exp(static_cast<double>(logits(row_idx, decision.expert_idx[static_cast<std::size_t>(entry)])) - top);
      for (auto entry = begin; entry < end; ++entry) {
        auto& weight = decision.weight[static_cast<std::size_t>(entry)];
        weight = static_cast<float>(static_cast<double>(weight) * sum_kept / sum_all);
      }
    }
  }
  return decision;
}

Matrix cbtm_mix(std::span<const Matrix> expert_log_probs, std::span<const float> weights) {
  if (expert_log_probs.empty()) throw InputError("cbtm mix: no expert predictions to mix");
  if (expert_log_probs.size() != weights.size())
    throw InputError(fmt::format("cbtm mix: {} expert predictions but {} weights", expert_log_probs.size(), weights.size()));
  const Eigen::Index n_token = expert_log_probs[0].rows();
  const Eigen::Index n_vocab = expert_log_probs[0].cols();
  for (std::size_t expert_idx = 0; expert_idx < expert_log_probs.size(); ++expert_idx) {
    const Matrix& log_probs = expert_log_probs[expert_idx];
    if (log_probs.rows() != n_token || log_probs.cols() != n_vocab)
      throw InputError(fmt::format("cbtm mix: expert {} predicts {} x {} but expert 0 predicts {} x {}", expert_idx,
                                   log_probs.rows(), log_probs.cols(), n_token, n_vocab));
    const float weight = weights[expert_idx];
    if (!(weight >= 0.0f) || !std::isfinite(weight))
      throw InputError(fmt::format("cbtm mix: weight of expert {} is {} (must be finite and >= 0)", expert_idx, weight));
    // -inf (probability 0) is a valid log-probability; NaN and +inf are not.
    if (!(log_probs.array() < std::numeric_limits<float>::infinity()).all()) {
      for (Eigen::Index token_idx = 0; token_idx < n_token; ++token_idx)
        for (Eigen::Index vocab_idx = 0; vocab_idx < n_vocab; ++vocab_idx)
          if (!(log_probs(token_idx, vocab_idx) < std::numeric_limits<float>::infinity()))
            throw InputError(fmt::format("cbtm mix: expert {} log-probability at token {}, id {} is {}", expert_idx,
                                         token_idx, vocab_idx, log_probs(token_idx, vocab_idx)));
    }
  }
  std::vector<std::size_t> used;
  std::vector<double> log_weights;
  for (std::size_t expert_idx = 0; expert_idx < weights.size(); ++expert_idx) {
    if (weights[expert_idx] > 0.0f) {
      used.push_back(expert_idx);
      log_weights.push_back(std::log(static_cast<double>(weights[expert_idx])));
    }
  }
  constexpr double minus_infinity = -std::numeric_limits<double>::infinity();
  Matrix mixed(n_token, n_vocab);
  for (Eigen::Index token_idx = 0; token_idx < n_token; ++token_idx) {
    for (Eigen::Index vocab_idx = 0; vocab_idx < n_vocab; ++vocab_idx) {
      double top = minus_infinity;
      for (std::size_t used_idx = 0; used_idx < used.size(); ++used_idx)
        top = std::max(top, log_weights[used_idx] + expert_log_probs[used[used_idx]](token_idx, vocab_idx));
      if (top == minus_infinity) {
        mixed(token_idx, vocab_idx) = -std::numeric_limits<float>::infinity();
        continue;
      }
      double sum = 0.0;
      for (std::size_t used_idx = 0; used_idx < used.size(); ++used_idx)
        sum += std::exp(log_weights[used_idx] + expert_log_probs[used[used_idx]](token_idx, vocab_idx) - top);
      mixed(token_idx, vocab_idx) = static_cast<float>(top + std::log(sum));
    }
  }
  return mixed;
}

}  // namespace moerge::route
