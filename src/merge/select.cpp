// Integer radix select on the IEEE bits of |x|: histograms that add across blocks and ranks.
#include <algorithm>
#include <string>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

namespace {

// Pass p looks at digit bits [shift[p], shift[p] + width[p]) of the 32-bit key.
constexpr std::array<int, RadixSelect::n_pass> digit_shift = {21, 10, 0};
constexpr std::array<int, RadixSelect::n_pass> digit_width = {11, 11, 10};

}  // namespace

RadixSelect::RadixSelect(std::uint64_t n_total, std::uint64_t cut_rank)
    : n_total_(n_total), rank_left_(cut_rank) {
  if (cut_rank >= n_total) {
    everything_ = true;
    pass_ = n_pass;
  }
}

std::size_t RadixSelect::n_bin() const {
  return done() ? 0 : std::size_t{1} << digit_width[static_cast<std::size_t>(pass_)];
}

std::uint32_t RadixSelect::digit_of(std::uint32_t key) const {
  const auto pass_idx = static_cast<std::size_t>(pass_);
  return (key >> digit_shift[pass_idx]) & ((1u << digit_width[pass_idx]) - 1u);
}

bool RadixSelect::matches_prefix(std::uint32_t key) const {
  if (pass_ == 0) return true;
  const int shift = digit_shift[static_cast<std::size_t>(pass_ - 1)];
  return (key >> shift) == (prefix_ >> shift);
}

void RadixSelect::histogram(std::span<const float> values, std::span<std::uint64_t> hist) const {
  if (done()) throw Error("RadixSelect::histogram called after the select finished");
  if (hist.size() != n_bin()) {
    throw Error("RadixSelect::histogram: histogram has " + std::to_string(hist.size()) + " bins, pass needs " +
                std::to_string(n_bin()));
  }
  // Magnitudes cluster in a few bins, so consecutive increments of one counter would wait on each
  // other: four interleaved 32-bit sub-histograms (a slice of at most 2^32 elements) break the chain.
  constexpr std::size_t kWay = 4;
  constexpr std::size_t kSlice = std::size_t{1} << 30;
  const std::size_t n_bin_pass = n_bin();
  std::vector<std::uint32_t> ways(kWay * n_bin_pass);
  for (std::size_t slice_begin = 0; slice_begin < values.size(); slice_begin += kSlice) {
    const std::size_t slice_end = std::min(values.size(), slice_begin + kSlice);
    std::fill(ways.begin(), ways.end(), 0u);
    std::size_t idx = slice_begin;
    const auto add = [&](std::size_t way, float value) {
      const std::uint32_t key = magnitude_key(value);
      if (pass_ == 0 || matches_prefix(key)) ++ways[way * n_bin_pass + digit_of(key)];
    };
    for (; idx + kWay <= slice_end; idx += kWay)
      for (std::size_t way = 0; way < kWay; ++way) add(way, values[idx + way]);
    for (; idx < slice_end; ++idx) add(0, values[idx]);
    for (std::size_t way = 0; way < kWay; ++way)
      for (std::size_t bin = 0; bin < n_bin_pass; ++bin) hist[bin] += ways[way * n_bin_pass + bin];
  }
}

void RadixSelect::histogram_delta(std::span<const float> theta, std::span<const float> base,
                                  std::span<std::uint64_t> hist) const {
  if (done()) throw Error("RadixSelect::histogram_delta called after the select finished");
  if (hist.size() != n_bin() || theta.size() != base.size()) {
    throw Error("RadixSelect::histogram_delta: " + std::to_string(hist.size()) + " bins for a pass of " +
                std::to_string(n_bin()) + ", theta " + std::to_string(theta.size()) + " vs base " +
                std::to_string(base.size()) + " elements");
  }
  for (std::size_t element_idx = 0; element_idx < theta.size(); ++element_idx) {
    const std::uint32_t key = magnitude_key(theta[element_idx] - base[element_idx]);
    if (matches_prefix(key)) ++hist[digit_of(key)];
  }
}

void RadixSelect::narrow(std::span<const std::uint64_t> hist) {
  if (done()) throw Error("RadixSelect::narrow called after the select finished");
  if (hist.size() != n_bin()) {
    throw Error("RadixSelect::narrow: histogram has " + std::to_string(hist.size()) + " bins, pass needs " +
                std::to_string(n_bin()));
  }
  std::uint64_t total = 0;
  for (const std::uint64_t count : hist) total += count;
  // Each pass must see exactly the elements that match the prefix: all of them in pass 0, then
  // the count of the bin chosen by the previous pass.
  if (total != n_total_) {
    throw Error("RadixSelect::narrow: the reduced histogram of pass " + std::to_string(pass_) + " counts " +
                std::to_string(total) + " elements, expected " + std::to_string(n_total_) +
                " (a block was missed or counted twice)");
  }
  const auto pass_idx = static_cast<std::size_t>(pass_);
  for (std::size_t bin_idx = hist.size(); bin_idx-- > 0;) {
    if (rank_left_ < hist[bin_idx]) {
      prefix_ |= static_cast<std::uint32_t>(bin_idx) << digit_shift[pass_idx];
      n_total_ = hist[bin_idx];
      ++pass_;
      return;
    }
    rank_left_ -= hist[bin_idx];
  }
  throw Error("RadixSelect::narrow: rank beyond the histogram (internal error)");
}

RankCut RadixSelect::cut() const {
  if (!done()) throw Error("RadixSelect::cut called before the select finished");
  if (everything_) return RankCut::everything();
  return RankCut{prefix_, rank_left_};
}

std::uint64_t count_key(std::span<const float> values, std::uint32_t key) {
  std::uint64_t count = 0;
  for (const float value : values) count += magnitude_key(value) == key ? 1 : 0;
  return count;
}

std::uint64_t count_key_delta(std::span<const float> theta, std::span<const float> base, std::uint32_t key) {
  if (theta.size() != base.size()) {
    throw Error("count_key_delta: theta has " + std::to_string(theta.size()) + " elements, base " +
                std::to_string(base.size()));
  }
  std::uint64_t count = 0;
  for (std::size_t element_idx = 0; element_idx < theta.size(); ++element_idx) {
    count += magnitude_key(theta[element_idx] - base[element_idx]) == key ? 1 : 0;
  }
  return count;
}

RankCut select_cut(std::span<const float> values, std::uint64_t cut_rank) {
  RadixSelect select(values.size(), cut_rank);
  std::vector<std::uint64_t> hist;
  while (!select.done()) {
    hist.assign(select.n_bin(), 0);
    select.histogram(values, hist);
    select.narrow(hist);
  }
  return select.cut();
}

}  // namespace moerge::merge
