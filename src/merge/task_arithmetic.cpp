// Task-vector merge kernels: sparsification (magnitude, random, outliers, della), sign consensus,
// rescaling and the combine step of mergekit's generalized task arithmetic, plus global TIES.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <optional>
#include <string>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

namespace {

void check_same_size(const char* what, std::size_t expected, std::size_t actual) {
  if (expected != actual) {
    throw Error(fmt::format("{}: block of {} elements where {} were expected", what, actual, expected));
  }
}

void check_blocks(const char* what, std::size_t n_model, std::span<const std::span<const float>> blocks,
                  std::size_t n_element) {
  if (blocks.size() != n_model) {
    throw Error(fmt::format("{}: {} input blocks for {} weights", what, blocks.size(), n_model));
  }
  for (const auto& block : blocks) check_same_size(what, n_element, block.size());
}

int sign_of(double value) { return (value > 0.0) - (value < 0.0); }

bool is_magnitude(SparsifyMethod method) {
  return method == SparsifyMethod::magnitude || method == SparsifyMethod::magnitude_outliers;
}

/// 1 / divisor when divisor is a power of two (then x * (1 / divisor) is the same real number as
/// x / divisor, so both round to the same double: the multiply gives identical bits, and it
/// vectorises at a fraction of a division's cost); nothing otherwise.
std::optional<double> exact_inverse(double divisor) {
  if (!std::isfinite(divisor) || divisor <= 0.0) return std::nullopt;
  int exponent = 0;
  if (std::frexp(divisor, &exponent) != 0.5) return std::nullopt;
  const double inverse = 1.0 / divisor;
  if (!std::isnormal(inverse)) return std::nullopt;
  return inverse;
}

/// f32 result of a kept element under the rescale mode; p is the keep probability.
float rescaled(float value, RescaleMode mode, double p, double l1_scale) {
  switch (mode) {
    case RescaleMode::none:
      return value;
    case RescaleMode::inverse_density:
      return static_cast<float>(static_cast<double>(value) / p);
    case RescaleMode::l1:
      return static_cast<float>(static_cast<double>(value) * l1_scale);
  }
  return value;
}

/// value where keep, else +0.0f, by masking its bits: a select of a value computed with floating
/// point is turned back into a branch (the arithmetic might trap), which blocks vectorisation and
/// mispredicts on random masks; the mask is computed unconditionally.
inline float keep_or_zero(bool keep, float value) {
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(value) & (0u - static_cast<std::uint32_t>(keep)));
}

/// out = rescale(tau) where |tau|'s key lies inside the upper cut and outside the lower one, else 0,
/// with the elements equal to a cut key inside that cut when upper_ties_in (lower_ties_in) is set;
/// returns whether some key equals a cut key. Plain pointers and a local flag so that the compiler
/// vectorises the loop.
template <class Rescale>
bool keep_above_cut(std::span<const float> tau, std::span<float> out, std::uint32_t upper_key,
                    std::uint32_t lower_key, bool upper_ties_in, bool lower_ties_in, Rescale rescale_fn) {
  const float* __restrict in = tau.data();
  float* __restrict result = out.data();
  const std::size_t n = tau.size();
  std::uint32_t tie = 0;
  for (std::size_t idx = 0; idx < n; ++idx) {
    const std::uint32_t key = magnitude_key(in[idx]);
    const bool at_upper = key == upper_key;
    const bool at_lower = key == lower_key;
    tie |= static_cast<std::uint32_t>(at_upper) | static_cast<std::uint32_t>(at_lower);
    const bool in_upper = (key > upper_key) | (at_upper & upper_ties_in);
    const bool in_lower = (key > lower_key) | (at_lower & lower_ties_in);
    result[idx] = keep_or_zero(in_upper & !in_lower, rescale_fn(in[idx]));
  }
  return tie != 0;
}

/// Where a block's elements equal to a cut's key fall: all inside the cut (their ordinals, from
/// first_ordinal on, all below the cut's tie count), all outside, or some of each.
enum class TieFate { inside, outside, mixed };
TieFate tie_fate(const RankCut& cut, std::uint64_t first_ordinal, std::span<const float> tau) {
  if (first_ordinal >= cut.n_tie_inside) return TieFate::outside;
  const std::uint64_t n_tie = count_key(tau, cut.key);
  return n_tie <= cut.n_tie_inside - first_ordinal ? TieFate::inside : TieFate::mixed;
}

}  // namespace

void validate(const SparsifyParams& params) {
  if (!std::isfinite(params.density) || params.density < 0.0) {
    throw ConfigError(fmt::format("density must be a finite number >= 0, got {}", params.density));
  }
  if (params.method == SparsifyMethod::magnitude_outliers &&
      !(std::isfinite(params.gamma) && params.gamma >= 0.0 && params.gamma <= 1.0)) {
    throw ConfigError(fmt::format("gamma must lie in [0, 1], got {}", params.gamma));
  }
  if (params.method == SparsifyMethod::della_magprune) {
    if (!(std::isfinite(params.epsilon) && params.epsilon >= 0.0)) {
      throw ConfigError(fmt::format("epsilon must be a finite number >= 0, got {}", params.epsilon));
    }
    if (params.density > 0.0 && params.density < 1.0 &&
        (params.density + params.epsilon >= 1.0 || params.density - params.epsilon <= 0.0)) {
      throw ConfigError(fmt::format("della needs density +- epsilon inside (0, 1), got density {} and epsilon {}",
                                    params.density, params.epsilon));
    }
  }
}

RankRange magnitude_rank_range(const SparsifyParams& params, std::uint64_t n) {
  if (!is_magnitude(params.method) || params.density >= 1.0) return {0, n};
  const auto n_keep = static_cast<std::uint64_t>(params.density * static_cast<double>(n));
  if (params.method == SparsifyMethod::magnitude) return {0, n_keep};
  // mergekit: drop int(gamma n) largest, then the smallest n - n_keep - n_top; if that is negative,
  // drop fewer of the largest so that n_keep remain.
  auto n_top = static_cast<std::uint64_t>(params.gamma * static_cast<double>(n));
  if (n_keep + n_top > n) n_top = n - n_keep;
  return {n_top, n_top + n_keep};
}

void task_vector(std::span<const float> theta, std::span<const float> base, std::span<float> out) {
  check_same_size("task_vector", theta.size(), base.size());
  check_same_size("task_vector", theta.size(), out.size());
  for (std::size_t element_idx = 0; element_idx < theta.size(); ++element_idx) {
    out[element_idx] = theta[element_idx] - base[element_idx];
  }
}

void sparsify_block(const SparsifyParams& params, const SparsifyState& state, const BlockTies& ties,
                    const BlockPosition& position, std::span<const float> tau, std::span<float> out,
                    bool rescale) {
  check_same_size("sparsify_block", tau.size(), out.size());
  const RescaleMode mode = rescale ? params.rescale : RescaleMode::none;
  if (params.method == SparsifyMethod::none || params.density >= 1.0) {
    std::copy(tau.begin(), tau.end(), out.begin());
    return;
  }
  switch (params.method) {
    case SparsifyMethod::none:
      break;
    case SparsifyMethod::magnitude:
    case SparsifyMethod::magnitude_outliers: {
      // 1. Every element whose key differs from both cut keys is decided by comparisons alone, and
      //    so are the ties of a cut when the block's ties all lie on one side of it (every block
      //    but the one where the cut falls): a branch-free pass the compiler vectorises, which also
      //    notes whether a tie occurs.
      const std::uint32_t upper_key = state.upper.key;
      const std::uint32_t lower_key = state.lower.key;
      const double density = params.density;
      const double l1_scale = state.l1_scale;
      const TieFate upper_fate = tie_fate(state.upper, ties.upper, tau);
      const TieFate lower_fate = tie_fate(state.lower, ties.lower, tau);
      const bool ties_decided = upper_fate != TieFate::mixed && lower_fate != TieFate::mixed;
      const bool upper_in = ties_decided && upper_fate == TieFate::inside;
      const bool lower_in = ties_decided && lower_fate == TieFate::inside;
      bool any_tie = false;
      const auto keep = [&](auto rescale_fn) {
        return keep_above_cut(tau, out, upper_key, lower_key, upper_in, lower_in, rescale_fn);
      };
      switch (mode) {
        case RescaleMode::none:
          any_tie = keep([](float value) { return value; });
          break;
        case RescaleMode::inverse_density:
          if (const std::optional<double> inverse = exact_inverse(density)) {
            const double factor = *inverse;
            any_tie = keep([factor](float value) { return static_cast<float>(static_cast<double>(value) * factor); });
          } else {
            any_tie = keep([density](float value) { return static_cast<float>(static_cast<double>(value) / density); });
          }
          break;
        case RescaleMode::l1:
          any_tie = keep([l1_scale](float value) { return static_cast<float>(static_cast<double>(value) * l1_scale); });
          break;
      }
      // 2. Elements equal to a cut key: inside the cut while their ordinal among the ties (counted
      //    from this block's first element) is below the cut's tie count.
      if (any_tie && !ties_decided) {
        std::uint64_t upper_ordinal = ties.upper;
        std::uint64_t lower_ordinal = ties.lower;
        for (std::size_t element_idx = 0; element_idx < tau.size(); ++element_idx) {
          const std::uint32_t key = magnitude_key(tau[element_idx]);
          if (key != upper_key && key != lower_key) continue;
          const bool in_upper = state.upper.contains(key, upper_ordinal);
          const bool in_lower = state.lower.contains(key, lower_ordinal);
          upper_ordinal += key == upper_key ? 1 : 0;
          lower_ordinal += key == lower_key ? 1 : 0;
          out[element_idx] = in_upper && !in_lower ? rescaled(tau[element_idx], mode, density, l1_scale) : 0.0f;
        }
      }
      break;
    }
    case SparsifyMethod::random: {
      constexpr std::size_t chunk = 1024;
      alignas(64) std::array<float, chunk> uniform;
      const double density = params.density;
      const double l1_scale = state.l1_scale;
      const float* __restrict in = tau.data();
      float* __restrict result = out.data();
      for (std::size_t chunk_begin = 0; chunk_begin < tau.size(); chunk_begin += chunk) {
        const std::size_t n_chunk = std::min(chunk, tau.size() - chunk_begin);
        uniform_block(state.key, RandomStream::dare, position.first_element + chunk_begin,
                      std::span<float>(uniform).first(n_chunk));
        // Branch-free: every element is rescaled and the draw selects it or 0 (a branch on a coin
        // flip mispredicts half the time); the rescale mode is chosen outside the loop.
        const auto keep_rescaled = [&](auto rescale_fn) {
          const float* __restrict draws = uniform.data();
          const float* __restrict chunk_in = in + chunk_begin;
          float* __restrict chunk_out = result + chunk_begin;
          for (std::size_t chunk_idx = 0; chunk_idx < n_chunk; ++chunk_idx) {
            const float value = rescale_fn(chunk_in[chunk_idx]);
            chunk_out[chunk_idx] = keep_or_zero(static_cast<double>(draws[chunk_idx]) < density, value);
          }
        };
        switch (mode) {
          case RescaleMode::none: keep_rescaled([](float value) { return value; }); break;
          case RescaleMode::inverse_density:
            if (const std::optional<double> inverse = exact_inverse(density)) {
              const double factor = *inverse;
              keep_rescaled([factor](float value) { return static_cast<float>(static_cast<double>(value) * factor); });
            } else {
              keep_rescaled([density](float value) { return static_cast<float>(static_cast<double>(value) / density); });
            }
            break;
          case RescaleMode::l1:
            keep_rescaled([l1_scale](float value) { return static_cast<float>(static_cast<double>(value) * l1_scale); });
            break;
        }
      }
      break;
    }
    case SparsifyMethod::della_magprune: {
      if (params.density <= 0.0) {
        std::fill(out.begin(), out.end(), 0.0f);
        break;
      }
      const std::uint64_t row_length = position.row_length;
      if (row_length == 0 || position.first_element % row_length != 0 || tau.size() % row_length != 0) {
        throw Error(fmt::format("della_magprune: block [{}, +{}) does not hold whole rows of {} elements",
                                position.first_element, tau.size(), row_length));
      }
      std::vector<float> uniform(tau.size());
      uniform_block(state.key, RandomStream::della, position.first_element, uniform);
      // Ascending order by (|x|, then higher index first), so that among equal magnitudes the lower
      // index ranks higher, as everywhere else.
      std::vector<std::uint64_t> order(row_length);
      for (std::size_t row_begin = 0; row_begin < tau.size(); row_begin += row_length) {
        for (std::uint64_t column_idx = 0; column_idx < row_length; ++column_idx) {
          order[column_idx] = (static_cast<std::uint64_t>(magnitude_key(tau[row_begin + column_idx])) << 32) |
                              (0xffffffffu - column_idx);
        }
        std::sort(order.begin(), order.end());
        for (std::uint64_t rank_idx = 0; rank_idx < row_length; ++rank_idx) {
          const std::uint64_t column_idx = 0xffffffffu - (order[rank_idx] & 0xffffffffu);
          const double rank_norm =
              row_length == 1 ? 0.5 : static_cast<double>(rank_idx) / static_cast<double>(row_length - 1);
          const double p_keep = (params.density - params.epsilon) + rank_norm * 2.0 * params.epsilon;
          const std::size_t element_idx = row_begin + column_idx;
          const bool keep = static_cast<double>(uniform[element_idx]) < p_keep;
          out[element_idx] = keep ? rescaled(tau[element_idx], mode, p_keep, state.l1_scale) : 0.0f;
        }
      }
      break;
    }
  }
}

void add_l1_rescale_stats(const SparsifyParams& params, const SparsifyState& state, const BlockTies& ties,
                          const BlockPosition& position, std::span<const float> tau, ExactSum& before,
                          ExactSum& after) {
  std::vector<float> masked(tau.size());
  sparsify_block(params, state, ties, position, tau, masked, false);
  before.add_abs(tau);
  after.add_abs(masked);
}

double l1_rescale_scale(const ExactSum& before, const ExactSum& after) {
  const double l1_before = before.value();
  const double l1_after = after.value();
  if (l1_before < 1e-7 || l1_after < 1e-7) return 1.0;
  return l1_before / l1_after;
}

void combine_block(const CombineParams& params, std::span<const double> weights,
                   std::span<const std::span<const float>> deltas, std::span<const float> base,
                   std::span<float> out) {
  const std::size_t n_model = weights.size();
  check_same_size("combine_block", base.size(), out.size());
  check_blocks("combine_block", n_model, deltas, base.size());
  double weight_sum = 0.0;
  for (const double weight : weights) weight_sum += weight;
  const double plain_divisor = std::abs(weight_sum) < 1e-8 ? 1.0 : weight_sum;
  // Tiles of elements with the model loop outside and branch-free selects inside, so the compiler
  // vectorises every loop (a per-element model loop with the election's branches ran ~30 ns per
  // element). The sums run over models in the same order as the plain definition: same bits.
  constexpr std::size_t kTile = 512;
  std::array<double, kTile> vote;
  std::array<double, kTile> mixed;
  std::array<double, kTile> divisor;
  for (std::size_t tile_begin = 0; tile_begin < base.size(); tile_begin += kTile) {
    const std::size_t n_tile = std::min(kTile, base.size() - tile_begin);
    std::fill_n(mixed.begin(), n_tile, 0.0);
    if (params.consensus == ConsensusMethod::none) {
      for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
        const double weight = weights[model_idx];
        const float* delta = deltas[model_idx].data() + tile_begin;
        for (std::size_t idx = 0; idx < n_tile; ++idx) mixed[idx] += weight * static_cast<double>(delta[idx]);
      }
      std::fill_n(divisor.begin(), n_tile, plain_divisor);
    } else {
      std::fill_n(vote.begin(), n_tile, 0.0);
      for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
        const double weight = weights[model_idx];
        const float* delta = deltas[model_idx].data() + tile_begin;
        if (params.consensus == ConsensusMethod::sum) {
          for (std::size_t idx = 0; idx < n_tile; ++idx) vote[idx] += weight * static_cast<double>(delta[idx]);
        } else {
          for (std::size_t idx = 0; idx < n_tile; ++idx) {
            const double weighted = weight * static_cast<double>(delta[idx]);
            vote[idx] += static_cast<double>(weighted > 0.0) - static_cast<double>(weighted < 0.0);
          }
        }
      }
      // The elected sign is +1 when vote >= 0, else -1; a model agrees when its weighted delta has
      // that sign (zeros never agree). Multiplying by +-1 is exact, so the test is too.
      for (std::size_t idx = 0; idx < n_tile; ++idx) vote[idx] = vote[idx] >= 0.0 ? 1.0 : -1.0;
      std::fill_n(divisor.begin(), n_tile, 0.0);
      for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
        const double weight = weights[model_idx];
        const float* delta = deltas[model_idx].data() + tile_begin;
        for (std::size_t idx = 0; idx < n_tile; ++idx) {
          const double weighted = weight * static_cast<double>(delta[idx]);
          const bool agrees = weighted * vote[idx] > 0.0;
          mixed[idx] += agrees ? weighted : 0.0;
          divisor[idx] += agrees ? weight : 0.0;
        }
      }
      for (std::size_t idx = 0; idx < n_tile; ++idx) divisor[idx] = divisor[idx] == 0.0 ? 1.0 : divisor[idx];
    }
    const float* base_tile = base.data() + tile_begin;
    float* out_tile = out.data() + tile_begin;
    for (std::size_t idx = 0; idx < n_tile; ++idx) {
      double value = params.normalize ? mixed[idx] / divisor[idx] : mixed[idx];
      value *= params.lambda;
      out_tile[idx] = static_cast<float>(static_cast<double>(base_tile[idx]) + value);
    }
  }
}

void linear_block(std::span<const double> weights, std::span<const std::span<const float>> thetas,
                  bool normalize, std::span<float> out) {
  check_blocks("linear_block", weights.size(), thetas, out.size());
  double weight_sum = 0.0;
  for (const double weight : weights) weight_sum += weight;
  if (normalize && std::abs(weight_sum) < 1e-8) {
    throw InputError(fmt::format("linear: the weights sum to {}, which normalize cannot divide by", weight_sum));
  }
  // Tiles with the model loop outside so every loop vectorises; same summation order per element.
  // A power-of-two weight sum (the usual 1) divides by multiplying with its exact inverse.
  const std::optional<double> inverse = normalize ? exact_inverse(weight_sum) : std::optional<double>(1.0);
  constexpr std::size_t kTile = 512;
  alignas(64) std::array<double, kTile> total;
  for (std::size_t tile_begin = 0; tile_begin < out.size(); tile_begin += kTile) {
    const std::size_t n_tile = std::min(kTile, out.size() - tile_begin);
    double* __restrict sum = total.data();
    std::fill_n(sum, n_tile, 0.0);
    for (std::size_t model_idx = 0; model_idx < weights.size(); ++model_idx) {
      const double weight = weights[model_idx];
      const float* __restrict theta = thetas[model_idx].data() + tile_begin;
      for (std::size_t idx = 0; idx < n_tile; ++idx) sum[idx] += weight * static_cast<double>(theta[idx]);
    }
    float* __restrict out_tile = out.data() + tile_begin;
    if (inverse) {
      const double factor = *inverse;
      for (std::size_t idx = 0; idx < n_tile; ++idx) out_tile[idx] = static_cast<float>(sum[idx] * factor);
    } else {
      for (std::size_t idx = 0; idx < n_tile; ++idx) out_tile[idx] = static_cast<float>(sum[idx] / weight_sum);
    }
  }
}

std::int64_t ties_global_sign_sum(std::span<const double> weights,
                                  std::span<const std::span<const float>> trimmed) {
  if (trimmed.empty()) return 0;
  const std::size_t n_element = trimmed.front().size();
  check_blocks("ties_global_sign_sum", weights.size(), trimmed, n_element);
  std::int64_t sign_sum = 0;
  for (std::size_t element_idx = 0; element_idx < n_element; ++element_idx) {
    double total = 0.0;
    for (std::size_t model_idx = 0; model_idx < weights.size(); ++model_idx) {
      total += weights[model_idx] * static_cast<double>(trimmed[model_idx][element_idx]);
    }
    sign_sum += sign_of(total);
  }
  return sign_sum;
}

void ties_global_block(std::span<const double> weights, std::span<const std::span<const float>> trimmed,
                       int majority_sign, double lambda, std::span<const float> base, std::span<float> out) {
  check_same_size("ties_global_block", base.size(), out.size());
  check_blocks("ties_global_block", weights.size(), trimmed, base.size());
  const std::size_t n_model = weights.size();
  std::vector<double> weighted(n_model);
  for (std::size_t element_idx = 0; element_idx < base.size(); ++element_idx) {
    double total = 0.0;
    for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
      weighted[model_idx] = weights[model_idx] * static_cast<double>(trimmed[model_idx][element_idx]);
      total += weighted[model_idx];
    }
    int elected = sign_of(total);
    if (elected == 0) elected = majority_sign;
    double agreeing = 0.0;
    std::int64_t n_agreeing = 0;
    for (std::size_t model_idx = 0; model_idx < n_model; ++model_idx) {
      const bool agrees = elected > 0 ? weighted[model_idx] > 0.0 : weighted[model_idx] < 0.0;
      if (agrees) {
        agreeing += weighted[model_idx];
        ++n_agreeing;
      }
    }
    const double merged = agreeing / static_cast<double>(std::max<std::int64_t>(n_agreeing, 1));
    out[element_idx] = static_cast<float>(static_cast<double>(base[element_idx]) + lambda * merged);
  }
}

}  // namespace moerge::merge
