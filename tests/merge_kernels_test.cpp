// Merge kernels: closed forms, identical bytes for any row-block split, and agreement with the
// independent reference tools/reference/merge_ref.py (numpy/torch).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"
#include "test_util.hpp"

using namespace moerge;
using namespace moerge::merge;
namespace fs = std::filesystem;

namespace {

using Tensor = std::vector<float>;

// ---------------------------------------------------------------------------------------------
// .npy files (version 1.0, C order) for exchanging arrays with the reference
// ---------------------------------------------------------------------------------------------
void write_npy(const fs::path& path, const Tensor& values, const std::vector<std::size_t>& shape) {
  std::string shape_text = "(";
  for (const std::size_t dim : shape) shape_text += std::to_string(dim) + ",";
  if (shape.size() > 1) shape_text.pop_back();
  shape_text += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto header_len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(header_len & 0xff), static_cast<char>(header_len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  ASSERT_TRUE(out.good()) << path;
}

/// The raw data of a .npy file whose descr is `descr`.
std::vector<char> read_npy_bytes(const fs::path& path, const std::string& descr) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "reference output missing: " << path;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10) return {};
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + static_cast<std::ptrdiff_t>(header_len));
  EXPECT_NE(header.find("'descr': '" + descr + "'"), std::string::npos) << path << ": " << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << path;
  return {bytes.begin() + 10 + static_cast<std::ptrdiff_t>(header_len), bytes.end()};
}

Tensor read_npy_f32(const fs::path& path) {
  const auto bytes = read_npy_bytes(path, "<f4");
  Tensor values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), values.size() * 4);
  return values;
}

std::vector<std::uint8_t> read_npy_u8(const fs::path& path) {
  const auto bytes = read_npy_bytes(path, "|u1");
  return {bytes.begin(), bytes.end()};
}

/// Runs the reference on every case directory in one process (torch starts once).
void run_reference(const std::vector<fs::path>& case_dirs) {
  std::string command = "/usr/bin/python3 " + (test::source_dir() / "tools/reference/merge_ref.py").string() + " run";
  for (const auto& dir : case_dirs) command += " " + dir.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

/// |ours - reference| <= 1e-6 * max(|reference|, 1e-3 * max |reference|): 1e-6 relative per element
/// (a few f32 ulps: both sides compute in double and round once, but sum orders differ), with a
/// floor for elements a thousand times below the tensor's scale, where cancellation leaves an ulp
/// of the inputs.
void expect_close(const Tensor& ours, const Tensor& reference, const std::string& what, double tolerance = 1e-6) {
  ASSERT_EQ(ours.size(), reference.size()) << what;
  double scale = 0.0;
  for (const float value : reference) scale = std::max(scale, std::abs(static_cast<double>(value)));
  std::size_t n_bad = 0;
  for (std::size_t element_idx = 0; element_idx < ours.size(); ++element_idx) {
    const double expected = reference[element_idx];
    const double allowed = tolerance * std::max(std::abs(expected), 1e-3 * scale);
    if (!(std::abs(static_cast<double>(ours[element_idx]) - expected) <= allowed) && n_bad++ < 5) {
      ADD_FAILURE() << what << ": element " << element_idx << " is " << ours[element_idx] << ", reference "
                    << expected;
    }
  }
  EXPECT_EQ(n_bad, 0u) << what;
}

void expect_same_bytes(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
}

// ---------------------------------------------------------------------------------------------
// Test data and the block splits an engine might use
// ---------------------------------------------------------------------------------------------
struct Shape {
  std::size_t n_row = 1;
  std::size_t n_col = 1;
  bool vector = false;  // a 1-D tensor of n_row * n_col elements (one della row)
  std::size_t numel() const { return n_row * n_col; }
  std::vector<std::size_t> dims() const {
    return vector ? std::vector<std::size_t>{numel()} : std::vector<std::size_t>{n_row, n_col};
  }
  std::size_t row_length() const { return vector ? numel() : n_col; }
  std::string text() const { return vector ? std::to_string(numel()) : std::to_string(n_row) + "x" + std::to_string(n_col); }
};

const std::vector<Shape> test_shapes = {{7, 13, false}, {16, 32, false}, {1, 37, true}, {5, 1, false}};

/// Gaussian values; `quantised` rounds to multiples of scale / 8 so that many magnitudes tie.
Tensor random_tensor(std::mt19937& rng, std::size_t n, float scale, bool quantised = false) {
  std::normal_distribution<float> normal(0.0f, scale);
  Tensor values(n);
  for (auto& value : values) {
    value = normal(rng);
    if (quantised) value = std::round(value / scale * 8.0f) * scale / 8.0f;
  }
  return values;
}

/// Fine-tunes of base: base + a random task vector each.
std::vector<Tensor> fine_tunes(std::mt19937& rng, const Tensor& base, std::size_t n_model, bool quantised) {
  std::vector<Tensor> thetas;
  for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
    Tensor tau = random_tensor(rng, base.size(), 0.05f, quantised);
    Tensor theta(base.size());
    for (std::size_t element_idx = 0; element_idx < base.size(); ++element_idx) theta[element_idx] = base[element_idx] + tau[element_idx];
    thetas.push_back(theta);
  }
  return thetas;
}

/// Element ranges [begin, end) of row blocks: whole tensor, one row each, and uneven blocks.
using Blocks = std::vector<std::pair<std::size_t, std::size_t>>;
std::vector<Blocks> block_splits(const Shape& shape) {
  const std::size_t row_length = shape.row_length();
  const std::size_t n_row = shape.numel() / row_length;
  std::vector<std::vector<std::size_t>> row_counts = {{n_row}};
  if (n_row > 1) {
    row_counts.push_back(std::vector<std::size_t>(n_row, 1));
    std::vector<std::size_t> uneven;
    std::size_t left = n_row;
    for (std::size_t size = 3; left > 0; size = size == 3 ? 1 : size + 2) {
      uneven.push_back(std::min(size, left));
      left -= uneven.back();
    }
    row_counts.push_back(uneven);
  }
  std::vector<Blocks> splits;
  for (const auto& counts : row_counts) {
    Blocks blocks;
    std::size_t begin = 0;
    for (const std::size_t count : counts) {
      blocks.emplace_back(begin * row_length, (begin + count) * row_length);
      begin += count;
    }
    splits.push_back(blocks);
  }
  return splits;
}

std::span<const float> sub(const Tensor& tensor, const std::pair<std::size_t, std::size_t>& block) {
  return std::span<const float>(tensor).subspan(block.first, block.second - block.first);
}
std::span<float> sub(Tensor& tensor, const std::pair<std::size_t, std::size_t>& block) {
  return std::span<float>(tensor).subspan(block.first, block.second - block.first);
}

// ---------------------------------------------------------------------------------------------
// A serial stand-in for the sharded engine: statistics per block, "reduced" by adding, then apply.
// ---------------------------------------------------------------------------------------------
RankCut select_over_blocks(const Tensor& theta, const Tensor& base, const Blocks& blocks, std::uint64_t cut_rank) {
  RadixSelect select(base.size(), cut_rank);
  while (!select.done()) {
    std::vector<std::uint64_t> total(select.n_bin(), 0);
    for (const auto& block : blocks) {
      std::vector<std::uint64_t> part(select.n_bin(), 0);
      select.histogram_delta(sub(theta, block), sub(base, block), part);
      for (std::size_t bin_idx = 0; bin_idx < part.size(); ++bin_idx) total[bin_idx] += part[bin_idx];
    }
    select.narrow(total);
  }
  return select.cut();
}

struct GtaMethod {
  std::string name;
  SparsifyParams sparsify;
  CombineParams combine;
};

struct GtaResult {
  Tensor out;
  std::vector<std::vector<std::uint8_t>> masks;  // kept elements per model
};

GtaResult run_gta(const GtaMethod& method, const std::vector<double>& weights, const Tensor& base,
                  const std::vector<Tensor>& thetas, const Shape& shape, const Blocks& blocks,
                  const std::string& tensor_name, std::uint64_t seed) {
  const std::size_t n_model = thetas.size();
  const std::uint64_t n = base.size();
  std::vector<SparsifyState> states(n_model);
  std::vector<std::vector<BlockTies>> ties(n_model, std::vector<BlockTies>(blocks.size()));
  auto position = [&](std::size_t block_idx) {
    return BlockPosition{blocks[block_idx].first, shape.row_length()};
  };
  for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
    SparsifyState& state = states[model_idx];
    state.key = philox_key(seed, static_cast<std::uint32_t>(model_idx), tensor_name);
    const auto& params = method.sparsify;
    if (params.method == SparsifyMethod::magnitude || params.method == SparsifyMethod::magnitude_outliers) {
      const RankRange range = magnitude_rank_range(params, n);
      state.upper = select_over_blocks(thetas[model_idx], base, blocks, range.end);
      state.lower = range.begin == 0 ? RankCut::nothing() : select_over_blocks(thetas[model_idx], base, blocks, range.begin);
      BlockTies before;
      for (std::size_t block_idx = 0; block_idx < blocks.size(); ++block_idx) {  // exclusive prefix sum
        ties[model_idx][block_idx] = before;
        before.upper += count_key_delta(sub(thetas[model_idx], blocks[block_idx]), sub(base, blocks[block_idx]), state.upper.key);
        before.lower += count_key_delta(sub(thetas[model_idx], blocks[block_idx]), sub(base, blocks[block_idx]), state.lower.key);
      }
    }
    if (params.rescale == RescaleMode::l1) {
      ExactSum l1_before;
      ExactSum l1_after;
      for (std::size_t block_idx = 0; block_idx < blocks.size(); ++block_idx) {
        Tensor tau(blocks[block_idx].second - blocks[block_idx].first);
        task_vector(sub(thetas[model_idx], blocks[block_idx]), sub(base, blocks[block_idx]), tau);
        ExactSum part_before;
        ExactSum part_after;
        add_l1_rescale_stats(params, state, ties[model_idx][block_idx], position(block_idx), tau, part_before, part_after);
        l1_before.merge(part_before);
        l1_after.merge(part_after);
      }
      state.l1_scale = l1_rescale_scale(l1_before, l1_after);
    }
  }
  GtaResult result;
  result.out.assign(n, 0.0f);
  result.masks.assign(n_model, std::vector<std::uint8_t>(n, 0));
  for (std::size_t block_idx = 0; block_idx < blocks.size(); ++block_idx) {
    const auto& block = blocks[block_idx];
    const std::size_t size = block.second - block.first;
    std::vector<Tensor> deltas(n_model, Tensor(size));
    std::vector<std::span<const float>> delta_spans;
    for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
      Tensor tau(size);
      task_vector(sub(thetas[model_idx], block), sub(base, block), tau);
      Tensor masked(size);
      sparsify_block(method.sparsify, states[model_idx], ties[model_idx][block_idx], position(block_idx), tau, masked, false);
      for (std::size_t element_idx = 0; element_idx < size; ++element_idx) {
        result.masks[model_idx][block.first + element_idx] = masked[element_idx] != 0.0f ? 1 : 0;
      }
      sparsify_block(method.sparsify, states[model_idx], ties[model_idx][block_idx], position(block_idx), tau,
                     deltas[model_idx]);
      delta_spans.emplace_back(deltas[model_idx]);
    }
    combine_block(method.combine, weights, delta_spans, sub(base, block), sub(result.out, block));
  }
  return result;
}

nlohmann::json rescale_json(RescaleMode mode) {
  switch (mode) {
    case RescaleMode::none:
      return "none";
    case RescaleMode::inverse_density:
      return "inverse_density";
    case RescaleMode::l1:
      return "l1";
  }
  return "none";
}

nlohmann::json sparsify_json(const SparsifyParams& params) {
  static const std::map<SparsifyMethod, std::string> names = {{SparsifyMethod::none, "none"},
                                                              {SparsifyMethod::magnitude, "magnitude"},
                                                              {SparsifyMethod::random, "random"},
                                                              {SparsifyMethod::magnitude_outliers, "magnitude_outliers"},
                                                              {SparsifyMethod::della_magprune, "della_magprune"}};
  return {{"method", names.at(params.method)}, {"density", params.density}, {"gamma", params.gamma},
          {"epsilon", params.epsilon}, {"rescale", rescale_json(params.rescale)}};
}

void write_case(const fs::path& dir, const nlohmann::json& case_json) {
  fs::create_directories(dir);
  std::ofstream(dir / "case.json") << case_json.dump(2);
}

SparsifyParams sparsify_params(SparsifyMethod method, double density, RescaleMode rescale, double gamma = 0.01,
                               double epsilon = 0.15) {
  SparsifyParams params;
  params.method = method;
  params.density = density;
  params.rescale = rescale;
  params.gamma = gamma;
  params.epsilon = epsilon;
  return params;
}

/// The task-vector methods of docs/methods.md with their defaults, plus variants of the options.
std::vector<GtaMethod> gta_methods() {
  using SM = SparsifyMethod;
  using RM = RescaleMode;
  using CM = ConsensusMethod;
  return {
      {"task_arithmetic", sparsify_params(SM::none, 1.0, RM::none), {CM::none, false, 0.7}},
      {"ties", sparsify_params(SM::magnitude, 0.3, RM::none), {CM::sum, true, 1.0}},
      {"ties_count_l1", sparsify_params(SM::magnitude, 0.45, RM::l1), {CM::count, true, 1.3}},
      {"ties_inverse_density", sparsify_params(SM::magnitude, 0.5, RM::inverse_density), {CM::sum, false, 1.0}},
      {"dare_linear", sparsify_params(SM::random, 0.4, RM::inverse_density), {CM::none, false, 1.0}},
      {"dare_linear_l1", sparsify_params(SM::random, 0.4, RM::l1), {CM::none, false, 1.0}},
      {"dare_ties", sparsify_params(SM::random, 0.6, RM::l1), {CM::sum, false, 1.0}},
      {"breadcrumbs", sparsify_params(SM::magnitude_outliers, 0.5, RM::none, 0.1), {CM::none, false, 1.0}},
      {"breadcrumbs_ties", sparsify_params(SM::magnitude_outliers, 0.9, RM::none, 0.2), {CM::sum, false, 1.0}},
      {"della", sparsify_params(SM::della_magprune, 0.5, RM::inverse_density, 0.01, 0.15), {CM::sum, true, 1.0}},
      {"della_l1", sparsify_params(SM::della_magprune, 0.4, RM::l1, 0.01, 0.2), {CM::sum, true, 1.0}},
      {"della_linear", sparsify_params(SM::della_magprune, 0.3, RM::inverse_density, 0.01, 0.1), {CM::none, false, 1.0}},
  };
}

}  // namespace

// =============================================================================================
// Closed forms and building blocks
// =============================================================================================

TEST(merge_random, philox_known_answers) {
  // Random123's known-answer vectors for philox4x32 with 10 rounds.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (std::array<std::uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (std::array<std::uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (std::array<std::uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(merge_random, key_derivation_and_draws_match_reference) {
  // FNV-1a 64 test vectors (Fowler/Noll/Vo): "" and "a".
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  test::ScratchDir scratch("merge-uniform");
  const std::string name = "model.layers.0.mlp.down_proj.weight";
  const std::uint64_t seed = 0x0123456789abcdefull;
  const std::uint64_t first = 0xfffffffdull;  // crosses the 32-bit boundary of the counter
  write_case(scratch.path() / "u", {{"method", "uniforms"}, {"seed", seed}, {"model_index", 3}, {"tensor_name", name},
                                    {"stream", 1}, {"first", first}, {"n", 1001}, {"out", "u.npy"}});
  run_reference({scratch.path() / "u"});
  const PhiloxKey key = philox_key(seed, 3, name);
  const auto reference_key = nlohmann::json::parse(std::ifstream(scratch.path() / "u" / "key.json"));
  EXPECT_EQ(key.k0, reference_key["k0"].get<std::uint32_t>());
  EXPECT_EQ(key.k1, reference_key["k1"].get<std::uint32_t>());
  Tensor ours(1001);
  uniform_block(key, RandomStream::della, first, ours);
  expect_same_bytes(ours, read_npy_f32(scratch.path() / "u" / "u.npy"), "uniform draws");
  // uniform_block (rounds written out) equals uniform_at (Random123) for every element, any
  // sub-block gives the same draws, and every draw is a multiple of 2^-24 in [0, 1).
  for (std::size_t offset = 0; offset < ours.size(); ++offset) {
    ASSERT_EQ(uniform_at(key, RandomStream::della, first + offset), ours[offset]) << offset;
  }
  Tensor part(7);
  uniform_block(key, RandomStream::della, first + 3, part);
  for (std::size_t offset = 0; offset < part.size(); ++offset) EXPECT_EQ(part[offset], ours[3 + offset]);
  for (const float u : ours) {
    EXPECT_GE(u, 0.0f);
    EXPECT_LT(u, 1.0f);
    EXPECT_EQ(std::fmod(static_cast<double>(u) * 16777216.0, 1.0), 0.0);
  }
  // The stream, the model and the name each change the draws.
  EXPECT_NE(uniform_at(key, RandomStream::dare, first), ours[0]);
  EXPECT_NE(uniform_at(philox_key(seed, 2, name), RandomStream::della, first), ours[0]);
  EXPECT_NE(uniform_at(philox_key(seed, 3, name + "x"), RandomStream::della, first), ours[0]);
}

TEST(merge_exact_sum, exact_and_independent_of_grouping) {
  ExactSum cancel;
  for (const float value : {1e30f, 1.0f, -1e30f, 3.0f, 1e-40f, -1e-40f}) cancel.add(value);
  EXPECT_EQ(cancel.value(), 4.0);
  ExactSum tiny;
  tiny.add_product(1e-45f, 1e-45f);  // smallest denormal squared: 2^-298
  EXPECT_EQ(tiny.value(), std::ldexp(1.0, -298));
  ExactSum big;
  big.add_product(3e38f, -3e38f);
  EXPECT_EQ(big.value(), -static_cast<double>(3e38f) * static_cast<double>(3e38f));

  std::mt19937 rng(7);
  std::uniform_real_distribution<float> exponent(-30.0f, 30.0f);
  std::uniform_int_distribution<int> sign(0, 1);
  Tensor a(10000);
  Tensor b(10000);
  for (std::size_t element_idx = 0; element_idx < a.size(); ++element_idx) {
    a[element_idx] = (sign(rng) ? -1.0f : 1.0f) * std::exp2(exponent(rng));
    b[element_idx] = (sign(rng) ? -1.0f : 1.0f) * std::exp2(exponent(rng));
  }
  ExactSum whole_dot;
  whole_dot.add_dot(a, b);
  ExactSum whole_abs;
  whole_abs.add_abs(a);
  // Reference: exact sums through long double are not exact here, so compare to a sorted Kahan-free
  // long double sum with a tolerance, and demand identical bits for every grouping.
  long double dot_ld = 0.0L;
  long double abs_ld = 0.0L;
  for (std::size_t element_idx = 0; element_idx < a.size(); ++element_idx) {
    dot_ld += static_cast<long double>(a[element_idx]) * static_cast<long double>(b[element_idx]);
    abs_ld += std::abs(static_cast<long double>(a[element_idx]));
  }
  EXPECT_NEAR(whole_dot.value(), static_cast<double>(dot_ld), 1e-12 * static_cast<double>(abs_ld) * 1e9);
  EXPECT_NEAR(whole_abs.value(), static_cast<double>(abs_ld), 1e-15 * static_cast<double>(abs_ld));
  for (const std::size_t n_part : {2u, 3u, 17u, 10000u}) {
    ExactSum dot_total;
    ExactSum abs_total;
    const std::size_t part = (a.size() + n_part - 1) / n_part;
    for (std::size_t begin = a.size(); begin > 0;) {  // in reverse order, as ranks might arrive
      const std::size_t start = begin >= part ? begin - part : 0;
      ExactSum dot_part;
      ExactSum abs_part;
      dot_part.add_dot(std::span<const float>(a).subspan(start, begin - start),
                       std::span<const float>(b).subspan(start, begin - start));
      abs_part.add_abs(std::span<const float>(a).subspan(start, begin - start));
      dot_total.merge(dot_part);
      abs_total.merge(abs_part);
      begin = start;
    }
    EXPECT_EQ(dot_total.value(), whole_dot.value()) << n_part << " parts";
    EXPECT_EQ(abs_total.value(), whole_abs.value()) << n_part << " parts";
  }
  // Per-element add_product agrees with the binned add_dot.
  ExactSum element_wise;
  for (std::size_t element_idx = 0; element_idx < a.size(); ++element_idx) element_wise.add_product(a[element_idx], b[element_idx]);
  EXPECT_EQ(element_wise.value(), whole_dot.value());
}

TEST(merge_select, radix_select_equals_nth_element) {
  std::mt19937 rng(11);
  std::vector<Tensor> data_sets;
  data_sets.push_back(random_tensor(rng, 5000, 1.0f));
  data_sets.push_back(random_tensor(rng, 4000, 1.0f, true));  // many duplicates
  Tensor special = random_tensor(rng, 3000, 1e-3f, true);
  for (std::size_t element_idx = 0; element_idx < special.size(); element_idx += 7) special[element_idx] = -0.0f;
  for (std::size_t element_idx = 3; element_idx < special.size(); element_idx += 11) {
    special[element_idx] = (element_idx % 2 ? -1.0f : 1.0f) * std::numeric_limits<float>::denorm_min() *
                           static_cast<float>(element_idx % 5);
  }
  for (std::size_t element_idx = 5; element_idx < special.size(); element_idx += 13) special[element_idx] = 0.0f;
  special[1] = std::numeric_limits<float>::max();
  special[2] = -std::numeric_limits<float>::max();
  data_sets.push_back(special);
  for (const auto& values : data_sets) {
    std::vector<std::uint32_t> keys;
    for (const float value : values) keys.push_back(magnitude_key(value));
    for (const std::uint64_t cut_rank : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{17},
                                         std::uint64_t{values.size() / 2}, std::uint64_t{values.size() - 1},
                                         std::uint64_t{values.size()}}) {
      const RankCut cut = select_cut(values, cut_rank);
      if (cut_rank >= values.size()) {
        EXPECT_EQ(cut, RankCut::everything());
        continue;
      }
      std::vector<std::uint32_t> sorted = keys;
      std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(cut_rank), sorted.end(),
                       std::greater<>());
      const std::uint32_t expected_key = sorted[cut_rank];
      EXPECT_EQ(cut.key, expected_key) << "rank " << cut_rank;
      const auto n_above = static_cast<std::uint64_t>(std::count_if(keys.begin(), keys.end(), [&](std::uint32_t key) { return key > expected_key; }));
      EXPECT_EQ(cut.n_tie_inside, cut_rank - n_above) << "rank " << cut_rank;
      // Exactly cut_rank elements are inside, and the inside ties are the lowest indices.
      std::uint64_t n_inside = 0;
      std::uint64_t ordinal = 0;
      for (const std::uint32_t key : keys) {
        n_inside += cut.contains(key, ordinal) ? 1 : 0;
        ordinal += key == cut.key ? 1 : 0;
      }
      EXPECT_EQ(n_inside, cut_rank);
    }
  }
  // -0 and +0 are the same magnitude.
  EXPECT_EQ(magnitude_key(-0.0f), magnitude_key(0.0f));
}

TEST(merge_select, inconsistent_histogram_is_an_error) {
  RadixSelect select(10, 3);
  std::vector<std::uint64_t> hist(select.n_bin(), 0);
  hist[5] = 9;  // one element missing
  EXPECT_THROW_MSG(select.narrow(hist), Error, "counts 9 elements, expected 10");
}

TEST(merge_ties, hand_made_vectors) {
  // Three task vectors over 4 elements, density 0.5 keeps the top 2 magnitudes of each.
  const Tensor base = {1.0f, 1.0f, 1.0f, 1.0f};
  const std::vector<Tensor> taus = {{0.5f, -0.1f, 0.3f, -0.05f}, {-0.4f, 0.2f, 0.05f, -0.6f}, {0.1f, -0.3f, 0.2f, 0.25f}};
  // trimmed: {0.5, 0, 0.3, 0}, {-0.4, 0, 0, -0.6}, {0, -0.3, 0, 0.25}
  // elected (sum): +, -, +, -;  merged (mean of agreeing, normalize): 0.5, -0.3, 0.3, -0.6
  const SparsifyParams params = sparsify_params(SparsifyMethod::magnitude, 0.5, RescaleMode::none);
  std::vector<Tensor> deltas;
  for (const auto& tau : taus) {
    SparsifyState state;
    state.upper = select_cut(tau, magnitude_rank_range(params, tau.size()).end);
    Tensor delta(tau.size());
    sparsify_block(params, state, {}, {0, 4}, tau, delta);
    deltas.push_back(delta);
  }
  EXPECT_EQ(deltas[0], (Tensor{0.5f, 0.0f, 0.3f, 0.0f}));
  EXPECT_EQ(deltas[1], (Tensor{-0.4f, 0.0f, 0.0f, -0.6f}));
  EXPECT_EQ(deltas[2], (Tensor{0.0f, -0.3f, 0.0f, 0.25f}));
  Tensor out(4);
  combine_block({ConsensusMethod::sum, true, 1.0}, std::vector<double>{1.0, 1.0, 1.0},
                std::vector<std::span<const float>>(deltas.begin(), deltas.end()), base, out);
  const Tensor expected = {1.5f, 0.7f, 1.3f, 0.4f};
  for (std::size_t element_idx = 0; element_idx < 4; ++element_idx) {
    EXPECT_NEAR(out[element_idx], expected[element_idx], 1e-7f) << element_idx;  // one f32 rounding
  }
  // Ties at the boundary: the lower element index wins.
  const Tensor tied = {0.2f, -0.3f, 0.3f, 0.3f, -0.3f};
  SparsifyState state;
  state.upper = select_cut(tied, 2);
  Tensor kept(tied.size());
  sparsify_block(params, state, {}, {0, 5}, tied, kept);
  EXPECT_EQ(kept, (Tensor{0.0f, -0.3f, 0.3f, 0.0f, 0.0f}));
}

TEST(merge_slerp, orthogonal_vectors) {
  const Tensor a = {1.0f, 0.0f};
  const Tensor b = {0.0f, 1.0f};
  SlerpStats stats;
  stats.add_block(a, b);
  Tensor out(2);
  interpolate_block(slerp_coefficients(0.0, stats), a, b, out);
  EXPECT_EQ(out, a);
  interpolate_block(slerp_coefficients(1.0, stats), a, b, out);
  EXPECT_NEAR(out[0], 0.0f, 1e-7f);
  EXPECT_EQ(out[1], 1.0f);
  interpolate_block(slerp_coefficients(0.5, stats), a, b, out);
  EXPECT_NEAR(out[0], std::sqrt(0.5f), 1e-7f);
  EXPECT_NEAR(out[1], std::sqrt(0.5f), 1e-7f);
  // Nearly parallel vectors fall back to lerp.
  SlerpStats parallel;
  parallel.add_block(Tensor{1.0f, 2.0f}, Tensor{2.0f, 4.001f});
  const auto coefficients = slerp_coefficients(0.25, parallel);
  EXPECT_TRUE(coefficients.lerp);
  EXPECT_EQ(coefficients.coef_a, 0.75);
  EXPECT_EQ(coefficients.coef_b, 0.25);
}

TEST(merge_model_stock, identical_task_vectors_give_t_one) {
  std::mt19937 rng(3);
  const Tensor base = random_tensor(rng, 50, 1.0f);
  const Tensor tau = random_tensor(rng, 50, 0.1f);
  std::vector<Tensor> thetas(3, Tensor(50));
  for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
    for (std::size_t element_idx = 0; element_idx < 50; ++element_idx) thetas[model_idx][element_idx] = base[element_idx] + tau[element_idx];
  }
  const std::vector<std::span<const float>> spans(thetas.begin(), thetas.end());
  ModelStockStats stats(3);
  stats.add_block(base, spans);
  EXPECT_NEAR(model_stock_t(stats), 1.0, 1e-12);
  // Orthogonal task vectors: c = 0, t = 0, the output is the base.
  std::vector<Tensor> orthogonal = {{2.0f, 1.0f, 1.0f}, {1.0f, 2.0f, 1.0f}};
  const Tensor ones = {1.0f, 1.0f, 1.0f};
  ModelStockStats orthogonal_stats(2);
  orthogonal_stats.add_block(ones, std::vector<std::span<const float>>(orthogonal.begin(), orthogonal.end()));
  EXPECT_EQ(model_stock_t(orthogonal_stats), 0.0);
  EXPECT_THROW_MSG(model_stock_t(ModelStockStats(1)), InputError, "at least 2 models");
}

TEST(merge_regmean, equal_grams_give_the_mean_and_singular_is_an_error) {
  std::mt19937 rng(5);
  const std::size_t d_in = 6;
  const std::size_t d_out = 4;
  // G = X^T X / n with n > d_in is positive definite.
  const Tensor x = random_tensor(rng, 20 * d_in, 1.0f);
  Tensor gram(d_in * d_in, 0.0f);
  for (std::size_t row = 0; row < d_in; ++row) {
    for (std::size_t col = 0; col < d_in; ++col) {
      double total = 0.0;
      for (std::size_t sample = 0; sample < 20; ++sample) total += static_cast<double>(x[sample * d_in + row]) * x[sample * d_in + col];
      gram[row * d_in + col] = static_cast<float>(total / 20.0);
    }
  }
  const std::vector<Tensor> weights = {random_tensor(rng, d_out * d_in, 1.0f), random_tensor(rng, d_out * d_in, 1.0f)};
  const std::vector<std::span<const float>> grams = {gram, gram};
  const RegmeanSolver solver(grams, d_in, 1.0);
  Tensor out(d_out * d_in);
  solver.apply(std::vector<std::span<const float>>(weights.begin(), weights.end()), d_out, out);
  for (std::size_t element_idx = 0; element_idx < out.size(); ++element_idx) {
    EXPECT_NEAR(out[element_idx], 0.5f * (weights[0][element_idx] + weights[1][element_idx]), 1e-5f);
  }
  const Tensor zeros(d_in * d_in, 0.0f);
  const std::vector<std::span<const float>> singular = {zeros};
  EXPECT_THROW_MSG(RegmeanSolver(singular, d_in, 1.0), InputError, "not positive definite");
  EXPECT_THROW_MSG(RegmeanSolver(grams, d_in, 1.5), ConfigError, "alpha must lie in [0, 1], got 1.5");
}

TEST(merge_lora, cat_is_exact_and_rows_assemble) {
  std::mt19937 rng(9);
  const std::size_t d_in = 9;
  const std::size_t d_out = 7;
  const Tensor a1 = random_tensor(rng, 2 * d_in, 1.0f);
  const Tensor b1 = random_tensor(rng, d_out * 2, 1.0f);
  const Tensor a2 = random_tensor(rng, 3 * d_in, 1.0f);
  const Tensor b2 = random_tensor(rng, d_out * 3, 1.0f);
  const std::vector<LoraInput> inputs = {{a1, b1, 2, 0.5}, {a2, b2, 3, -2.0}};
  const LoraFactors cat = lora_cat(inputs, d_in, d_out);
  EXPECT_EQ(cat.rank, 5u);
  Tensor from_cat(d_out * d_in);
  lora_delta_rows(cat.b, cat.a, cat.rank, d_in, 1.0, from_cat);
  for (std::size_t row = 0; row < d_out; ++row) {
    for (std::size_t col = 0; col < d_in; ++col) {
      double expected = 0.0;
      for (std::size_t r = 0; r < 2; ++r) expected += 0.5 * b1[row * 2 + r] * a1[r * d_in + col];
      for (std::size_t r = 0; r < 3; ++r) expected += -2.0 * b2[row * 3 + r] * a2[r * d_in + col];
      EXPECT_NEAR(from_cat[row * d_in + col], expected, 1e-5);
    }
  }
  // Row blocks of the materialised delta assemble to the whole.
  Tensor whole(d_out * d_in);
  lora_delta_rows(b1, a1, 2, d_in, 0.5, whole);
  Tensor blocks(d_out * d_in);
  for (std::size_t row_begin = 0; row_begin < d_out; row_begin += 3) {
    const std::size_t n_row = std::min<std::size_t>(3, d_out - row_begin);
    lora_delta_rows(std::span<const float>(b1).subspan(row_begin * 2, n_row * 2), a1, 2, d_in, 0.5,
                    std::span<float>(blocks).subspan(row_begin * d_in, n_row * d_in));
  }
  expect_same_bytes(blocks, whole, "lora row blocks");
  EXPECT_THROW_MSG(lora_cat(std::vector<LoraInput>{{a1, b1, 3, 1.0}}, d_in, d_out), InputError, "adapter 0 has rank 3");
}

TEST(merge_params, bad_parameters_are_named) {
  EXPECT_THROW_MSG(validate(sparsify_params(SparsifyMethod::magnitude, -0.5, RescaleMode::none)), ConfigError,
                   "density must be a finite number >= 0, got -0.5");
  EXPECT_THROW_MSG(validate(sparsify_params(SparsifyMethod::della_magprune, 0.1, RescaleMode::none, 0.01, 0.15)),
                   ConfigError, "density +- epsilon inside (0, 1), got density 0.1 and epsilon 0.15");
  EXPECT_THROW_MSG(validate(sparsify_params(SparsifyMethod::magnitude_outliers, 0.5, RescaleMode::none, 1.5)),
                   ConfigError, "gamma must lie in [0, 1], got 1.5");
  EXPECT_NO_THROW(validate(sparsify_params(SparsifyMethod::della_magprune, 0.5, RescaleMode::l1)));
  const Tensor one = {1.0f};
  const Tensor two = {2.0f};
  Tensor linear_out(1);
  EXPECT_THROW_MSG(linear_block(std::vector<double>{1.0, -1.0}, std::vector<std::span<const float>>{one, two}, true,
                                linear_out),
                   InputError, "weights sum to 0");
  // magnitude_outliers: n = 100, density 0.9, gamma 0.2 -> drop only the top 10 to keep 90.
  const RankRange range = magnitude_rank_range(sparsify_params(SparsifyMethod::magnitude_outliers, 0.9, RescaleMode::none, 0.2), 100);
  EXPECT_EQ(range.begin, 10u);
  EXPECT_EQ(range.end, 100u);
}

// =============================================================================================
// Against the reference, and identical bytes for every block split
// =============================================================================================

TEST(merge_reference, task_vector_methods) {
  test::ScratchDir scratch("merge-gta");
  std::mt19937 rng(2024);
  const std::uint64_t seed = 1234;
  struct Pending {
    fs::path dir;
    std::string what;
    GtaResult ours;
    std::vector<Tensor> taus;
  };
  std::vector<Pending> pending;
  std::vector<fs::path> dirs;
  const std::vector<double> weights = {0.6, 1.1, 0.8};
  for (const Shape& shape : test_shapes) {
    for (const bool quantised : {false, true}) {
      const Tensor base = random_tensor(rng, shape.numel(), 1.0f);
      const std::vector<Tensor> thetas = fine_tunes(rng, base, 3, quantised);
      const std::string tensor_name = "layers." + shape.text() + ".weight";
      for (const GtaMethod& method : gta_methods()) {
        const std::string what = method.name + " " + shape.text() + (quantised ? " quantised" : "");
        GtaResult first;
        const auto splits = block_splits(shape);
        for (std::size_t split_idx = 0; split_idx < splits.size(); ++split_idx) {
          GtaResult result = run_gta(method, weights, base, thetas, shape, splits[split_idx], tensor_name, seed);
          if (split_idx == 0) {
            first = result;
          } else {
            expect_same_bytes(result.out, first.out, what + " split " + std::to_string(split_idx));
          }
        }
        const fs::path dir = scratch.path() / (method.name + "-" + shape.text() + (quantised ? "-q" : ""));
        fs::create_directories(dir);
        write_npy(dir / "base.npy", base, shape.dims());
        nlohmann::json models = nlohmann::json::array();
        nlohmann::json sparsify = nlohmann::json::array();
        for (std::size_t model_idx = 0; model_idx < thetas.size(); ++model_idx) {
          write_npy(dir / ("m" + std::to_string(model_idx) + ".npy"), thetas[model_idx], shape.dims());
          models.push_back("m" + std::to_string(model_idx) + ".npy");
          sparsify.push_back(sparsify_json(method.sparsify));
        }
        static const std::map<ConsensusMethod, std::string> consensus = {
            {ConsensusMethod::none, "none"}, {ConsensusMethod::sum, "sum"}, {ConsensusMethod::count, "count"}};
        write_case(dir, {{"method", "gta"}, {"base", "base.npy"}, {"models", models}, {"weights", weights},
                         {"sparsify", sparsify}, {"consensus", consensus.at(method.combine.consensus)},
                         {"normalize", method.combine.normalize}, {"lambda", method.combine.lambda},
                         {"seed", seed}, {"tensor_name", tensor_name}, {"out", "out.npy"}});
        dirs.push_back(dir);
        std::vector<Tensor> taus(thetas.size(), Tensor(base.size()));
        for (std::size_t model_idx = 0; model_idx < thetas.size(); ++model_idx) task_vector(thetas[model_idx], base, taus[model_idx]);
        pending.push_back({dir, what, first, taus});
      }
    }
  }
  run_reference(dirs);
  for (const auto& item : pending) {
    expect_close(item.ours.out, read_npy_f32(item.dir / "out.npy"), item.what);
    for (std::size_t model_idx = 0; model_idx < item.ours.masks.size(); ++model_idx) {
      // Masks: the same elements kept, bit for bit (ours records kept non-zero elements).
      auto reference_mask = read_npy_u8(item.dir / ("mask" + std::to_string(model_idx) + ".npy"));
      ASSERT_EQ(reference_mask.size(), item.taus[model_idx].size()) << item.what;
      for (std::size_t element_idx = 0; element_idx < reference_mask.size(); ++element_idx) {
        if (item.taus[model_idx][element_idx] == 0.0f) reference_mask[element_idx] = 0;
      }
      EXPECT_EQ(item.ours.masks[model_idx], reference_mask) << item.what << " mask of model " << model_idx;
    }
  }
}

TEST(merge_reference, linear) {
  test::ScratchDir scratch("merge-linear");
  std::mt19937 rng(31);
  const Shape shape{9, 11, false};
  const Tensor base = random_tensor(rng, shape.numel(), 1.0f);
  const std::vector<Tensor> thetas = fine_tunes(rng, base, 3, false);
  const std::vector<double> weights = {0.2, 0.5, 0.9};
  Tensor ours(shape.numel());
  const auto splits = block_splits(shape);
  for (const auto& block : splits[2]) {
    std::vector<std::span<const float>> spans;
    for (const auto& theta : thetas) spans.push_back(sub(theta, block));
    linear_block(weights, spans, true, sub(ours, block));
  }
  const fs::path dir = scratch.path() / "linear";
  fs::create_directories(dir);
  nlohmann::json models = nlohmann::json::array();
  for (std::size_t model_idx = 0; model_idx < thetas.size(); ++model_idx) {
    write_npy(dir / ("m" + std::to_string(model_idx) + ".npy"), thetas[model_idx], shape.dims());
    models.push_back("m" + std::to_string(model_idx) + ".npy");
  }
  write_case(dir, {{"method", "linear"}, {"models", models}, {"weights", weights}, {"normalize", true}, {"out", "out.npy"}});
  run_reference({dir});
  expect_close(ours, read_npy_f32(dir / "out.npy"), "linear");
}

TEST(merge_reference, ties_global_scope) {
  test::ScratchDir scratch("merge-ties-global");
  std::mt19937 rng(77);
  const std::vector<Shape> shapes = {{6, 10, false}, {1, 23, true}};
  const std::vector<double> weights = {1.0, 1.0, 1.0};
  const std::vector<double> densities = {0.2, 0.35, 0.5};
  const double lambda = 0.9;
  for (const bool quantised : {false, true}) {
    std::vector<Tensor> bases;
    std::vector<std::vector<Tensor>> thetas;
    for (const auto& shape : shapes) {
      bases.push_back(random_tensor(rng, shape.numel(), 1.0f));
      thetas.push_back(fine_tunes(rng, bases.back(), 3, quantised));
    }
    std::uint64_t n_total = 0;
    for (const auto& shape : shapes) n_total += shape.numel();
    std::vector<Tensor> first_outputs;
    for (std::size_t split_idx = 0; split_idx < 3; ++split_idx) {
      auto split_of = [&](std::size_t tensor_idx) {
        const auto splits = block_splits(shapes[tensor_idx]);
        return splits[std::min(split_idx, splits.size() - 1)];
      };
      // Per model: one select over every block of every tensor, ties kept.
      std::vector<SparsifyState> states(3);
      for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
        RadixSelect select(n_total, static_cast<std::uint64_t>(densities[model_idx] * static_cast<double>(n_total)));
        while (!select.done()) {
          std::vector<std::uint64_t> total(select.n_bin(), 0);
          for (std::size_t tensor_idx = 0; tensor_idx < shapes.size(); ++tensor_idx) {
            for (const auto& block : split_of(tensor_idx)) {
              select.histogram_delta(sub(thetas[tensor_idx][model_idx], block), sub(bases[tensor_idx], block), total);
            }
          }
          select.narrow(total);
        }
        states[model_idx].upper = select.cut().with_all_ties();
      }
      const SparsifyParams params = sparsify_params(SparsifyMethod::magnitude, 0.5, RescaleMode::none);
      auto trimmed_block = [&](std::size_t tensor_idx, const std::pair<std::size_t, std::size_t>& block) {
        std::vector<Tensor> trimmed;
        for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
          Tensor tau(block.second - block.first);
          task_vector(sub(thetas[tensor_idx][model_idx], block), sub(bases[tensor_idx], block), tau);
          Tensor kept(tau.size());
          sparsify_block(params, states[model_idx], {}, {block.first, 1}, tau, kept);
          trimmed.push_back(kept);
        }
        return trimmed;
      };
      std::int64_t sign_sum = 0;
      for (std::size_t tensor_idx = 0; tensor_idx < shapes.size(); ++tensor_idx) {
        for (const auto& block : split_of(tensor_idx)) {
          const auto trimmed = trimmed_block(tensor_idx, block);
          sign_sum += ties_global_sign_sum(weights, std::vector<std::span<const float>>(trimmed.begin(), trimmed.end()));
        }
      }
      const int majority = (sign_sum > 0) - (sign_sum < 0);
      std::vector<Tensor> outputs;
      for (std::size_t tensor_idx = 0; tensor_idx < shapes.size(); ++tensor_idx) {
        Tensor out(shapes[tensor_idx].numel());
        for (const auto& block : split_of(tensor_idx)) {
          const auto trimmed = trimmed_block(tensor_idx, block);
          ties_global_block(weights, std::vector<std::span<const float>>(trimmed.begin(), trimmed.end()), majority, lambda,
                            sub(bases[tensor_idx], block), sub(out, block));
        }
        outputs.push_back(out);
      }
      if (split_idx == 0) {
        first_outputs = outputs;
      } else {
        for (std::size_t tensor_idx = 0; tensor_idx < shapes.size(); ++tensor_idx) {
          expect_same_bytes(outputs[tensor_idx], first_outputs[tensor_idx], "ties global split");
        }
      }
    }
    const fs::path dir = scratch.path() / (quantised ? "q" : "plain");
    fs::create_directories(dir);
    nlohmann::json tensors = nlohmann::json::array();
    for (std::size_t tensor_idx = 0; tensor_idx < shapes.size(); ++tensor_idx) {
      const std::string prefix = "t" + std::to_string(tensor_idx);
      write_npy(dir / (prefix + "base.npy"), bases[tensor_idx], shapes[tensor_idx].dims());
      nlohmann::json models = nlohmann::json::array();
      for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
        const std::string name = prefix + "m" + std::to_string(model_idx) + ".npy";
        write_npy(dir / name, thetas[tensor_idx][model_idx], shapes[tensor_idx].dims());
        models.push_back(name);
      }
      tensors.push_back({{"base", prefix + "base.npy"}, {"models", models}, {"out", prefix + "out.npy"}});
    }
    write_case(dir, {{"method", "ties_global"}, {"tensors", tensors}, {"weights", weights}, {"densities", densities},
                     {"lambda", lambda}});
    run_reference({dir});
    for (std::size_t tensor_idx = 0; tensor_idx < shapes.size(); ++tensor_idx) {
      expect_close(first_outputs[tensor_idx], read_npy_f32(dir / ("t" + std::to_string(tensor_idx) + "out.npy")),
                   std::string("ties global tensor ") + std::to_string(tensor_idx) + (quantised ? " quantised" : ""));
    }
  }
}

TEST(merge_reference, slerp_model_stock_fisher) {
  test::ScratchDir scratch("merge-interp");
  std::mt19937 rng(404);
  std::vector<fs::path> dirs;
  struct Check {
    fs::path file;
    Tensor ours;
    std::string what;
  };
  std::vector<Check> checks;
  for (const Shape& shape : test_shapes) {
    const auto splits = block_splits(shape);
    const Tensor base = random_tensor(rng, shape.numel(), 1.0f);
    const std::vector<Tensor> thetas = fine_tunes(rng, base, 3, false);
    const fs::path dir = scratch.path() / shape.text();
    fs::create_directories(dir);
    write_npy(dir / "base.npy", base, shape.dims());
    nlohmann::json models = nlohmann::json::array();
    for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
      write_npy(dir / ("m" + std::to_string(model_idx) + ".npy"), thetas[model_idx], shape.dims());
      models.push_back("m" + std::to_string(model_idx) + ".npy");
    }
    // slerp between base and model 0 (t = 0.3), and between two unrelated tensors (large angle).
    const Tensor other = random_tensor(rng, shape.numel(), 1.0f);
    write_npy(dir / "other.npy", other, shape.dims());
    for (const auto& [b_name, b_tensor] : std::vector<std::pair<std::string, const Tensor*>>{{"m0.npy", &thetas[0]}, {"other.npy", &other}}) {
      Tensor first;
      for (const auto& blocks : splits) {
        SlerpStats stats;
        for (const auto& block : blocks) {
          SlerpStats part;
          part.add_block(sub(base, block), sub(*b_tensor, block));
          stats.merge(part);
        }
        const auto coefficients = slerp_coefficients(0.3, stats);
        Tensor out(shape.numel());
        for (const auto& block : blocks) interpolate_block(coefficients, sub(base, block), sub(*b_tensor, block), sub(out, block));
        if (first.empty()) first = out;
        expect_same_bytes(out, first, "slerp split " + shape.text());
      }
      const fs::path case_dir = dir / ("slerp-" + b_name.substr(0, b_name.size() - 4));
      write_case(case_dir, {{"method", "slerp"}, {"t", 0.3}, {"a", "../base.npy"}, {"b", "../" + b_name}, {"out", "out.npy"}});
      dirs.push_back(case_dir);
      checks.push_back({case_dir / "out.npy", first, "slerp to " + b_name + " " + shape.text()});
    }
    // model_stock, whole tensor and filter_wise.
    const std::vector<std::span<const float>> all(thetas.begin(), thetas.end());
    for (const bool filter_wise : {false, true}) {
      Tensor first;
      for (const auto& blocks : splits) {
        Tensor out(shape.numel());
        if (filter_wise) {
          for (const auto& block : blocks) {
            std::vector<std::span<const float>> spans;
            for (const auto& theta : thetas) spans.push_back(sub(theta, block));
            model_stock_rows_block(sub(base, block), spans, shape.row_length(), sub(out, block));
          }
        } else {
          ModelStockStats stats(3);
          for (const auto& block : blocks) {
            std::vector<std::span<const float>> spans;
            for (const auto& theta : thetas) spans.push_back(sub(theta, block));
            ModelStockStats part(3);
            part.add_block(sub(base, block), spans);
            stats.merge(part);
          }
          const double t = model_stock_t(stats);
          for (const auto& block : blocks) {
            std::vector<std::span<const float>> spans;
            for (const auto& theta : thetas) spans.push_back(sub(theta, block));
            model_stock_block(t, sub(base, block), spans, sub(out, block));
          }
        }
        if (first.empty()) first = out;
        expect_same_bytes(out, first, "model_stock split " + shape.text());
      }
      const fs::path case_dir = dir / (filter_wise ? "stock-rows" : "stock");
      write_case(case_dir, {{"method", "model_stock"}, {"base", "../base.npy"}, {"models", {"../m0.npy", "../m1.npy", "../m2.npy"}},
                            {"filter_wise", filter_wise}, {"out", "out.npy"}});
      dirs.push_back(case_dir);
      checks.push_back({case_dir / "out.npy", first, std::string("model_stock ") + (filter_wise ? "rows " : "") + shape.text()});
    }
    // fisher, with per-model normalisation from reduced sums of squares; some Fisher values below the floor.
    std::vector<Tensor> fishers;
    for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
      Tensor fisher_values = random_tensor(rng, shape.numel(), 1.0f);
      for (std::size_t element_idx = 0; element_idx < fisher_values.size(); ++element_idx) {
        fisher_values[element_idx] = element_idx % 5 == 0 ? 1e-9f : fisher_values[element_idx] * fisher_values[element_idx];
      }
      fishers.push_back(fisher_values);
      write_npy(dir / ("f" + std::to_string(model_idx) + ".npy"), fisher_values, shape.dims());
    }
    const std::vector<double> importance = {1.0, 0.5, 2.0};
    Tensor first;
    for (const auto& blocks : splits) {
      std::vector<double> coefficients;
      for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
        ExactSum squares;
        for (const auto& block : blocks) {
          ExactSum part;
          part.add_squares(sub(fishers[model_idx], block));
          squares.merge(part);
        }
        coefficients.push_back(importance[model_idx] / std::sqrt(squares.value()));
      }
      Tensor out(shape.numel());
      for (const auto& block : blocks) {
        std::vector<std::span<const float>> theta_spans;
        std::vector<std::span<const float>> fisher_spans;
        for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
          theta_spans.push_back(sub(thetas[model_idx], block));
          fisher_spans.push_back(sub(fishers[model_idx], block));
        }
        fisher_block(coefficients, theta_spans, fisher_spans, 1e-6, sub(out, block));
      }
      if (first.empty()) first = out;
      expect_same_bytes(out, first, "fisher split " + shape.text());
    }
    const fs::path case_dir = dir / "fisher";
    write_case(case_dir, {{"method", "fisher"}, {"models", {"../m0.npy", "../m1.npy", "../m2.npy"}},
                          {"fishers", {"../f0.npy", "../f1.npy", "../f2.npy"}}, {"coefficients", importance},
                          {"normalize", true}, {"floor", 1e-6}, {"out", "out.npy"}});
    dirs.push_back(case_dir);
    checks.push_back({case_dir / "out.npy", first, "fisher " + shape.text()});
  }
  run_reference(dirs);
  for (const auto& check : checks) expect_close(check.ours, read_npy_f32(check.file), check.what);
}

TEST(merge_reference, regmean_and_lora) {
  test::ScratchDir scratch("merge-regmean");
  std::mt19937 rng(808);
  const std::size_t d_in = 12;
  const std::size_t d_out = 9;
  std::vector<fs::path> dirs;
  // RegMean with alpha 0.8 on Gram matrices from different inputs per model.
  std::vector<Tensor> grams;
  std::vector<Tensor> weights;
  const fs::path regmean_dir = scratch.path() / "regmean";
  fs::create_directories(regmean_dir);
  for (std::size_t model_idx = 0; model_idx < 3; ++model_idx) {
    const std::size_t n_sample = 30;
    const Tensor x = random_tensor(rng, n_sample * d_in, 1.0f + static_cast<float>(model_idx));
    Tensor gram(d_in * d_in);
    for (std::size_t row = 0; row < d_in; ++row) {
      for (std::size_t col = 0; col < d_in; ++col) {
        double total = 0.0;
        for (std::size_t sample = 0; sample < n_sample; ++sample) total += static_cast<double>(x[sample * d_in + row]) * x[sample * d_in + col];
        gram[row * d_in + col] = static_cast<float>(total / static_cast<double>(n_sample));
      }
    }
    grams.push_back(gram);
    weights.push_back(random_tensor(rng, d_out * d_in, 1.0f));
    write_npy(regmean_dir / ("g" + std::to_string(model_idx) + ".npy"), gram, {d_in, d_in});
    write_npy(regmean_dir / ("w" + std::to_string(model_idx) + ".npy"), weights.back(), {d_out, d_in});
  }
  const RegmeanSolver solver(std::vector<std::span<const float>>(grams.begin(), grams.end()), d_in, 0.8);
  Tensor regmean_out(d_out * d_in);
  for (std::size_t row_begin = 0; row_begin < d_out; row_begin += 4) {  // row blocks of 4, 4, 1
    const std::size_t n_row = std::min<std::size_t>(4, d_out - row_begin);
    std::vector<std::span<const float>> spans;
    for (const auto& weight : weights) spans.push_back(std::span<const float>(weight).subspan(row_begin * d_in, n_row * d_in));
    solver.apply(spans, n_row, std::span<float>(regmean_out).subspan(row_begin * d_in, n_row * d_in));
  }
  Tensor regmean_whole(d_out * d_in);
  solver.apply(std::vector<std::span<const float>>(weights.begin(), weights.end()), d_out, regmean_whole);
  expect_close(regmean_out, regmean_whole, "regmean row blocks vs whole", 1e-12);
  write_case(regmean_dir, {{"method", "regmean"}, {"models", {"w0.npy", "w1.npy", "w2.npy"}},
                           {"grams", {"g0.npy", "g1.npy", "g2.npy"}}, {"alpha", 0.8}, {"out", "out.npy"}});
  dirs.push_back(regmean_dir);
  // LoRA: materialised delta and truncated SVD of two adapters.
  const fs::path lora_dir = scratch.path() / "lora";
  fs::create_directories(lora_dir);
  const Tensor a1 = random_tensor(rng, 4 * d_in, 1.0f);
  const Tensor b1 = random_tensor(rng, d_out * 4, 1.0f);
  const Tensor a2 = random_tensor(rng, 2 * d_in, 1.0f);
  const Tensor b2 = random_tensor(rng, d_out * 2, 1.0f);
  write_npy(lora_dir / "a1.npy", a1, {4, d_in});
  write_npy(lora_dir / "b1.npy", b1, {d_out, 4});
  write_npy(lora_dir / "a2.npy", a2, {2, d_in});
  write_npy(lora_dir / "b2.npy", b2, {d_out, 2});
  Tensor delta(d_out * d_in);
  lora_delta_rows(b1, a1, 4, d_in, 2.0, delta);
  write_case(lora_dir / "delta", {{"method", "lora_delta"}, {"a", "../a1.npy"}, {"b", "../b1.npy"}, {"scale", 2.0}, {"out", "out.npy"}});
  dirs.push_back(lora_dir / "delta");
  const std::vector<LoraInput> inputs = {{a1, b1, 4, 2.0}, {a2, b2, 2, 0.5}};
  const LoraFactors svd = lora_svd(inputs, d_in, d_out, 3);
  EXPECT_EQ(svd.rank, 3u);
  write_case(lora_dir / "svd", {{"method", "lora_svd"},
                                {"adapters", {{{"a", "../a1.npy"}, {"b", "../b1.npy"}, {"scale", 2.0}},
                                              {{"a", "../a2.npy"}, {"b", "../b2.npy"}, {"scale", 0.5}}}},
                                {"rank", 3}, {"out_a", "a.npy"}, {"out_b", "b.npy"}});
  dirs.push_back(lora_dir / "svd");
  // Full rank (6 = 4 + 2): the truncated SVD reproduces the exact concatenation's product.
  const LoraFactors full = lora_svd(inputs, d_in, d_out, 10);
  EXPECT_EQ(full.rank, 6u);
  const LoraFactors cat = lora_cat(inputs, d_in, d_out);
  Tensor from_svd(d_out * d_in);
  Tensor from_cat(d_out * d_in);
  lora_delta_rows(full.b, full.a, full.rank, d_in, 1.0, from_svd);
  lora_delta_rows(cat.b, cat.a, cat.rank, d_in, 1.0, from_cat);
  expect_close(from_svd, from_cat, "lora_svd at full rank vs lora_cat", 1e-5);
  run_reference(dirs);
  expect_close(regmean_out, read_npy_f32(regmean_dir / "out.npy"), "regmean");
  // f32 GEMM over rank 4 vs float64: compared normwise (max error within 1e-6 of the largest value).
  const Tensor delta_reference = read_npy_f32(lora_dir / "delta" / "out.npy");
  double delta_scale = 0.0;
  double delta_error = 0.0;
  for (std::size_t element_idx = 0; element_idx < delta.size(); ++element_idx) {
    delta_scale = std::max(delta_scale, std::abs(static_cast<double>(delta_reference[element_idx])));
    delta_error = std::max(delta_error, std::abs(static_cast<double>(delta[element_idx]) - delta_reference[element_idx]));
  }
  EXPECT_LE(delta_error, 1e-6 * delta_scale);
  expect_close(svd.b, read_npy_f32(lora_dir / "svd" / "b.npy"), "lora_svd B", 1e-5);
  expect_close(svd.a, read_npy_f32(lora_dir / "svd" / "a.npy"), "lora_svd A", 1e-5);
}
