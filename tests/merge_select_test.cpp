// The engine's fast paths for magnitude and random sparsification, checked against plain
// definitions: WideRadixSelect (two 16-bit passes, local tie counts, interleaved histograms) finds
// the cut a sort finds (and the three-pass RadixSelect finds), sparsify_block decides ties by element order for any block split, and the
// DARE rescale by a power-of-two density gives the bits of the division.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {
namespace {

/// Values with heavy ties (few distinct magnitudes, zeros, both signs) or spread ones.
std::vector<float> make_values(std::size_t n, bool clustered, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> values(n);
  std::uniform_int_distribution<int> small(-4, 4);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (auto& value : values) value = clustered ? static_cast<float>(small(rng)) * 0.0078125f : normal(rng);
  return values;
}

/// The cut by sorting: the key at descending rank cut_rank, and how many elements with that key
/// rank above it (the ties inside).
RankCut sorted_cut(const std::vector<float>& values, std::uint64_t cut_rank) {
  if (cut_rank >= values.size()) return RankCut::everything();
  std::vector<std::uint32_t> keys;
  for (const float value : values) keys.push_back(magnitude_key(value));
  std::sort(keys.begin(), keys.end(), std::greater<>());
  const std::uint32_t key = keys[cut_rank];
  const auto n_above = static_cast<std::uint64_t>(std::count_if(keys.begin(), keys.end(), [&](std::uint32_t k) { return k > key; }));
  return RankCut{key, cut_rank - n_above};
}

/// Runs the select of each cut rank over `blocks` (element ranges, as ranks would hold them), each
/// block folded into its own local histogram; returns the cuts and each block's local ties.
struct SelectResult {
  std::vector<RankCut> cuts;
  std::vector<std::vector<std::uint64_t>> local_ties;  // [cut][block]
};
SelectResult run_selects(const std::vector<float>& values, const std::vector<std::uint64_t>& cut_ranks,
                         const std::vector<std::pair<std::size_t, std::size_t>>& blocks) {
  std::vector<WideRadixSelect> selects;
  for (const std::uint64_t cut_rank : cut_ranks) selects.emplace_back(values.size(), cut_rank);
  SelectResult result;
  result.local_ties.assign(selects.size(), std::vector<std::uint64_t>(blocks.size(), 0));
  for (int pass = 0; pass < WideRadixSelect::n_pass; ++pass) {
    std::vector<std::vector<std::uint64_t>> totals(selects.size());
    std::vector<std::vector<std::vector<std::uint64_t>>> locals(selects.size());
    for (std::size_t select_idx = 0; select_idx < selects.size(); ++select_idx)
      totals[select_idx].assign(selects[select_idx].n_bin(), 0);
    for (std::size_t block_idx = 0; block_idx < blocks.size(); ++block_idx) {
      const auto [begin, end] = blocks[block_idx];
      std::vector<const WideRadixSelect*> active;
      std::vector<std::span<const float>> spans;
      std::vector<std::vector<std::uint32_t>> counters;
      std::vector<std::size_t> indices;
      for (std::size_t select_idx = 0; select_idx < selects.size(); ++select_idx) {
        if (selects[select_idx].done()) continue;
        active.push_back(&selects[select_idx]);
        spans.emplace_back(values.data() + begin, end - begin);
        counters.emplace_back(selects[select_idx].n_counter(), 0u);
        indices.push_back(select_idx);
      }
      for (std::size_t active_idx = 0; active_idx < active.size(); ++active_idx) {
        const std::size_t select_idx = indices[active_idx];
        selects[select_idx].histogram(spans[active_idx], counters[active_idx]);
        std::vector<std::uint64_t> local(selects[select_idx].n_bin(), 0);
        selects[select_idx].fold(counters[active_idx], local);
        EXPECT_TRUE(std::all_of(counters[active_idx].begin(), counters[active_idx].end(), [](auto c) { return c == 0; }));
        for (std::size_t bin = 0; bin < local.size(); ++bin) totals[select_idx][bin] += local[bin];
        locals[select_idx].push_back(std::move(local));
      }
    }
    for (std::size_t select_idx = 0; select_idx < selects.size(); ++select_idx) {
      if (selects[select_idx].done()) continue;
      selects[select_idx].narrow(totals[select_idx]);
      if (selects[select_idx].done())
        for (std::size_t block_idx = 0; block_idx < blocks.size(); ++block_idx)
          result.local_ties[select_idx][block_idx] = selects[select_idx].local_ties(locals[select_idx][block_idx]);
    }
  }
  for (const auto& select : selects) result.cuts.push_back(select.cut());
  return result;
}

TEST(WideRadixSelect, FindsTheSortedCutAndTheTiesOfEveryBlock) {
  for (const bool clustered : {true, false}) {
    const std::vector<float> values = make_values(10007, clustered, clustered ? 11u : 12u);
    const std::uint64_t n = values.size();
    const std::vector<std::uint64_t> cut_ranks = {0, 1, n / 3, n / 2, n - 1, n, n + 5};
    const std::vector<std::pair<std::size_t, std::size_t>> blocks = {{0, 1}, {1, 4000}, {4000, 4001}, {4001, 10007}};
    const SelectResult result = run_selects(values, cut_ranks, blocks);
    for (std::size_t cut_idx = 0; cut_idx < cut_ranks.size(); ++cut_idx) {
      const RankCut expected = sorted_cut(values, cut_ranks[cut_idx]);
      EXPECT_EQ(result.cuts[cut_idx], expected) << "clustered " << clustered << " rank " << cut_ranks[cut_idx];
      // The same cut as the three-pass RadixSelect.
      EXPECT_EQ(result.cuts[cut_idx], select_cut(values, cut_ranks[cut_idx]));
      if (cut_ranks[cut_idx] >= n) continue;
      for (std::size_t block_idx = 0; block_idx < blocks.size(); ++block_idx) {
        const auto [begin, end] = blocks[block_idx];
        EXPECT_EQ(result.local_ties[cut_idx][block_idx],
                  count_key(std::span<const float>(values).subspan(begin, end - begin), expected.key));
      }
    }
  }
  EXPECT_EQ(WideRadixSelect(5, 5).cut(), RankCut::everything());
  EXPECT_EQ(WideRadixSelect(5, 0).n_bin(), 0u + (1u << 15));
}

TEST(WideRadixSelect, RejectsMisuse) {
  WideRadixSelect select(4, 1);
  std::vector<std::uint32_t> counters(3);
  const std::vector<float> values(4, 1.0f);
  EXPECT_THROW(select.histogram(values, counters), Error);
  std::vector<std::uint64_t> wrong_total(select.n_bin(), 0);  // counts 0 of 4 elements
  EXPECT_THROW(select.narrow(wrong_total), Error);
  EXPECT_THROW(static_cast<void>(select.cut()), Error);
}

/// Magnitude sparsification by its definition: keep the c elements of largest |x|, the lower
/// index first among equal magnitudes.
std::vector<float> kept_by_rank(const std::vector<float>& tau, std::uint64_t n_keep) {
  std::vector<std::size_t> order(tau.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return magnitude_key(tau[a]) > magnitude_key(tau[b]); });
  std::vector<float> out(tau.size(), 0.0f);
  for (std::uint64_t rank_idx = 0; rank_idx < n_keep && rank_idx < tau.size(); ++rank_idx)
    out[order[rank_idx]] = tau[order[rank_idx]];
  return out;
}

TEST(SparsifyBlock, MagnitudeTiesFollowElementOrderForAnySplit) {
  const std::vector<float> tau = make_values(6000, true, 21u);
  for (const double density : {0.1, 0.37, 0.5, 0.9}) {
    SparsifyParams params;
    params.method = SparsifyMethod::magnitude;
    params.density = density;
    const RankRange range = magnitude_rank_range(params, tau.size());
    SparsifyState state;
    state.upper = sorted_cut(tau, range.end);
    const std::vector<float> expected = kept_by_rank(tau, range.end);
    for (const std::size_t block_size : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, tau.size()}) {
      std::vector<float> out(tau.size(), -1.0f);
      BlockTies ties;
      for (std::size_t begin = 0; begin < tau.size(); begin += block_size) {
        const std::size_t end = std::min(tau.size(), begin + block_size);
        const std::span<const float> block(tau.data() + begin, end - begin);
        sparsify_block(params, state, ties, BlockPosition{begin, 1}, block, std::span<float>(out).subspan(begin, end - begin));
        ties.upper += count_key(block, state.upper.key);
        ties.lower += count_key(block, state.lower.key);
      }
      for (std::size_t idx = 0; idx < tau.size(); ++idx)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(out[idx]), std::bit_cast<std::uint32_t>(expected[idx]))
            << "density " << density << " block " << block_size << " element " << idx;
    }
  }
}

TEST(SparsifyBlock, RandomInverseDensityEqualsTheDivision) {
  const std::vector<float> tau = make_values(3001, false, 31u);
  for (const double density : {0.5, 0.25, 0.3}) {
    SparsifyParams params;
    params.method = SparsifyMethod::random;
    params.density = density;
    params.rescale = RescaleMode::inverse_density;
    SparsifyState state;
    state.key = philox_key(7, 2, "layer.weight");
    std::vector<float> out(tau.size());
    sparsify_block(params, state, BlockTies{}, BlockPosition{64, 1}, tau, out);
    std::size_t n_kept = 0;
    for (std::size_t idx = 0; idx < tau.size(); ++idx) {
      const bool keep = static_cast<double>(uniform_at(state.key, RandomStream::dare, 64 + idx)) < density;
      const float expected = keep ? static_cast<float>(static_cast<double>(tau[idx]) / density) : 0.0f;
      n_kept += keep ? 1 : 0;
      ASSERT_EQ(std::bit_cast<std::uint32_t>(out[idx]), std::bit_cast<std::uint32_t>(expected)) << density << " " << idx;
    }
    EXPECT_NEAR(static_cast<double>(n_kept) / static_cast<double>(tau.size()), density, 0.05);
  }
}

}  // namespace
}  // namespace moerge::merge
