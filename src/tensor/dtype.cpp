// dtype names, sizes and f16/bf16 <-> f32 conversion.
#include "moerge/tensor/dtype.hpp"

#include <array>
#include <cassert>
#include <bit>
#include <cstring>

namespace moerge {

namespace {
struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 15> kDTypes{{
    {DType::BOOL, "BOOL", 1},   {DType::U8, "U8", 1},     {DType::I8, "I8", 1},
    {DType::F8_E5M2, "F8_E5M2", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},     {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},     {DType::U32, "U32", 4},   {DType::F32, "F32", 4},
    {DType::I64, "I64", 8},     {DType::U64, "U64", 8},   {DType::F64, "F64", 8},
}};
}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& info : kDTypes)
    if (info.name == name) return info.dtype;
  return std::nullopt;
}

std::string_view dtype_name(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)].name; }
std::size_t dtype_size(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)].size; }
bool dtype_is_numeric(DType dtype) { return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16; }

float f16_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  std::uint32_t exponent = (bits >> 10) & 0x1fu;
  std::uint32_t mantissa = bits & 0x3ffu;
  std::uint32_t wide;
  if (exponent == 0x1f) {  // inf / NaN
    wide = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      wide = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      wide = sign | (exponent << 23) | (mantissa << 13);
    }
  } else {
    wide = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &wide, sizeof out);
  return out;
}

std::uint16_t f32_to_f16(float value) {
  std::uint32_t wide;
  std::memcpy(&wide, &value, sizeof wide);
  const std::uint16_t sign = static_cast<std::uint16_t>((wide >> 16) & 0x8000u);
  const std::uint32_t abs = wide & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal or zero in f16: round to nearest even
    if (abs < 0x33000000u) return sign;
    const std::uint32_t exponent = abs >> 23;
    const std::uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - exponent;  // 14..24
    std::uint32_t half = mantissa >> shift;
    const std::uint32_t remainder = mantissa & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (remainder > halfway || (remainder == halfway && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  // normal: rebias and round to nearest even on the 13 dropped bits
  std::uint32_t half = ((abs >> 13) - ((127 - 15) << 10));
  const std::uint32_t remainder = abs & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (half & 1u))) ++half;
  return static_cast<std::uint16_t>(sign | half);
}

void convert_to_f32(DType dtype, std::span<const std::byte> src, std::span<float> dst) {
  assert(src.size() == dst.size() * dtype_size(dtype));
  const std::size_t n = dst.size();
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst.data(), src.data(), n * sizeof(float));
      return;
    case DType::BF16:
      for (std::size_t idx = 0; idx < n; ++idx) {
        std::uint16_t bits;
        std::memcpy(&bits, src.data() + 2 * idx, 2);
        dst[idx] = bf16_to_f32(bits);
      }
      return;
    case DType::F16:
      for (std::size_t idx = 0; idx < n; ++idx) {
        std::uint16_t bits;
        std::memcpy(&bits, src.data() + 2 * idx, 2);
        dst[idx] = f16_to_f32(bits);
      }
      return;
    default:
      assert(false && "convert_to_f32 needs a numeric dtype");
  }
}

bool convert_to_f32_all_finite(DType dtype, std::span<const std::byte> src, std::span<float> dst) {
  assert(src.size() == dst.size() * dtype_size(dtype));
  const std::size_t n = dst.size();
  std::uint32_t nonfinite = 0;
  float* __restrict out = dst.data();
  switch (dtype) {
    case DType::F32:
      for (std::size_t idx = 0; idx < n; ++idx) {
        std::uint32_t bits;
        std::memcpy(&bits, src.data() + 4 * idx, 4);
        nonfinite |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
        out[idx] = std::bit_cast<float>(bits);
      }
      break;
    case DType::BF16:
      for (std::size_t idx = 0; idx < n; ++idx) {
        std::uint16_t half;
        std::memcpy(&half, src.data() + 2 * idx, 2);
        const std::uint32_t bits = static_cast<std::uint32_t>(half) << 16;
        nonfinite |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
        out[idx] = std::bit_cast<float>(bits);
      }
      break;
    default:
      convert_to_f32(dtype, src, dst);
      for (std::size_t idx = 0; idx < n; ++idx) {
        const auto bits = std::bit_cast<std::uint32_t>(out[idx]);
        nonfinite |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
      }
  }
  return nonfinite == 0;
}

void convert_from_f32(DType dtype, std::span<const float> src, std::span<std::byte> dst) {
  assert(dst.size() == src.size() * dtype_size(dtype));
  const std::size_t n = src.size();
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst.data(), src.data(), n * sizeof(float));
      return;
    case DType::BF16:
      for (std::size_t idx = 0; idx < n; ++idx) {
        const std::uint16_t bits = f32_to_bf16(src[idx]);
        std::memcpy(dst.data() + 2 * idx, &bits, 2);
      }
      return;
    case DType::F16:
      for (std::size_t idx = 0; idx < n; ++idx) {
        const std::uint16_t bits = f32_to_f16(src[idx]);
        std::memcpy(dst.data() + 2 * idx, &bits, 2);
      }
      return;
    default:
      assert(false && "convert_from_f32 needs a numeric dtype");
  }
}

}  // namespace moerge
