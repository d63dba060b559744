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

WideRadixSelect::WideRadixSelect(std::uint64_t n_total, std::uint64_t cut_rank)
    : n_total_(n_total), rank_left_(cut_rank) {
  if (cut_rank >= n_total) {
    everything_ = true;
    pass_ = n_pass;
  }
}

std::size_t WideRadixSelect::n_bin() const {
  if (done()) return 0;
  return pass_ == 0 ? std::size_t{1} << 15 : std::size_t{1} << 16;
}

void WideRadixSelect::histogram(std::span<const float> values, std::span<std::uint32_t> counters) const {
  if (done()) throw Error("WideRadixSelect::histogram called after the select finished");
  if (counters.size() != n_counter()) {
    throw Error("WideRadixSelect::histogram: " + std::to_string(counters.size()) + " counters, pass needs " +
                std::to_string(n_counter()));
  }
  const float* __restrict in = values.data();
  const std::size_t n = values.size();
  const std::size_t n_bin_pass = n_bin();
  std::uint32_t* __restrict way_0 = counters.data();
  std::uint32_t* __restrict way_1 = counters.data() + n_bin_pass;
  static_assert(n_way == 2);
  std::size_t idx = 0;
  if (pass_ == 0) {
    // Finite keys are below 2^31, so the high half indexes 32768 bins.
    for (; idx + 2 <= n; idx += 2) {
      ++way_0[magnitude_key(in[idx]) >> 16];
      ++way_1[magnitude_key(in[idx + 1]) >> 16];
    }
    for (; idx < n; ++idx) ++way_0[magnitude_key(in[idx]) >> 16];
    return;
  }
  // Branch-free: every element adds 1 (prefix matches) or 0 to the bin of its low half.
  const std::uint32_t high = prefix_ >> 16;
  for (; idx + 2 <= n; idx += 2) {
    const std::uint32_t key_0 = magnitude_key(in[idx]);
    const std::uint32_t key_1 = magnitude_key(in[idx + 1]);
    way_0[key_0 & 0xffffu] += static_cast<std::uint32_t>((key_0 >> 16) == high);
    way_1[key_1 & 0xffffu] += static_cast<std::uint32_t>((key_1 >> 16) == high);
  }
  for (; idx < n; ++idx) {
    const std::uint32_t key = magnitude_key(in[idx]);
    way_0[key & 0xffffu] += static_cast<std::uint32_t>((key >> 16) == high);
  }
}

void WideRadixSelect::fold(std::span<std::uint32_t> counters, std::span<std::uint64_t> hist) const {
  if (counters.size() != n_counter() || hist.size() != n_bin()) {
    throw Error("WideRadixSelect::fold: " + std::to_string(counters.size()) + " counters and " +
                std::to_string(hist.size()) + " bins for a pass of " + std::to_string(n_bin()) + " bins");
  }
  const std::size_t n_bin_pass = n_bin();
  for (std::size_t way = 0; way < n_way; ++way)
    for (std::size_t bin = 0; bin < n_bin_pass; ++bin) hist[bin] += counters[way * n_bin_pass + bin];
  std::fill(counters.begin(), counters.end(), 0u);
}

void WideRadixSelect::narrow(std::span<const std::uint64_t> hist) {
  if (done()) throw Error("WideRadixSelect::narrow called after the select finished");
  if (hist.size() != n_bin()) {
    throw Error("WideRadixSelect::narrow: histogram has " + std::to_string(hist.size()) + " bins, pass needs " +
                std::to_string(n_bin()));
  }
  std::uint64_t total = 0;
  for (const std::uint64_t count : hist) total += count;
  if (total != n_total_) {
    throw Error("WideRadixSelect::narrow: the reduced histogram of pass " + std::to_string(pass_) + " counts " +
                std::to_string(total) + " elements, expected " + std::to_string(n_total_) +
                " (a block was missed or counted twice)");
  }
  const int shift = pass_ == 0 ? 16 : 0;
  for (std::size_t bin_idx = hist.size(); bin_idx-- > 0;) {
    if (rank_left_ < hist[bin_idx]) {
      prefix_ |= static_cast<std::uint32_t>(bin_idx) << shift;
      n_total_ = hist[bin_idx];
      ++pass_;
      return;
    }
    rank_left_ -= hist[bin_idx];
  }
  throw Error("WideRadixSelect::narrow: rank beyond the histogram (internal error)");
}

RankCut WideRadixSelect::cut() const {
  if (!done()) throw Error("WideRadixSelect::cut called before the select finished");
  if (everything_) return RankCut::everything();
  return RankCut{prefix_, rank_left_};
}

std::uint64_t WideRadixSelect::local_ties(std::span<const std::uint64_t> local_pass1_hist) const {
  if (!done()) throw Error("WideRadixSelect::local_ties called before the select finished");
  if (everything_) return 0;
  if (local_pass1_hist.size() != std::size_t{1} << 16) {
    throw Error("WideRadixSelect::local_ties: histogram has " + std::to_string(local_pass1_hist.size()) +
                " bins, pass 1 has 65536");
  }
  return local_pass1_hist[prefix_ & 0xffffu];
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
