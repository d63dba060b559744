// dtype table and f16/bf16 <-> f32 conversions, checked against closed forms and against
// numpy (f16) and torch (bf16) as independent references.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <vector>

#include "moerge/tensor/dtype.hpp"
#include "test_util.hpp"

using namespace moerge;

namespace {
std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}
float float_of(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}
}  // namespace

TEST(tensor_dtype, names_round_trip_and_sizes) {
  for (const char* name : {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32",
                           "F32", "I64", "U64", "F64"}) {
    const auto dtype = dtype_from_name(name);
    ASSERT_TRUE(dtype.has_value()) << name;
    EXPECT_EQ(dtype_name(*dtype), name);
  }
  EXPECT_FALSE(dtype_from_name("F128").has_value());
  EXPECT_FALSE(dtype_from_name("f32").has_value());  // safetensors names are upper case
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_TRUE(dtype_is_numeric(DType::F16));
  EXPECT_FALSE(dtype_is_numeric(DType::I8));
}

TEST(tensor_dtype, bf16_closed_forms) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 lies exactly half-way between bf16 1.0 and 1 + 2^-7: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(float_of(0x3f808000u)), 0x3f80);
  // 1 + 3 * 2^-8 is half-way between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up to even.
  EXPECT_EQ(f32_to_bf16(float_of(0x3f818000u)), 0x3f82);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload lives only in the low bits must not become infinity.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(float_of(0x7f800001u)))));
}

TEST(tensor_dtype, f16_exhaustive_round_trip) {
  // Every finite f16 converts to f32 exactly and back to the same bits.
  for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    const float wide = f16_to_f32(half);
    if (std::isnan(wide)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(wide))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(wide), half) << "bits " << bits;
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);               // largest finite
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);               // rounds to infinity
}

// Random f32 values (normal, subnormal-in-f16 and overflow ranges) converted by moerge and by
// numpy (f16) / torch (bf16); the results must agree bit for bit (both round to nearest even).
TEST(tensor_dtype, matches_numpy_and_torch) {
  test::ScratchDir scratch("dtype");
  std::mt19937 rng(1234);
  std::vector<float> values;
  std::uniform_real_distribution<float> exponent(-30.0f, 20.0f);
  std::uniform_real_distribution<float> mantissa(-1.0f, 1.0f);
  for (int idx = 0; idx < 20000; ++idx) values.push_back(mantissa(rng) * std::exp2(exponent(rng)));
  values.push_back(0.0f);
  values.push_back(-0.0f);
  {
    std::ofstream out(scratch / "in.f32", std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  }
  const std::string script =
      "import sys, numpy as np, torch\n"
      "x = np.fromfile(sys.argv[1] + '/in.f32', dtype=np.float32)\n"
      "x.astype(np.float16).view(np.uint16).tofile(sys.argv[1] + '/out.f16')\n"
      "torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().tofile(sys.argv[1] + '/out.bf16')\n";
  {
    std::ofstream out(scratch / "ref.py");
    out << script;
  }
  const std::string command = "/usr/bin/python3 " + (scratch / "ref.py").string() + " " + scratch.path().string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto read_u16 = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::uint16_t> out(std::filesystem::file_size(path) / 2);
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * 2));
    return out;
  };
  const auto ref_f16 = read_u16(scratch / "out.f16");
  const auto ref_bf16 = read_u16(scratch / "out.bf16");
  ASSERT_EQ(ref_f16.size(), values.size());
  ASSERT_EQ(ref_bf16.size(), values.size());
  std::vector<std::byte> ours_f16(values.size() * 2), ours_bf16(values.size() * 2);
  convert_from_f32(DType::F16, values, ours_f16);
  convert_from_f32(DType::BF16, values, ours_bf16);
  int n_mismatch = 0;
  for (std::size_t idx = 0; idx < values.size(); ++idx) {
    std::uint16_t f16_bits, bf16_bits;
    std::memcpy(&f16_bits, ours_f16.data() + 2 * idx, 2);
    std::memcpy(&bf16_bits, ours_bf16.data() + 2 * idx, 2);
    if (f16_bits != ref_f16[idx] || bf16_bits != ref_bf16[idx]) {
      if (++n_mismatch < 5)
        ADD_FAILURE() << "value " << values[idx] << " (bits " << bits_of(values[idx]) << "): f16 " << f16_bits
                      << " vs numpy " << ref_f16[idx] << ", bf16 " << bf16_bits << " vs torch " << ref_bf16[idx];
    }
  }
  EXPECT_EQ(n_mismatch, 0);
  // And back: widening is exact, so converting the reference bits must give the same f32 as the
  // reference's own widening of them (checked here through f32 -> bits identity).
  std::vector<float> widened(values.size());
  convert_to_f32(DType::BF16, ours_bf16, widened);
  for (std::size_t idx = 0; idx < values.size(); ++idx)
    EXPECT_EQ(bits_of(widened[idx]) >> 16, static_cast<std::uint32_t>(ref_bf16[idx]));
}

// The fused convert + finiteness pass used by the merge engine gives convert_to_f32's values and
// flags exactly the blocks holding a NaN or an infinity, for every numeric dtype and every position.
TEST(tensor_dtype, convert_all_finite_flags_nonfinite) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-1e4f, 1e4f);
  std::vector<float> values(1000);
  for (float& value : values) value = dist(gen);
  for (const DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    const std::size_t size = dtype_size(dtype);
    std::vector<std::byte> bytes(values.size() * size);
    convert_from_f32(dtype, values, bytes);
    std::vector<float> expected(values.size()), fused(values.size());
    convert_to_f32(dtype, bytes, expected);
    EXPECT_TRUE(convert_to_f32_all_finite(dtype, bytes, fused)) << dtype_name(dtype);
    EXPECT_EQ(0, std::memcmp(expected.data(), fused.data(), fused.size() * sizeof(float))) << dtype_name(dtype);
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()}) {
      for (const std::size_t position : {std::size_t{0}, std::size_t{517}, values.size() - 1}) {
        std::vector<std::byte> broken = bytes;
        const float one[1] = {bad};
        convert_from_f32(dtype, one, std::span<std::byte>(broken).subspan(position * size, size));
        EXPECT_FALSE(convert_to_f32_all_finite(dtype, broken, fused)) << dtype_name(dtype) << " at " << position;
      }
    }
  }
}
