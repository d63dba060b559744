// LoRA factor algebra: row blocks of s B A, exact concatenation, truncated SVD through QR.
#include <fmt/format.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

namespace {

using MatrixRowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void check_inputs(std::span<const LoraInput> inputs, std::size_t d_in, std::size_t d_out) {
  if (inputs.empty()) throw InputError("LoRA merge: no adapters given");
  for (std::size_t input_idx = 0; input_idx < inputs.size(); ++input_idx) {
    const LoraInput& input = inputs[input_idx];
    if (input.rank == 0 || input.a.size() != input.rank * d_in || input.b.size() != d_out * input.rank) {
      throw InputError(fmt::format(
          "LoRA merge: adapter {} has rank {}, A of {} and B of {} elements; expected A {} x {} and B {} x {}",
          input_idx, input.rank, input.a.size(), input.b.size(), input.rank, d_in, d_out, input.rank));
    }
  }
}

}  // namespace

void lora_delta_rows(std::span<const float> b_rows, std::span<const float> a, std::size_t rank, std::size_t d_in,
                     double scale, std::span<float> out, bool accumulate) {
  if (rank == 0 || b_rows.size() % rank != 0 || a.size() != rank * d_in || out.size() != b_rows.size() / rank * d_in) {
    throw Error(fmt::format("lora_delta_rows: B rows of {} elements, A of {}, out of {} for rank {} and d_in {}",
                            b_rows.size(), a.size(), out.size(), rank, d_in));
  }
  const auto n_row = static_cast<Eigen::Index>(b_rows.size() / rank);
  const Eigen::Map<const MatrixRowMajorF> b(b_rows.data(), n_row, static_cast<Eigen::Index>(rank));
  const Eigen::Map<const MatrixRowMajorF> a_map(a.data(), static_cast<Eigen::Index>(rank),
                                                static_cast<Eigen::Index>(d_in));
  Eigen::Map<MatrixRowMajorF> delta(out.data(), n_row, static_cast<Eigen::Index>(d_in));
  const auto scale_f = static_cast<float>(scale);
  if (accumulate) {
    delta.noalias() += scale_f * (b * a_map);
  } else {
    delta.noalias() = scale_f * (b * a_map);
  }
}

LoraFactors lora_cat(std::span<const LoraInput> inputs, std::size_t d_in, std::size_t d_out) {
  check_inputs(inputs, d_in, d_out);
  LoraFactors result;
  result.d_in = d_in;
  result.d_out = d_out;
  for (const auto& input : inputs) result.rank += input.rank;
  result.a.reserve(result.rank * d_in);
  result.b.assign(d_out * result.rank, 0.0f);
  std::size_t column_offset = 0;
  for (const auto& input : inputs) {
    result.a.insert(result.a.end(), input.a.begin(), input.a.end());
    for (std::size_t row_idx = 0; row_idx < d_out; ++row_idx) {
      for (std::size_t rank_idx = 0; rank_idx < input.rank; ++rank_idx) {
        result.b[row_idx * result.rank + column_offset + rank_idx] =
            static_cast<float>(input.scale * static_cast<double>(input.b[row_idx * input.rank + rank_idx]));
      }
    }
    column_offset += input.rank;
  }
  return result;
}

LoraFactors lora_svd(std::span<const LoraInput> inputs, std::size_t d_in, std::size_t d_out, std::size_t rank) {
  check_inputs(inputs, d_in, d_out);
  if (rank == 0) throw ConfigError("lora_svd: the target rank must be at least 1, got 0");
  std::size_t rank_total = 0;
  for (const auto& input : inputs) rank_total += input.rank;
  const auto n_in = static_cast<Eigen::Index>(d_in);
  const auto n_out = static_cast<Eigen::Index>(d_out);
  const auto r_total = static_cast<Eigen::Index>(rank_total);
  // delta = b_cat a_cat with b_cat [d_out, R] (scales folded in) and a_cat [R, d_in], in double.
  Eigen::MatrixXd b_cat(n_out, r_total);
  Eigen::MatrixXd a_cat_t(n_in, r_total);
  Eigen::Index column_offset = 0;
  for (const auto& input : inputs) {
    const auto r = static_cast<Eigen::Index>(input.rank);
    b_cat.middleCols(column_offset, r) =
        input.scale * Eigen::Map<const MatrixRowMajorF>(input.b.data(), n_out, r).cast<double>();
    a_cat_t.middleCols(column_offset, r) =
        Eigen::Map<const MatrixRowMajorF>(input.a.data(), r, n_in).cast<double>().transpose();
    column_offset += r;
  }
  // delta = Q_b R_b R_a^T Q_a^T; the SVD of the small core gives the SVD of delta.
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_b(b_cat);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_a(a_cat_t);
  const Eigen::Index p_b = std::min(n_out, r_total);
  const Eigen::Index p_a = std::min(n_in, r_total);
  const Eigen::MatrixXd q_b = qr_b.householderQ() * Eigen::MatrixXd::Identity(n_out, p_b);
  const Eigen::MatrixXd q_a = qr_a.householderQ() * Eigen::MatrixXd::Identity(n_in, p_a);
  const Eigen::MatrixXd r_b = qr_b.matrixQR().topRows(p_b).triangularView<Eigen::Upper>();
  const Eigen::MatrixXd r_a = qr_a.matrixQR().topRows(p_a).triangularView<Eigen::Upper>();
  const Eigen::MatrixXd core = r_b * r_a.transpose();  // [p_b, p_a]
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(core, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::Index k = std::min<Eigen::Index>(static_cast<Eigen::Index>(rank), std::min(p_b, p_a));
  Eigen::MatrixXd u = q_b * svd.matrixU().leftCols(k);  // [d_out, k]
  Eigen::MatrixXd v = q_a * svd.matrixV().leftCols(k);  // [d_in, k]
  for (Eigen::Index column_idx = 0; column_idx < k; ++column_idx) {
    Eigen::Index largest_idx = 0;
    for (Eigen::Index row_idx = 1; row_idx < n_out; ++row_idx) {
      if (std::abs(u(row_idx, column_idx)) > std::abs(u(largest_idx, column_idx))) largest_idx = row_idx;
    }
    if (u(largest_idx, column_idx) < 0.0) {
      u.col(column_idx) *= -1.0;
      v.col(column_idx) *= -1.0;
    }
  }
  LoraFactors result;
  result.rank = static_cast<std::size_t>(k);
  result.d_in = d_in;
  result.d_out = d_out;
  result.b.resize(d_out * result.rank);
  result.a.resize(result.rank * d_in);
  Eigen::Map<MatrixRowMajorF>(result.b.data(), n_out, k) =
      (u * svd.singularValues().head(k).asDiagonal()).cast<float>();
  Eigen::Map<MatrixRowMajorF>(result.a.data(), k, n_in) = v.transpose().cast<float>();
  return result;
}

}  // namespace moerge::merge
