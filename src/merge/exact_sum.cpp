// ExactSum: an exact fixed-point accumulator of f32 values and f32 products, reducible as integers.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "moerge/core/error.hpp"
#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

namespace {

// Bit 0 of the fixed-point integer weighs 2^-298: the smallest product of two f32 denormals.
constexpr int exponent_offset = 298;
constexpr std::uint64_t limb_mask = (std::uint64_t{1} << ExactSum::limb_bits) - 1;

struct Decomposed {
  std::uint64_t mantissa;  // < 2^24
  int exponent;            // value = mantissa * 2^exponent, exponent in [-149, 104]
  bool negative;
};

Decomposed decompose(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint32_t biased = (bits >> 23) & 0xffu;
  const std::uint32_t fraction = bits & 0x7fffffu;
  if (biased == 0) return {fraction, -149, (bits >> 31) != 0};
  return {fraction | 0x800000u, static_cast<int>(biased) - 150, (bits >> 31) != 0};
}

}  // namespace

void ExactSum::add_bits(std::uint64_t mantissa, int bit_position, bool negative) {
  if (mantissa == 0) return;
  // mantissa < 2^48: two 24-bit pieces, each shifted by < 24 bits, each spread over two limbs, so
  // every limb receives less than 2^25 per call.
  const auto quotient = static_cast<std::size_t>(bit_position / limb_bits);
  const int remainder = bit_position % limb_bits;
  const std::array<std::uint64_t, 2> pieces = {(mantissa & limb_mask) << remainder,
                                               ((mantissa >> limb_bits) & limb_mask) << remainder};
  for (std::size_t piece_idx = 0; piece_idx < pieces.size(); ++piece_idx) {
    const std::array<std::uint64_t, 2> chunks = {pieces[piece_idx] & limb_mask, pieces[piece_idx] >> limb_bits};
    for (std::size_t chunk_idx = 0; chunk_idx < chunks.size(); ++chunk_idx) {
      std::uint64_t& limb = limbs_[quotient + piece_idx + chunk_idx];
      if (negative) {
        limb -= chunks[chunk_idx];  // wraps: two's complement
      } else {
        limb += chunks[chunk_idx];
      }
    }
  }
}

void ExactSum::add_product(float a, float b) {
  const Decomposed da = decompose(a);
  const Decomposed db = decompose(b);
  add_bits(da.mantissa * db.mantissa, da.exponent + db.exponent + exponent_offset, da.negative != db.negative);
}

void ExactSum::add_abs(std::span<const float> values) {
  // One uint64 bin per biased exponent (denormals share bin 1: same scale, no implicit bit); each
  // add is < 2^24, so a bin holds 2^40 adds. Then each bin is folded in exactly.
  std::array<std::uint64_t, 256> bins{};
  for (const float value : values) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    const std::uint32_t biased = (bits >> 23) & 0xffu;
    const std::uint32_t fraction = bits & 0x7fffffu;
    if (biased == 0) {
      bins[1] += fraction;
    } else {
      bins[biased] += fraction | 0x800000u;
    }
  }
  for (std::size_t bin_idx = 1; bin_idx < bins.size(); ++bin_idx) {
    const std::uint64_t count = bins[bin_idx];
    const int position = static_cast<int>(bin_idx) - 150 + exponent_offset;
    add_bits(count & ((std::uint64_t{1} << 40) - 1), position, false);
    add_bits(count >> 40, position + 40, false);
  }
}

void ExactSum::add_dot(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) {
    throw Error("ExactSum::add_dot: spans of different lengths " + std::to_string(a.size()) + " and " +
                std::to_string(b.size()));
  }
  // Bins per product exponent (signed, each add < 2^48 in magnitude): folded every 2^14 elements
  // so a bin never exceeds 2^62 in magnitude.
  constexpr std::size_t n_bin = 507;  // exponent + 298 in [0, 506]
  constexpr std::size_t chunk = std::size_t{1} << 14;
  std::array<std::int64_t, n_bin> bins{};
  for (std::size_t begin = 0; begin < a.size(); begin += chunk) {
    const std::size_t end = std::min(a.size(), begin + chunk);
    bins.fill(0);
    for (std::size_t element_idx = begin; element_idx < end; ++element_idx) {
      const Decomposed da = decompose(a[element_idx]);
      const Decomposed db = decompose(b[element_idx]);
      const auto product = static_cast<std::int64_t>(da.mantissa * db.mantissa);
      const auto bin = static_cast<std::size_t>(da.exponent + db.exponent + exponent_offset);
      bins[bin] += da.negative != db.negative ? -product : product;
    }
    for (std::size_t bin_idx = 0; bin_idx < n_bin; ++bin_idx) {
      const std::int64_t value = bins[bin_idx];
      if (value == 0) continue;
      const bool negative = value < 0;
      const std::uint64_t magnitude = negative ? static_cast<std::uint64_t>(-value) : static_cast<std::uint64_t>(value);
      const int position = static_cast<int>(bin_idx);
      add_bits(magnitude & ((std::uint64_t{1} << 40) - 1), position, negative);
      add_bits(magnitude >> 40, position + 40, negative);
    }
  }
}

void ExactSum::add_squares(std::span<const float> values) { add_dot(values, values); }

void ExactSum::merge(const ExactSum& other) {
  for (std::size_t limb_idx = 0; limb_idx < n_limb; ++limb_idx) limbs_[limb_idx] += other.limbs_[limb_idx];
}

double ExactSum::value() const {
  // Normalise to digits in [0, 2^24) with the sign in the final carry, then add the digits from
  // the most significant down (a function of the limbs only, hence the same for any sharding).
  std::array<std::uint64_t, n_limb> digits{};
  std::int64_t carry = 0;
  for (std::size_t limb_idx = 0; limb_idx < n_limb; ++limb_idx) {
    const std::uint64_t total = limbs_[limb_idx] + static_cast<std::uint64_t>(carry);  // wraps like int64
    digits[limb_idx] = total & limb_mask;
    carry = static_cast<std::int64_t>(total) >> limb_bits;  // arithmetic shift (C++20)
  }
  const bool negative = carry < 0;
  if (negative) {
    // Magnitude = 2^(24 n) - digits: complement every digit and add one.
    std::uint64_t add_one = 1;
    for (auto& digit : digits) {
      const std::uint64_t complemented = (limb_mask - digit) + add_one;
      digit = complemented & limb_mask;
      add_one = complemented >> limb_bits;
    }
  }
  double result = 0.0;
  for (std::size_t limb_idx = n_limb; limb_idx-- > 0;) {
    if (digits[limb_idx] == 0) continue;
    result += std::ldexp(static_cast<double>(digits[limb_idx]),
                         static_cast<int>(limb_idx) * limb_bits - exponent_offset);
  }
  return negative ? -result : result;
}

}  // namespace moerge::merge
