// Router math: closed forms, deterministic ties, and agreement with the independent numpy
// reference tools/reference/route_ref.py on fixed inputs generated here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/route/lorahub.hpp"
#include "moerge/route/math.hpp"
#include "moerge/route/routers.hpp"
#include "moerge/tensor/dtype.hpp"
#include "test_util.hpp"

using namespace moerge;
using namespace moerge::route;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------
// .npy files (version 1.0, C order) for exchanging arrays with the reference
// ---------------------------------------------------------------------------------------------
void write_npy_bytes(const fs::path& path, const std::string& descr, const void* data, std::size_t n_byte,
                     const std::vector<std::size_t>& shape) {
  std::string shape_text = "(";
  for (const std::size_t dim : shape) shape_text += std::to_string(dim) + ",";
  if (shape.size() > 1) shape_text.pop_back();
  shape_text += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto header_len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(header_len & 0xff), static_cast<char>(header_len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n_byte));
  ASSERT_TRUE(out.good()) << path;
}

void write_matrix(const fs::path& path, const Matrix& m) {
  write_npy_bytes(path, "<f4", m.data(), static_cast<std::size_t>(m.size()) * sizeof(float),
                  {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())});
}

void write_labels(const fs::path& path, const std::vector<std::int32_t>& labels) {
  write_npy_bytes(path, "<i4", labels.data(), labels.size() * sizeof(std::int32_t), {labels.size()});
}

/// The values of a .npy file whose descr is `descr` ("<f4" or "<f8").
template <typename T>
std::vector<T> read_npy(const fs::path& path, const std::string& descr) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "reference output missing: " << path;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10) return {};
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + static_cast<std::ptrdiff_t>(header_len));
  EXPECT_NE(header.find("'descr': '" + descr + "'"), std::string::npos) << path << ": " << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << path;
  std::vector<T> values((bytes.size() - 10 - header_len) / sizeof(T));
  std::memcpy(values.data(), bytes.data() + 10 + header_len, values.size() * sizeof(T));
  return values;
}

Matrix read_matrix(const fs::path& path, Eigen::Index n_row, Eigen::Index n_col) {
  const auto values = read_npy<float>(path, "<f4");
  EXPECT_EQ(values.size(), static_cast<std::size_t>(n_row * n_col)) << path;
  if (values.size() != static_cast<std::size_t>(n_row * n_col)) return Matrix::Zero(n_row, n_col);
  return Eigen::Map<const Matrix>(values.data(), n_row, n_col);
}

/// One reference case: a directory with case.json and its inputs.
struct Case {
  fs::path dir;
  json spec;
};

Case make_case(const test::ScratchDir& scratch, const std::string& name, json spec) {
  Case item{scratch / name, std::move(spec)};
  fs::create_directories(item.dir);
  return item;
}

/// Writes every case.json and runs the reference once over all cases.
void run_reference(const std::vector<Case>& cases) {
  std::string command =
      "/usr/bin/python3 " + (test::source_dir() / "tools/reference/route_ref.py").string() + " run";
  for (const auto& item : cases) {
    std::ofstream(item.dir / "case.json") << item.spec.dump();
    command += " " + item.dir.string();
  }
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// ---------------------------------------------------------------------------------------------
// Test data and comparisons
// ---------------------------------------------------------------------------------------------
Matrix random_matrix(std::mt19937& rng, Eigen::Index n_row, Eigen::Index n_col, float scale = 1.0f, float offset = 0.0f) {
  std::normal_distribution<float> normal(offset, scale);
  Matrix m(n_row, n_col);
  for (Eigen::Index idx = 0; idx < m.size(); ++idx) m.data()[idx] = normal(rng);
  return m;
}

Matrix unit_rows(Matrix m) {
  for (Eigen::Index row_idx = 0; row_idx < m.rows(); ++row_idx) m.row(row_idx).normalize();
  return m;
}

/// max |a - b| over all entries (a and b of equal shape).
double max_abs_diff(const Matrix& a, const Matrix& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  return (a.cast<double>() - b.cast<double>()).cwiseAbs().maxCoeff();
}

/// A decision is well formed: k entries per row, distinct experts, weights positive, summing to 1
/// (within 1e-6: each weight is a double rounded to float), in non-increasing order.
void expect_well_formed(const RoutingDecision& decision, Eigen::Index n_row, int n_keep, const std::string& what) {
  ASSERT_EQ(decision.row_offsets.size(), static_cast<std::size_t>(n_row) + 1) << what;
  ASSERT_EQ(decision.expert_idx.size(), decision.weight.size()) << what;
  for (Eigen::Index row_idx = 0; row_idx < n_row; ++row_idx) {
    const auto begin = decision.row_offsets[static_cast<std::size_t>(row_idx)];
    const auto end = decision.row_offsets[static_cast<std::size_t>(row_idx) + 1];
    ASSERT_EQ(end - begin, n_keep) << what << " row " << row_idx;
    double sum = 0.0;
    for (auto entry = begin; entry < end; ++entry) {
      const auto e = static_cast<std::size_t>(entry);
      EXPECT_GT(decision.weight[e], 0.0f) << what;
      if (entry > begin) {
        EXPECT_GE(decision.weight[e - 1], decision.weight[e]) << what << " row " << row_idx;
      }
      for (auto other = begin; other < entry; ++other)
        EXPECT_NE(decision.expert_idx[static_cast<std::size_t>(other)], decision.expert_idx[e]) << what;
      sum += decision.weight[e];
    }
    EXPECT_NEAR(sum, 1.0, 1e-6) << what << " row " << row_idx;
  }
}

std::vector<std::int32_t> experts_of_row(const RoutingDecision& decision, std::size_t row_idx) {
  return {decision.expert_idx.begin() + decision.row_offsets[row_idx],
          decision.expert_idx.begin() + decision.row_offsets[row_idx + 1]};
}

// =============================================================================================
// Arrow prototypes
// =============================================================================================

struct ArrowInput {
  std::string name;
  Matrix a;  // [r, d_in]
  Matrix b;  // [d_out, r]
  float scale = 1.0f;
};

std::vector<ArrowInput> arrow_inputs() {
  std::mt19937 rng(11);
  std::vector<ArrowInput> inputs;
  inputs.push_back({"plain", random_matrix(rng, 4, 48, 0.1f), random_matrix(rng, 40, 4, 0.05f), 2.0f});
  inputs.push_back({"rank_one", random_matrix(rng, 1, 16), random_matrix(rng, 12, 1), 0.25f});
  inputs.push_back({"rank_above_d_out", random_matrix(rng, 8, 24), random_matrix(rng, 3, 8), 0.5f});
  inputs.push_back({"rank_above_d_in", random_matrix(rng, 6, 4), random_matrix(rng, 20, 6), 1.0f});
  {
    ArrowInput input{"b_zero_rows", random_matrix(rng, 4, 32), random_matrix(rng, 32, 4), 2.0f};
    input.b.topRows(16).setZero();
    inputs.push_back(input);
  }
  {
    // rank(B) = 4 < r = 6: B A has rank 4.
    ArrowInput input{"b_duplicated_columns", random_matrix(rng, 6, 30), random_matrix(rng, 25, 6), 1.0f};
    input.b.col(3) = input.b.col(0);
    input.b.col(4) = input.b.col(1);
    inputs.push_back(input);
  }
  {
    ArrowInput input{"a_duplicated_rows", random_matrix(rng, 5, 20), random_matrix(rng, 18, 5), 1.0f};
    input.a.row(2) = input.a.row(0);
    input.a.row(4) = -input.a.row(1);
    inputs.push_back(input);
  }
  {
    // Every entry exactly representable in bf16, as a bf16 adapter converted to f32.
    ArrowInput input{"bf16_rounded", random_matrix(rng, 8, 64, 0.02f), random_matrix(rng, 64, 8, 0.02f), 2.0f};
    for (Matrix* factor : {&input.a, &input.b})
      for (Eigen::Index idx = 0; idx < factor->size(); ++idx)
        factor->data()[idx] = bf16_to_f32(f32_to_bf16(factor->data()[idx]));
    inputs.push_back(input);
  }
  return inputs;
}

TEST(route_arrow, prototype_matches_full_svd_of_product) {
  const test::ScratchDir scratch("route-arrow");
  const auto inputs = arrow_inputs();
  std::vector<Case> cases;
  for (const auto& input : inputs) {
    Case item = make_case(scratch, input.name,
                          {{"kind", "arrow_prototype"}, {"a", "a.npy"}, {"b", "b.npy"}, {"scale", input.scale},
                           {"out_v", "v.npy"}, {"out_sigma2", "sigma2.npy"}});
    write_matrix(item.dir / "a.npy", input.a);
    write_matrix(item.dir / "b.npy", input.b);
    cases.push_back(item);
  }
  run_reference(cases);
  for (std::size_t case_idx = 0; case_idx < inputs.size(); ++case_idx) {
    const auto& input = inputs[case_idx];
    const ArrowPrototype ours = arrow_prototype(input.a, input.b, input.scale, input.name);
    const auto v_ref = read_npy<float>(cases[case_idx].dir / "v.npy", "<f4");
    const auto sigma2_ref = read_npy<double>(cases[case_idx].dir / "sigma2.npy", "<f8");
    ASSERT_EQ(v_ref.size(), static_cast<std::size_t>(input.a.cols())) << input.name;
    ASSERT_EQ(sigma2_ref.size(), 1u) << input.name;
    // sigma^2 in double on both sides (observed: 2e-15 relative): 1e-12 relative.
    EXPECT_NEAR(ours.sigma2, sigma2_ref[0], 1e-12 * sigma2_ref[0]) << input.name;
    // v up to sign. Both are double results rounded to f32 (2^-24 relative per entry); the top
    // singular value is well separated in these inputs, so 1e-6 absolute on a unit vector.
    const Eigen::Map<const Vector> reference(v_ref.data(), static_cast<Eigen::Index>(v_ref.size()));
    const float sign = ours.v.dot(reference) < 0.0f ? -1.0f : 1.0f;
    EXPECT_LE((ours.v - sign * reference).cwiseAbs().maxCoeff(), 1e-6f) << input.name;
    EXPECT_NEAR(ours.v.norm(), 1.0f, 1e-6f) << input.name;
    // Our sign convention: the largest-magnitude entry is positive.
    Eigen::Index largest = 0;
    ours.v.cwiseAbs().maxCoeff(&largest);
    EXPECT_GT(ours.v(largest), 0.0f) << input.name;
  }
}

TEST(route_arrow, large_module_is_handled_through_the_core) {
  // d_out = d_in = 30000, r = 4: the full product would take 3.6 GB in f32. A and B place the
  // rank-one terms a_i b_i on distinct coordinates, so the SVD is known in closed form:
  // s B A = sum_i s a_i b_i e_{out_i} e_{in_i}^T, top singular value max |s a_i b_i|, v = e_{in_i*}.
  const Eigen::Index d = 30000;
  const float scale = 0.5f;
  const std::vector<Eigen::Index> in_coords = {17, 29001, 4242, 12345};
  const std::vector<Eigen::Index> out_coords = {5, 6, 29999, 100};
  const std::vector<float> a_values = {1.5f, -3.0f, 2.0f, 0.5f};
  const std::vector<float> b_values = {2.0f, 1.25f, -1.0f, 4.0f};  // products 3, -3.75, -2, 2
  Matrix a = Matrix::Zero(4, d);
  Matrix b = Matrix::Zero(d, 4);
  for (Eigen::Index term = 0; term < 4; ++term) {
    a(term, in_coords[static_cast<std::size_t>(term)]) = a_values[static_cast<std::size_t>(term)];
    b(out_coords[static_cast<std::size_t>(term)], term) = b_values[static_cast<std::size_t>(term)];
  }
  const ArrowPrototype prototype = arrow_prototype(a, b, scale);
  EXPECT_NEAR(prototype.sigma2, (0.5 * 3.75) * (0.5 * 3.75), 1e-12);
  Vector expected = Vector::Zero(d);
  expected(29001) = 1.0f;
  EXPECT_LE((prototype.v - expected).cwiseAbs().maxCoeff(), 1e-7f);
}

TEST(route_arrow, zero_product_has_no_direction) {
  std::mt19937 rng(3);
  const Matrix a = random_matrix(rng, 4, 10);
  const ArrowPrototype zero_b = arrow_prototype(a, Matrix::Zero(7, 4), 2.0f);
  EXPECT_EQ(zero_b.sigma2, 0.0);
  EXPECT_EQ(zero_b.v.size(), 10);
  EXPECT_EQ(zero_b.v.cwiseAbs().maxCoeff(), 0.0f);
  const ArrowPrototype zero_scale = arrow_prototype(a, random_matrix(rng, 7, 4), 0.0f);
  EXPECT_EQ(zero_scale.sigma2, 0.0);
  EXPECT_EQ(zero_scale.v.cwiseAbs().maxCoeff(), 0.0f);
}

TEST(route_arrow, rejects_bad_factors) {
  std::mt19937 rng(5);
  const Matrix a = random_matrix(rng, 4, 10);
  EXPECT_THROW_MSG(arrow_prototype(a, random_matrix(rng, 7, 3), 1.0f, "expert x layer 0 q_proj"), InputError,
                   "expert x layer 0 q_proj: rank mismatch: A is 4 x 10 (r x d_in) but B is 7 x 3");
  Matrix b = random_matrix(rng, 7, 4);
  b(1, 2) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_MSG(arrow_prototype(a, b, 1.0f, "m"), InputError, "m: B[1, 2] is nan");
  EXPECT_THROW_MSG(arrow_prototype(Matrix(0, 10), Matrix(7, 0), 1.0f, "m"), InputError, "empty LoRA factor");
  EXPECT_THROW_MSG(arrow_prototype(a, random_matrix(rng, 7, 4), std::numeric_limits<float>::infinity(), "m"), InputError,
                   "m: LoRA scale is inf");
}

// =============================================================================================
// Token-level routers
// =============================================================================================

TEST(route_token, weights_match_reference) {
  std::mt19937 rng(21);
  const Eigen::Index n_row = 96;
  const Eigen::Index d = 48;
  const Eigen::Index n_expert = 7;
  const Matrix input = random_matrix(rng, n_row, d, 1.0f, 0.1f);
  const Matrix prototypes = unit_rows(random_matrix(rng, n_expert, d));
  // Gates and centroids with offsets and scales, so that the layer norm matters.
  Matrix gates = random_matrix(rng, n_expert, d, 0.3f);
  for (Eigen::Index expert_idx = 0; expert_idx < n_expert; ++expert_idx)
    gates.row(expert_idx).array() = gates.row(expert_idx).array() * static_cast<float>(expert_idx + 1) + 0.2f * static_cast<float>(expert_idx);
  const Matrix centroids = random_matrix(rng, n_expert, d, 0.4f, 0.05f);

  struct Run {
    std::string name;
    json spec;
    RoutingDecision ours;
    int n_keep;
  };
  std::vector<Run> runs;
  for (const int top_k : {2, 4}) {
    for (const float temperature : {1.0f, 0.25f}) {
      runs.push_back({"arrow_k" + std::to_string(top_k) + "_t" + std::to_string(temperature),
                      {{"kind", "arrow"}, {"top_k", top_k}, {"temperature", temperature}},
                      arrow_route(input, prototypes, {top_k, temperature}), top_k});
    }
  }
  runs.push_back({"phatgoose_k2", {{"kind", "phatgoose"}, {"top_k", 2}, {"eps", 1e-5}}, phatgoose_route(input, gates), 2});
  runs.push_back({"phatgoose_k3",
                  {{"kind", "phatgoose"}, {"top_k", 3}, {"eps", 1e-5}},
                  phatgoose_route(input, gates, {3, 1e-5f}),
                  3});
  runs.push_back({"centroid_dense", {{"kind", "centroid"}, {"top_k", 0}}, centroid_route(input, centroids), 7});
  runs.push_back({"centroid_k3", {{"kind", "centroid"}, {"top_k", 3}}, centroid_route(input, centroids, {3, {}}), 3});
  runs.push_back({"centroid_t2",
                  {{"kind", "centroid"}, {"top_k", 0}, {"temperature", 2.0}},
                  centroid_route(input, centroids, {0, 2.0f}),
                  7});

  const test::ScratchDir scratch("route-token");
  std::vector<Case> cases;
  for (auto& run : runs) {
    run.spec["input"] = "input.npy";
    run.spec["experts"] = "experts.npy";
    run.spec["out"] = "weights.npy";
    Case item = make_case(scratch, run.name, run.spec);
    write_matrix(item.dir / "input.npy", input);
    const std::string kind = run.spec["kind"];
    write_matrix(item.dir / "experts.npy", kind == "arrow" ? prototypes : kind == "phatgoose" ? gates : centroids);
    cases.push_back(item);
  }
  run_reference(cases);
  for (std::size_t run_idx = 0; run_idx < runs.size(); ++run_idx) {
    const auto& run = runs[run_idx];
    expect_well_formed(run.ours, n_row, run.n_keep, run.name);
    const Matrix reference = read_matrix(cases[run_idx].dir / "weights.npy", n_row, n_expert);
    // Logits from an f32 GEMM over d = 48 differ from float64 by ~1e-7 relative; the softmax
    // weights move by at most about as much as the logits (observed: up to 3e-7), so 3e-6
    // absolute. A different choice of experts would move some weight by far more.
    EXPECT_LE(max_abs_diff(dense_weights(run.ours, static_cast<int>(n_expert)), reference), 3e-6) << run.name;
  }
}

TEST(route_token, layer_norm_has_zero_mean_unit_variance) {
  std::mt19937 rng(8);
  const Matrix x = random_matrix(rng, 5, 33, 3.0f, 7.0f);
  const Matrix normalized = layer_norm_rows(x, 0.0f);
  for (Eigen::Index row_idx = 0; row_idx < x.rows(); ++row_idx) {
    const Eigen::RowVectorXd row = normalized.row(row_idx).cast<double>();
    EXPECT_NEAR(row.mean(), 0.0, 1e-6);                        // f32 rounding of O(1) entries
    EXPECT_NEAR(row.squaredNorm() / 33.0, 1.0, 1e-6);
  }
}

TEST(route_decision, ties_go_to_the_lower_expert_index) {
  // Integer inputs: every product and sum is exact in f32 and float64, so ties are exact on both
  // sides. |logits| of the row [0, 1, 0, 0] are [0, 2, 0, 2, 0, 2]: experts 1, 3, 5 tie at the top
  // and 0, 2, 4 at the bottom.
  Matrix prototypes(6, 4);
  prototypes << 1, 0, 0, 0,  //
      0, 2, 0, 0,            //
      0, 0, 1, 0,            //
      0, 2, 0, 0,            //
      0, 0, 0, 1,            //
      0, -2, 0, 0;
  Matrix input(2, 4);
  input << 0, 1, 0, 0,  //
      1, 1, 1, 1;      // |logits| [1, 2, 1, 2, 1, 2]
  const RoutingDecision top2 = arrow_route(input, prototypes, {2, 1.0f});
  EXPECT_EQ(experts_of_row(top2, 0), (std::vector<std::int32_t>{1, 3}));
  EXPECT_EQ(experts_of_row(top2, 1), (std::vector<std::int32_t>{1, 3}));
  EXPECT_EQ(top2.weight[0], 0.5f);
  EXPECT_EQ(top2.weight[1], 0.5f);
  const RoutingDecision top4 = arrow_route(input, prototypes, {4, 1.0f});
  EXPECT_EQ(experts_of_row(top4, 0), (std::vector<std::int32_t>{1, 3, 5, 0}));
  EXPECT_EQ(experts_of_row(top4, 1), (std::vector<std::int32_t>{1, 3, 5, 0}));

  // The reference breaks ties the same way (its stable argsort).
  const test::ScratchDir scratch("route-ties");
  Case item = make_case(scratch, "ties", {{"kind", "arrow"}, {"top_k", 4}, {"temperature", 1.0}, {"input", "input.npy"},
                                          {"experts", "experts.npy"}, {"out", "weights.npy"}});
  write_matrix(item.dir / "input.npy", input);
  write_matrix(item.dir / "experts.npy", prototypes);
  run_reference({item});
  EXPECT_LE(max_abs_diff(dense_weights(top4, 6), read_matrix(item.dir / "weights.npy", 2, 6)), 1e-7);

  // All-equal logits: the first k experts, equal weights.
  const RoutingDecision flat = top_k_softmax(Matrix::Constant(1, 5, 0.3f), 3);
  EXPECT_EQ(experts_of_row(flat, 0), (std::vector<std::int32_t>{0, 1, 2}));
  for (const float weight : flat.weight) EXPECT_FLOAT_EQ(weight, 1.0f / 3.0f);
}

TEST(route_decision, top_k_softmax_closed_form) {
  Matrix logits(1, 4);
  logits << 1.0f, 3.0f, -2.0f, 2.0f;
  const RoutingDecision top2 = top_k_softmax(logits, 2);
  EXPECT_EQ(experts_of_row(top2, 0), (std::vector<std::int32_t>{1, 3}));
  // softmax([3, 2]) = [1 / (1 + e^-1), e^-1 / (1 + e^-1)]
  EXPECT_NEAR(top2.weight[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-7);
  EXPECT_NEAR(top2.weight[1], std::exp(-1.0) / (1.0 + std::exp(-1.0)), 1e-7);
  // k beyond the number of experts (and k = 0) keeps them all: a dense softmax.
  const RoutingDecision all = top_k_softmax(logits, 10);
  EXPECT_EQ(experts_of_row(all, 0), (std::vector<std::int32_t>{1, 3, 0, 2}));
  const double norm = std::exp(1.0) + std::exp(3.0) + std::exp(-2.0) + std::exp(2.0);
  EXPECT_NEAR(all.weight[3], std::exp(-2.0) / norm, 1e-8);
  EXPECT_EQ(top_k_softmax(logits, 0).expert_idx, all.expert_idx);
  // Large logits do not overflow (max-subtracted).
  Matrix large(1, 2);
  large << 1e30f, 1e30f;
  EXPECT_FLOAT_EQ(top_k_softmax(large, 0).weight[0], 0.5f);
  // An empty batch gives an empty decision.
  const RoutingDecision empty = top_k_softmax(Matrix(0, 3), 2);
  EXPECT_EQ(empty.row_offsets, (std::vector<std::int32_t>{0}));
}

TEST(route_decision, rejects_bad_input_and_options) {
  std::mt19937 rng(4);
  const Matrix input = random_matrix(rng, 3, 8);
  const Matrix experts = random_matrix(rng, 5, 8);
  EXPECT_THROW_MSG(arrow_route(input, experts, {-1, 1.0f}), ConfigError, "arrow router: top_k must be >= 0 (0 = all experts), got -1");
  EXPECT_THROW_MSG(arrow_route(input, experts, {2, 0.0f}), ConfigError, "arrow router: temperature must be positive");
  EXPECT_THROW_MSG(centroid_route(input, experts, {0, -1.0f}), ConfigError, "centroid router: temperature");
  EXPECT_THROW_MSG(arrow_route(input, random_matrix(rng, 5, 9)), InputError,
                   "arrow router: the input has 8 columns but the prototypes have 9");
  EXPECT_THROW_MSG(phatgoose_route(input, Matrix(0, 8)), InputError, "phatgoose router: the gates matrix is empty (0 x 8)");
  Matrix bad = input;
  bad(2, 5) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_MSG(centroid_route(bad, experts), InputError, "router score of row 2, expert 0 is nan");
  RoutingDecision broken;
  broken.row_offsets = {0, 1};
  broken.expert_idx = {7};
  broken.weight = {1.0f};
  EXPECT_THROW_MSG(dense_weights(broken, 5), InputError, "row 0 names expert 7 but there are 5");
}

// =============================================================================================
// Sequence-level routers
// =============================================================================================

TEST(route_sequence, means_and_expansion_closed_form) {
  Matrix input(5, 2);
  input << 1, 2,  //
      3, 4,       //
      10, 20,     //
      5, 6,       //
      30, 40;
  BatchLayout layout;
  layout.seq_of_row = {0, 0, 1, 0, 1};
  layout.pos_of_row = {0, 1, 0, 2, 1};
  layout.n_seq = 2;
  const Matrix means = sequence_means(input, layout);
  Matrix expected(2, 2);
  expected << 3, 4,  //
      20, 30;
  EXPECT_EQ(means, expected);

  RoutingDecision per_sequence;
  per_sequence.row_offsets = {0, 2, 3};
  per_sequence.expert_idx = {4, 1, 2};
  per_sequence.weight = {0.75f, 0.25f, 1.0f};
  const RoutingDecision rows = expand_to_rows(per_sequence, layout);
  EXPECT_EQ(rows.row_offsets, (std::vector<std::int32_t>{0, 2, 4, 5, 7, 8}));
  EXPECT_EQ(rows.expert_idx, (std::vector<std::int32_t>{4, 1, 4, 1, 2, 4, 1, 2}));
  EXPECT_EQ(rows.weight, (std::vector<float>{0.75f, 0.25f, 0.75f, 0.25f, 1.0f, 0.75f, 0.25f, 1.0f}));

  RoutingDecision malformed = per_sequence;
  malformed.row_offsets = {0, 2, 5};
  EXPECT_THROW_MSG(expand_to_rows(malformed, layout), InputError, "sequence 1 has entries [2, 5) outside the 3 entries");

  BatchLayout wrong = layout;
  wrong.seq_of_row[3] = 2;
  EXPECT_THROW_MSG(sequence_means(input, wrong), InputError, "row 3 belongs to sequence 2 but n_seq is 2");
  wrong = layout;
  wrong.n_seq = 3;
  EXPECT_THROW_MSG(sequence_means(input, wrong), InputError, "sequence 2 has no rows");
  wrong = layout;
  wrong.seq_of_row.pop_back();
  EXPECT_THROW_MSG(sequence_means(input, wrong), InputError, "seq_of_row has 4 entries but the batch has 5 rows");
}

TEST(route_sequence, retrieval_and_cbtm_match_reference) {
  std::mt19937 rng(33);
  const Eigen::Index n_seq = 12;
  const Eigen::Index d = 32;
  const Eigen::Index n_expert = 6;
  // Scaled so that squared distances are O(1) and T = 0.1 still gives graded weights.
  const Matrix queries = random_matrix(rng, n_seq, d, 0.15f);
  Matrix experts = random_matrix(rng, n_expert, d, 0.15f);
  experts.row(4).setZero();  // a zero embedding: cosine 0 with every query

  struct Run {
    std::string name;
    json spec;
    RoutingDecision ours;
    int n_keep;
  };
  std::vector<Run> runs;
  runs.push_back({"retrieval_k3", {{"kind", "retrieval"}, {"top_k", 3}}, retrieval_route(queries, experts), 3});
  runs.push_back({"retrieval_k10", {{"kind", "retrieval"}, {"top_k", 10}}, retrieval_route(queries, experts, {10}), 6});
  runs.push_back({"cbtm_k2",
                  {{"kind", "cbtm"}, {"top_k", 2}, {"temperature", 0.1f}, {"normalization", "top_k"}},
                  cbtm_route(queries, experts),
                  2});
  runs.push_back({"cbtm_k3_t1",
                  {{"kind", "cbtm"}, {"top_k", 3}, {"temperature", 1.0f}, {"normalization", "top_k"}},
                  cbtm_route(queries, experts, {3, 1.0f, CbtmNormalization::top_k}),
                  3});
  runs.push_back({"cbtm_k3_all",
                  {{"kind", "cbtm"}, {"top_k", 3}, {"temperature", 0.5f}, {"normalization", "all"}},
                  cbtm_route(queries, experts, {3, 0.5f, CbtmNormalization::all}),
                  3});
  const test::ScratchDir scratch("route-sequence");
  std::vector<Case> cases;
  for (auto& run : runs) {
    run.spec["input"] = "input.npy";
    run.spec["experts"] = "experts.npy";
    run.spec["out"] = "weights.npy";
    Case item = make_case(scratch, run.name, run.spec);
    write_matrix(item.dir / "input.npy", queries);
    write_matrix(item.dir / "experts.npy", experts);
    cases.push_back(item);
  }
  run_reference(cases);
  for (std::size_t run_idx = 0; run_idx < runs.size(); ++run_idx) {
    const auto& run = runs[run_idx];
    const Matrix reference = read_matrix(cases[run_idx].dir / "weights.npy", n_seq, n_expert);
    // Same argument as the token routers: f32 GEMM logits vs float64, 3e-6 absolute on weights.
    EXPECT_LE(max_abs_diff(dense_weights(run.ours, static_cast<int>(n_expert)), reference), 3e-6) << run.name;
    if (run.spec["kind"] == "retrieval") {
      for (const float weight : run.ours.weight) EXPECT_EQ(weight, 1.0f / static_cast<float>(run.n_keep)) << run.name;
    } else if (run.spec["normalization"] == "top_k") {
      expect_well_formed(run.ours, n_seq, run.n_keep, run.name);
    } else {
      // c-BTM's own convention: the kept weights are a part of a distribution over all experts.
      for (std::size_t seq_idx = 0; seq_idx < static_cast<std::size_t>(n_seq); ++seq_idx) {
        double sum = 0.0;
        for (auto entry = run.ours.row_offsets[seq_idx]; entry < run.ours.row_offsets[seq_idx + 1]; ++entry)
          sum += run.ours.weight[static_cast<std::size_t>(entry)];
        EXPECT_LT(sum, 1.0) << run.name;
        EXPECT_GT(sum, 0.0) << run.name;
      }
    }
  }
}

TEST(route_sequence, squared_distances_closed_form) {
  Matrix queries(2, 3);
  queries << 1, 2, 2,  //
      0, 0, 0;
  Matrix keys(2, 3);
  keys << 1, 2, 2,  //
      0, 3, 4;
  const Matrix distances = squared_distances(queries, keys);
  Matrix expected(2, 2);
  expected << 0, 1 + 1 + 4,  //
      9, 25;
  EXPECT_EQ(distances, expected);
  // c-BTM's nearest centroid wins ties by the lower index; weights softmax(-d^2 / T).
  const RoutingDecision decision = cbtm_route(queries, keys, {2, 1.0f, CbtmNormalization::top_k});
  EXPECT_EQ(experts_of_row(decision, 0), (std::vector<std::int32_t>{0, 1}));
  EXPECT_NEAR(decision.weight[0], 1.0 / (1.0 + std::exp(-6.0)), 1e-7);
  EXPECT_THROW_MSG(cbtm_route(queries, keys, {2, 0.0f, CbtmNormalization::top_k}), ConfigError,
                   "cbtm router: temperature must be positive");
}

TEST(route_cbtm, mix_matches_reference_and_closed_form) {
  std::mt19937 rng(44);
  const Eigen::Index n_token = 5;
  const Eigen::Index n_vocab = 11;
  std::vector<Matrix> log_probs;
  for (int expert_idx = 0; expert_idx < 3; ++expert_idx) {
    Matrix logits = random_matrix(rng, n_token, n_vocab, 2.0f);
    if (expert_idx == 2) logits(1, 3) = -std::numeric_limits<float>::infinity();  // probability 0 under expert 2
    for (Eigen::Index token_idx = 0; token_idx < n_token; ++token_idx) {
      const float top = logits.row(token_idx).maxCoeff();
      const float log_sum = std::log((logits.row(token_idx).array() - top).exp().sum()) + top;
      logits.row(token_idx).array() -= log_sum;
    }
    log_probs.push_back(logits);
  }

  const std::vector<std::vector<float>> weight_sets = {{0.5f, 0.3f, 0.2f}, {0.7f, 0.0f, 0.3f}, {0.0f, 0.0f, 1.0f}};
  const test::ScratchDir scratch("route-mix");
  std::vector<Case> cases;
  for (std::size_t set_idx = 0; set_idx < weight_sets.size(); ++set_idx) {
    Case item = make_case(scratch, "mix" + std::to_string(set_idx),
                          {{"kind", "cbtm_mix"}, {"log_probs", {"p0.npy", "p1.npy", "p2.npy"}},
                           {"weights", weight_sets[set_idx]}, {"out", "mixed.npy"}});
    for (int expert_idx = 0; expert_idx < 3; ++expert_idx)
      write_matrix(item.dir / ("p" + std::to_string(expert_idx) + ".npy"), log_probs[static_cast<std::size_t>(expert_idx)]);
    cases.push_back(item);
  }
  run_reference(cases);
  for (std::size_t set_idx = 0; set_idx < weight_sets.size(); ++set_idx) {
    const Matrix ours = cbtm_mix(log_probs, weight_sets[set_idx]);
    const Matrix reference = read_matrix(cases[set_idx].dir / "mixed.npy", n_token, n_vocab);
    // -inf where and only where the reference has it; elsewhere f32 rounding of values ~ 5
    // (2^-24 * 5 ~ 3e-7): 2e-6 absolute.
    for (Eigen::Index idx = 0; idx < ours.size(); ++idx) {
      if (std::isinf(reference.data()[idx])) {
        EXPECT_EQ(ours.data()[idx], reference.data()[idx]) << set_idx << " at " << idx;
      } else {
        EXPECT_NEAR(ours.data()[idx], reference.data()[idx], 2e-6) << set_idx << " at " << idx;
      }
    }
    // Weights summing to 1 mix distributions into a distribution.
    for (Eigen::Index token_idx = 0; token_idx < n_token; ++token_idx)
      EXPECT_NEAR(ours.row(token_idx).cast<double>().array().exp().sum(), 1.0, 1e-5) << set_idx;
  }
  // Identical experts: log sum_j w_j p = log(sum w) + log p.
  const std::vector<Matrix> same = {log_probs[0], log_probs[0]};
  const std::vector<float> halves = {0.25f, 0.25f};
  const Matrix mixed = cbtm_mix(same, halves);
  EXPECT_LE(max_abs_diff(mixed, (log_probs[0].array() + std::log(0.5f)).matrix()), 1e-6);

  const std::vector<float> negative = {0.5f, -0.1f, 0.6f};
  EXPECT_THROW_MSG(cbtm_mix(log_probs, negative), InputError, "weight of expert 1 is -0.1");
  std::vector<Matrix> with_nan = log_probs;
  with_nan[1](2, 7) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_MSG(cbtm_mix(with_nan, weight_sets[0]), InputError, "expert 1 log-probability at token 2, id 7 is nan");
  std::vector<Matrix> wrong_shape = log_probs;
  wrong_shape[2] = Matrix::Zero(5, 10);
  EXPECT_THROW_MSG(cbtm_mix(wrong_shape, weight_sets[0]), InputError, "expert 2 predicts 5 x 10 but expert 0 predicts 5 x 11");
}

// =============================================================================================
// LoraHub
// =============================================================================================

/// f(w) = sum_i a_i (w_i - c_i)^2; with the l1 term (l1 / n) sum |w_i| the minimiser is the soft
/// threshold w_i* = c_i - sign(c_i) l1 / (2 n a_i) (all |c_i| exceed the threshold here).
struct Quadratic {
  std::vector<double> a;
  std::vector<double> c;
  double operator()(const Eigen::VectorXd& w) const {
    double value = 0.0;
    for (std::size_t idx = 0; idx < a.size(); ++idx) value += a[idx] * (w(static_cast<Eigen::Index>(idx)) - c[idx]) * (w(static_cast<Eigen::Index>(idx)) - c[idx]);
    return value;
  }
  Eigen::VectorXd minimiser(double l1) const {
    Eigen::VectorXd w(static_cast<Eigen::Index>(a.size()));
    for (std::size_t idx = 0; idx < a.size(); ++idx)
      w(static_cast<Eigen::Index>(idx)) = c[idx] - std::copysign(l1 / (2.0 * static_cast<double>(a.size()) * a[idx]), c[idx]);
    return w;
  }
  double objective(const Eigen::VectorXd& w, double l1) const { return (*this)(w) + l1 * w.cwiseAbs().mean(); }
};

TEST(route_lorahub, reaches_the_minimum_of_a_quadratic) {
  // Tolerance, as a fraction of the gap between the start (w = 0, objective 4.0) and the minimum:
  // measured over seeds 0-199, 40 evaluations of CMA-ES in 5 dimensions leave 0.088 of the gap on
  // average (worst 0.40); uniform random search in the box with the same budget leaves 0.28 on
  // average. So every seed must close half the gap and seeds 0-19 on average 85% of it.
  const Quadratic quadratic{{1.0, 2.0, 0.5, 1.5, 1.0}, {0.6, -0.9, 0.3, 1.1, -0.4}};
  const double l1 = 0.05;
  const Eigen::VectorXd best = quadratic.minimiser(l1);
  const double best_objective = quadratic.objective(best, l1);
  const double start_objective = quadratic.objective(Eigen::VectorXd::Zero(5), l1);
  double mean_gap = 0.0;
  const int n_seed = 20;
  for (int seed = 0; seed < n_seed; ++seed) {
    int n_call = 0;
    const LorahubResult result = lorahub_optimize(
        5, [&](const Eigen::VectorXd& w) { ++n_call; return quadratic(w); }, {.seed = static_cast<std::uint64_t>(seed)});
    EXPECT_EQ(n_call, 40);
    EXPECT_EQ(result.n_eval, 40);
    // The result's objective is what the callback and the l1 term give at the returned weights.
    EXPECT_NEAR(result.objective, quadratic.objective(result.weights, l1), 1e-12);
    EXPECT_NEAR(result.loss, quadratic(result.weights), 1e-12);
    const double gap = (result.objective - best_objective) / (start_objective - best_objective);
    EXPECT_LE(gap, 0.5) << "seed " << seed;
    mean_gap += gap / n_seed;
  }
  EXPECT_LE(mean_gap, 0.15);
  // The l1 term is part of the objective: at the exact minimiser of f alone it costs more.
  const Eigen::VectorXd centre = Eigen::Map<const Eigen::VectorXd>(quadratic.c.data(), 5);
  EXPECT_LT(best_objective, quadratic.objective(centre, l1));
}

TEST(route_lorahub, budget_is_exact_and_weights_stay_in_the_box) {
  for (const int n_expert : {1, 3, 20}) {
    for (const int budget : {1, 2, 7, 40, 41}) {
      int n_call = 0;
      bool in_box = true;
      const LorahubResult result = lorahub_optimize(
          n_expert,
          [&](const Eigen::VectorXd& w) {
            ++n_call;
            in_box = in_box && w.cwiseAbs().maxCoeff() <= 1.5;
            return (w.array() - 3.0).square().sum();  // minimum outside the box: pushes to the bound
          },
          {.budget = budget, .seed = 7});
      EXPECT_EQ(n_call, budget) << n_expert << " experts, budget " << budget;
      EXPECT_EQ(result.objective_history.size(), static_cast<std::size_t>(budget));
      EXPECT_TRUE(in_box) << n_expert << " experts, budget " << budget;
      EXPECT_EQ(result.objective, *std::min_element(result.objective_history.begin(), result.objective_history.end()));
    }
  }
}

TEST(route_lorahub, same_seed_same_result) {
  const Quadratic quadratic{{1.0, 1.0, 1.0}, {0.5, 0.5, -1.0}};
  const auto run = [&](std::uint64_t seed) {
    return lorahub_optimize(3, [&](const Eigen::VectorXd& w) { return quadratic(w); }, {.seed = seed});
  };
  const LorahubResult first = run(42);
  const LorahubResult again = run(42);
  const LorahubResult other = run(43);
  EXPECT_EQ(first.objective_history, again.objective_history);
  EXPECT_EQ(first.weights, again.weights);
  EXPECT_NE(first.objective_history, other.objective_history);
}

TEST(route_lorahub, non_finite_losses_rank_last) {
  // NaN on half the space: the optimiser still returns the best finite point.
  const LorahubResult result = lorahub_optimize(2, [](const Eigen::VectorXd& w) {
    return w(0) < 0.0 ? std::numeric_limits<double>::quiet_NaN() : (w(0) - 0.5) * (w(0) - 0.5) + w(1) * w(1);
  });
  EXPECT_TRUE(std::isfinite(result.objective));
  EXPECT_GE(result.weights(0), 0.0);
  EXPECT_THROW_MSG(lorahub_optimize(2, [](const Eigen::VectorXd&) { return std::numeric_limits<double>::infinity(); },
                                    {.budget = 5}),
                   InputError, "lorahub: the loss was not finite at any of the 5 evaluations");
  EXPECT_THROW_MSG(lorahub_optimize(2, [](const Eigen::VectorXd&) { return 0.0; }, {.budget = 0}), ConfigError,
                   "lorahub: budget must be >= 1, got 0");
  EXPECT_THROW_MSG(lorahub_optimize(0, [](const Eigen::VectorXd&) { return 0.0; }), ConfigError,
                   "lorahub: n_expert must be >= 1, got 0");
}

TEST(route_lorahub, combination_matches_reference) {
  std::mt19937 rng(55);
  const Eigen::Index rank = 4;
  const Eigen::Index d_in = 20;
  const Eigen::Index d_out = 16;
  std::vector<Matrix> a_list;
  std::vector<Matrix> b_list;
  for (int expert_idx = 0; expert_idx < 3; ++expert_idx) {
    a_list.push_back(random_matrix(rng, rank, d_in, 0.3f));
    b_list.push_back(random_matrix(rng, d_out, rank, 0.3f));
  }
  const std::vector<float> scales = {2.0f, 0.5f, 1.0f};
  const std::vector<double> weights = {0.7, -0.3, 1.2};
  const LoraFactors ours = lorahub_combine(a_list, b_list, scales, weights, "layer 0 q_proj");
  const Matrix delta = lora_delta(ours);

  const test::ScratchDir scratch("route-lorahub");
  Case item = make_case(scratch, "combine",
                        {{"kind", "lorahub_combine"}, {"a", {"a0.npy", "a1.npy", "a2.npy"}}, {"b", {"b0.npy", "b1.npy", "b2.npy"}},
                         {"scales", scales}, {"weights", weights}, {"out_a", "a.npy"}, {"out_b", "b.npy"},
                         {"out_delta", "delta.npy"}});
  for (std::size_t expert_idx = 0; expert_idx < 3; ++expert_idx) {
    write_matrix(item.dir / ("a" + std::to_string(expert_idx) + ".npy"), a_list[expert_idx]);
    write_matrix(item.dir / ("b" + std::to_string(expert_idx) + ".npy"), b_list[expert_idx]);
  }
  run_reference({item});
  // Sums of three products in double rounded to f32, and one f32 GEMM over r = 4: 1e-6 absolute
  // for entries of size ~1.
  EXPECT_LE(max_abs_diff(ours.a, read_matrix(item.dir / "a.npy", rank, d_in)), 1e-6);
  EXPECT_LE(max_abs_diff(ours.b, read_matrix(item.dir / "b.npy", d_out, rank)), 1e-6);
  EXPECT_LE(max_abs_diff(delta, read_matrix(item.dir / "delta.npy", d_out, d_in)), 1e-6);

  // With equal scales s this is s (sum w B)(sum w A), which has cross terms: not sum w s B A.
  const std::vector<float> equal_scales = {2.0f, 2.0f, 2.0f};
  const Matrix equal = lora_delta(lorahub_combine(a_list, b_list, equal_scales, weights));
  Matrix a_sum = Matrix::Zero(rank, d_in);
  Matrix b_sum = Matrix::Zero(d_out, rank);
  Matrix per_expert = Matrix::Zero(d_out, d_in);
  for (std::size_t expert_idx = 0; expert_idx < 3; ++expert_idx) {
    a_sum += static_cast<float>(weights[expert_idx]) * a_list[expert_idx];
    b_sum += static_cast<float>(weights[expert_idx]) * b_list[expert_idx];
    per_expert += static_cast<float>(weights[expert_idx]) * 2.0f * b_list[expert_idx] * a_list[expert_idx];
  }
  EXPECT_LE(max_abs_diff(equal, 2.0f * b_sum * a_sum), 1e-5);
  EXPECT_GT(max_abs_diff(equal, per_expert), 0.1);

  std::vector<Matrix> wrong_rank = a_list;
  wrong_rank[1] = random_matrix(rng, 8, d_in);
  EXPECT_THROW_MSG(lorahub_combine(wrong_rank, b_list, scales, weights, "layer 0 q_proj"), InputError,
                   "layer 0 q_proj: expert 1 has A 8 x 20 and B 16 x 4, expert 0 has A 4 x 20 and B 16 x 4");
}

// =============================================================================================
// Learned linear router
// =============================================================================================

TEST(route_learned, matches_reference) {
  std::mt19937 rng(66);
  const Eigen::Index n_sample = 60;
  const Eigen::Index d = 10;
  const int n_expert = 4;
  // Features with different offsets and scales per column (the standardisation matters), labels
  // correlated with two of them but not separable, one constant column.
  Matrix features = random_matrix(rng, n_sample, d);
  for (Eigen::Index col = 0; col < d; ++col)
    features.col(col) = features.col(col) * static_cast<float>(col + 1) + Eigen::VectorXf::Constant(n_sample, 3.0f * static_cast<float>(col));
  features.col(7).setConstant(2.5f);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n_sample));
  std::uniform_int_distribution<int> coin(0, 3);
  for (Eigen::Index sample_idx = 0; sample_idx < n_sample; ++sample_idx) {
    const int signal = (features(sample_idx, 0) > 0.0f ? 1 : 0) + (features(sample_idx, 1) > 3.0f ? 2 : 0);
    labels[static_cast<std::size_t>(sample_idx)] = coin(rng) == 0 ? coin(rng) : signal;
  }
  const Matrix test_features = random_matrix(rng, 9, d, 3.0f, 4.0f);

  struct Run {
    std::string name;
    LinearRouterOptions options;
  };
  const std::vector<Run> runs = {{"auto_lr", {}},
                                 {"raw_fixed_lr", {.l2 = 0.01, .n_step = 80, .learning_rate = 0.002, .standardize = false}},
                                 {"no_l2", {.l2 = 0.0, .n_step = 30, .learning_rate = 0.0, .standardize = true}}};
  const test::ScratchDir scratch("route-learned");
  std::vector<Case> cases;
  std::vector<LinearRouter> routers;
  for (const auto& run : runs) {
    Case item = make_case(scratch, run.name,
                          {{"kind", "linear_router"}, {"features", "x.npy"}, {"labels", "y.npy"}, {"n_expert", n_expert},
                           {"l2", run.options.l2}, {"n_step", run.options.n_step},
                           {"learning_rate", run.options.learning_rate}, {"standardize", run.options.standardize},
                           {"test_features", "test.npy"}, {"out_weight", "w.npy"}, {"out_bias", "b.npy"},
                           {"out_loss", "loss.npy"}, {"out_learning_rate", "lr.npy"}, {"out_probs", "probs.npy"}});
    write_matrix(item.dir / "x.npy", features);
    write_labels(item.dir / "y.npy", labels);
    write_matrix(item.dir / "test.npy", test_features);
    cases.push_back(item);
    routers.push_back(train_linear_router(features, labels, n_expert, run.options));
  }
  run_reference(cases);
  for (std::size_t run_idx = 0; run_idx < runs.size(); ++run_idx) {
    const auto& router = routers[run_idx];
    const auto& name = runs[run_idx].name;
    const auto& dir = cases[run_idx].dir;
    // The same float64 algorithm on both sides; only summation orders differ: 1e-12 relative on
    // the losses and the step, and the f32 rounding of the outputs (2^-24 relative) on W and b.
    const auto loss_ref = read_npy<double>(dir / "loss.npy", "<f8");
    ASSERT_EQ(loss_ref.size(), router.loss_history.size()) << name;
    for (std::size_t step = 0; step < loss_ref.size(); ++step)
      EXPECT_NEAR(router.loss_history[step], loss_ref[step], 1e-12 * loss_ref[step]) << name << " step " << step;
    const auto lr_ref = read_npy<double>(dir / "lr.npy", "<f8");
    ASSERT_EQ(lr_ref.size(), 1u);
    EXPECT_NEAR(router.learning_rate, lr_ref[0], 1e-12 * lr_ref[0]) << name;
    const Matrix weight_ref = read_matrix(dir / "w.npy", n_expert, d);
    EXPECT_LE(max_abs_diff(router.weight, weight_ref), 1e-6 * std::max(1.0f, weight_ref.cwiseAbs().maxCoeff())) << name;
    const auto bias_ref = read_npy<float>(dir / "b.npy", "<f4");
    ASSERT_EQ(bias_ref.size(), static_cast<std::size_t>(n_expert));
    for (int expert_idx = 0; expert_idx < n_expert; ++expert_idx)
      EXPECT_NEAR(router.bias(expert_idx), bias_ref[static_cast<std::size_t>(expert_idx)],
                  1e-6 * std::max(1.0f, std::abs(bias_ref[static_cast<std::size_t>(expert_idx)])))
          << name;
    // Predictions with the f32 folded weights: f32 GEMM over d = 10 (observed: up to 3e-7),
    // 3e-6 absolute on probabilities.
    const Matrix probs_ref = read_matrix(dir / "probs.npy", test_features.rows(), n_expert);
    EXPECT_LE(max_abs_diff(dense_weights(linear_router_route(router, test_features), n_expert), probs_ref), 3e-6) << name;
  }
}

TEST(route_learned, separates_a_linearly_separable_set) {
  // Three separated clusters (centres about 4.2 apart, noise 0.25 per coordinate) in d = 16, far
  // from the origin.
  std::mt19937 rng(77);
  const int n_expert = 3;
  const Eigen::Index d = 16;
  const Matrix centres = random_matrix(rng, n_expert, d, 1.0f).rowwise().normalized() * 3.0f;
  auto sample = [&](int n_per_class, Matrix& features, std::vector<std::int32_t>& labels) {
    features = Matrix(n_per_class * n_expert, d);
    labels.clear();
    for (int expert_idx = 0; expert_idx < n_expert; ++expert_idx) {
      for (int sample_idx = 0; sample_idx < n_per_class; ++sample_idx) {
        features.row(expert_idx * n_per_class + sample_idx) =
            centres.row(expert_idx) + random_matrix(rng, 1, d, 0.25f) + Matrix::Constant(1, d, 10.0f);
        labels.push_back(expert_idx);
      }
    }
  };
  Matrix train;
  Matrix held_out;
  std::vector<std::int32_t> train_labels;
  std::vector<std::int32_t> held_out_labels;
  sample(20, train, train_labels);
  sample(10, held_out, held_out_labels);
  const LinearRouter router = train_linear_router(train, train_labels, n_expert, {.n_step = 300});
  // Gradient descent with step 1/L on a convex L-smooth objective never increases it.
  for (std::size_t step = 1; step < router.loss_history.size(); ++step)
    EXPECT_LE(router.loss_history[step], router.loss_history[step - 1] + 1e-12) << step;
  EXPECT_LT(router.loss_history.back(), 0.1 * router.loss_history.front());
  for (const auto& [features, labels] : {std::pair{&train, &train_labels}, std::pair{&held_out, &held_out_labels}}) {
    const RoutingDecision decision = linear_router_route(router, *features, 1);
    for (std::size_t sample_idx = 0; sample_idx < labels->size(); ++sample_idx)
      EXPECT_EQ(decision.expert_idx[sample_idx], (*labels)[sample_idx]) << "sample " << sample_idx;
  }
}

TEST(route_learned, rejects_bad_training_data) {
  std::mt19937 rng(88);
  const Matrix features = random_matrix(rng, 4, 3);
  const std::vector<std::int32_t> labels = {0, 1, 2, 1};
  EXPECT_THROW_MSG(train_linear_router(features, labels, 2), InputError, "label of sample 2 is 2, outside [0, 2)");
  EXPECT_THROW_MSG(train_linear_router(features, std::vector<std::int32_t>{0, 1}, 3), InputError,
                   "4 feature rows but 2 labels");
  Matrix bad = features;
  bad(3, 1) = std::numeric_limits<float>::infinity();
  EXPECT_THROW_MSG(train_linear_router(bad, labels, 3), InputError, "feature [3, 1] is inf");
  EXPECT_THROW_MSG(train_linear_router(features, labels, 3, {.l2 = -1.0}), ConfigError, "l2 must be >= 0, got -1");
  const LinearRouter router = train_linear_router(features, labels, 3, {.n_step = 5});
  EXPECT_THROW_MSG(linear_router_route(router, random_matrix(rng, 2, 4)), InputError,
                   "learned router: the input has 4 columns but the weights have 3");
}

// =============================================================================================
// Router table
// =============================================================================================

TEST(route_table, names_every_router_of_the_routing_csv_with_valid_tags) {
  // The system names of design.md's routing CSV that are routers.
  for (const std::string_view name :
       {"uniform_merge", "oracle", "arrow", "phatgoose", "centroid", "retrieval", "cbtm", "lorahub", "learned"})
    EXPECT_TRUE(router_info(name).has_value()) << name;
  EXPECT_FALSE(router_info("smear").has_value());
  const auto valid = [](std::string_view value, std::set<std::string_view> allowed) { return allowed.count(value) == 1; };
  std::set<std::string_view> names;
  for (const auto& info : router_table()) {
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate " << info.name;
    EXPECT_FALSE(info.summary.empty()) << info.name;
    EXPECT_TRUE(valid(info.expert_training, {"standard", "custom"})) << info.name;
    EXPECT_TRUE(valid(info.expert_data, {"private", "shared"})) << info.name;
    EXPECT_TRUE(valid(info.routing_dataset, {"none", "target", "expert", "general", "multiple"})) << info.name;
    EXPECT_TRUE(valid(info.input_granularity, {"task", "example", "step"})) << info.name;
    EXPECT_TRUE(valid(info.depth, {"model", "module"})) << info.name;
    EXPECT_TRUE(valid(info.selection, {"sparse", "dense"})) << info.name;
    EXPECT_TRUE(valid(info.aggregation, {"output", "parameter", "none"})) << info.name;
    EXPECT_TRUE(valid(info.generalization, {"in-distribution", "out-of-distribution"})) << info.name;
    EXPECT_TRUE(valid(info.user_dataset, {"zero-shot", "few-shot", "full"})) << info.name;
  }
  // Defaults in the table are the defaults of the option structs.
  EXPECT_EQ(ArrowOptions{}.top_k, 4);
  EXPECT_EQ(PhatgooseOptions{}.top_k, 2);
  EXPECT_EQ(RetrievalOptions{}.top_k, 3);
  EXPECT_EQ(LorahubOptions{}.budget, 40);
  EXPECT_EQ(LorahubOptions{}.bound, 1.5);
  EXPECT_EQ(LorahubOptions{}.l1, 0.05);
  const auto default_of = [](std::string_view router, std::string_view option) {
    const auto info = router_info(router);
    if (!info) return std::string("(no router)");
    for (const auto& item : info->options)
      if (item.name == option) return std::string(item.default_text);
    return std::string("(missing)");
  };
  EXPECT_EQ(default_of("arrow", "top_k"), "4");
  EXPECT_EQ(default_of("phatgoose", "top_k"), "2");
  EXPECT_EQ(default_of("retrieval", "top_k"), "3");
  EXPECT_EQ(default_of("cbtm", "top_k"), std::to_string(CbtmOptions{}.top_k));
  EXPECT_EQ(default_of("learned", "n_step"), std::to_string(LinearRouterOptions{}.n_step));
  EXPECT_EQ(default_of("lorahub", "budget"), "40");
}

}  // namespace
