// Counter-based random draws for DARE and DELLA masks: Philox4x32-10 keyed by seed, model, tensor.
#include <Random123/philox.h>

#include "moerge/merge/kernels.hpp"

namespace moerge::merge {

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char byte : bytes) {
    hash ^= static_cast<std::uint8_t>(byte);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

PhiloxKey philox_key(std::uint64_t seed, std::uint32_t model_index, std::string_view tensor_name) {
  std::string material;
  material.reserve(12 + tensor_name.size());
  for (int byte_idx = 0; byte_idx < 8; ++byte_idx) material.push_back(static_cast<char>((seed >> (8 * byte_idx)) & 0xffu));
  for (int byte_idx = 0; byte_idx < 4; ++byte_idx) {
    material.push_back(static_cast<char>((model_index >> (8 * byte_idx)) & 0xffu));
  }
  material.append(tensor_name);
  const std::uint64_t hash = fnv1a64(material);
  return PhiloxKey{static_cast<std::uint32_t>(hash), static_cast<std::uint32_t>(hash >> 32)};
}

std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter, PhiloxKey key) {
  r123::Philox4x32_R<10> generator;
  const r123::Philox4x32_R<10>::ctr_type ctr = {{counter[0], counter[1], counter[2], counter[3]}};
  const r123::Philox4x32_R<10>::key_type k = {{key.k0, key.k1}};
  const auto result = generator(ctr, k);
  return {result.v[0], result.v[1], result.v[2], result.v[3]};
}

namespace {

constexpr float two_pow_minus_24 = 1.0f / 16777216.0f;

std::array<std::uint32_t, 4> draw_group(PhiloxKey key, RandomStream stream, std::uint64_t group) {
  return philox4x32_10({static_cast<std::uint32_t>(group), static_cast<std::uint32_t>(group >> 32),
                        static_cast<std::uint32_t>(stream), 0u},
                       key);
}

}  // namespace

float uniform_at(PhiloxKey key, RandomStream stream, std::uint64_t element_index) {
  const auto words = draw_group(key, stream, element_index / 4);
  return static_cast<float>(words[element_index % 4] >> 8) * two_pow_minus_24;
}

namespace {

constexpr std::uint64_t kMultiplier0 = 0xD2511F53u;
constexpr std::uint64_t kMultiplier1 = 0xCD9E8D57u;
constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;
constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;

/// The four words of Philox4x32-10 for one counter group, the rounds written out (same function as
/// Random123's, checked against it by the tests).
std::array<std::uint32_t, 4> philox_words(PhiloxKey key, std::uint32_t stream_word, std::uint64_t group) {
  std::uint32_t c0 = static_cast<std::uint32_t>(group);
  std::uint32_t c1 = static_cast<std::uint32_t>(group >> 32);
  std::uint32_t c2 = stream_word;
  std::uint32_t c3 = 0;
  std::uint32_t k0 = key.k0;
  std::uint32_t k1 = key.k1;
  for (int round_idx = 0; round_idx < 10; ++round_idx) {
    const std::uint64_t product_0 = kMultiplier0 * c0;
    const std::uint64_t product_1 = kMultiplier1 * c2;
    const auto next_0 = static_cast<std::uint32_t>(product_1 >> 32) ^ c1 ^ k0;
    const auto next_2 = static_cast<std::uint32_t>(product_0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(product_1);
    c3 = static_cast<std::uint32_t>(product_0);
    c0 = next_0;
    c2 = next_2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {c0, c1, c2, c3};
}

/// kLanes consecutive counter groups at once, structure of arrays, so that the compiler runs the
/// lanes of every round in vector registers (32 x 32 -> 64-bit multiplies); out gets the
/// 4 * kLanes uniforms of groups [first_group, first_group + kLanes) in element order.
constexpr std::size_t kLanes = 16;
void philox_lanes(PhiloxKey key, std::uint32_t stream_word, std::uint64_t first_group, float* __restrict out) {
  alignas(64) std::array<std::uint32_t, kLanes> c0;
  alignas(64) std::array<std::uint32_t, kLanes> c1;
  alignas(64) std::array<std::uint32_t, kLanes> c2;
  alignas(64) std::array<std::uint32_t, kLanes> c3;
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    const std::uint64_t group = first_group + lane;
    c0[lane] = static_cast<std::uint32_t>(group);
    c1[lane] = static_cast<std::uint32_t>(group >> 32);
    c2[lane] = stream_word;
    c3[lane] = 0;
  }
  std::uint32_t k0 = key.k0;
  std::uint32_t k1 = key.k1;
  for (int round_idx = 0; round_idx < 10; ++round_idx) {
    // Not unrolled: unrolled, the lanes become scalar code the vectoriser declines.
#pragma GCC unroll 1
    for (std::size_t lane = 0; lane < kLanes; ++lane) {
      const std::uint64_t product_0 = kMultiplier0 * c0[lane];
      const std::uint64_t product_1 = kMultiplier1 * c2[lane];
      const auto next_0 = static_cast<std::uint32_t>(product_1 >> 32) ^ c1[lane] ^ k0;
      const auto next_2 = static_cast<std::uint32_t>(product_0 >> 32) ^ c3[lane] ^ k1;
      c1[lane] = static_cast<std::uint32_t>(product_1);
      c3[lane] = static_cast<std::uint32_t>(product_0);
      c0[lane] = next_0;
      c2[lane] = next_2;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    out[4 * lane + 0] = static_cast<float>(c0[lane] >> 8) * two_pow_minus_24;
    out[4 * lane + 1] = static_cast<float>(c1[lane] >> 8) * two_pow_minus_24;
    out[4 * lane + 2] = static_cast<float>(c2[lane] >> 8) * two_pow_minus_24;
    out[4 * lane + 3] = static_cast<float>(c3[lane] >> 8) * two_pow_minus_24;
  }
}

}  // namespace

void uniform_block(PhiloxKey key, RandomStream stream, std::uint64_t first_element, std::span<float> out) {
  const auto stream_word = static_cast<std::uint32_t>(stream);
  std::size_t offset = 0;
  // Head and tail one group at a time; whole runs of kLanes groups through the vector lanes.
  while (offset < out.size()) {
    const std::uint64_t element_index = first_element + offset;
    if (element_index % 4 == 0 && out.size() - offset >= 4 * kLanes) {
      philox_lanes(key, stream_word, element_index / 4, out.data() + offset);
      offset += 4 * kLanes;
      continue;
    }
    const std::array<std::uint32_t, 4> words = philox_words(key, stream_word, element_index / 4);
    for (auto word_idx = static_cast<std::size_t>(element_index % 4); word_idx < 4 && offset < out.size();
         ++word_idx, ++offset) {
      out[offset] = static_cast<float>(words[word_idx] >> 8) * two_pow_minus_24;
    }
  }
}

}  // namespace moerge::merge
