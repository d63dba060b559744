// Element types as safetensors names them, and conversions of the float ones to and from f32.
// No MPI, no HDF5: this header is shared by every module.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace moerge {

/// Every dtype safetensors defines. F32, F16 and BF16 are numbers to moerge; the others are
/// carried through byte for byte.
enum class DType : std::uint8_t { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64 };

/// Parse a safetensors dtype string ("F32", "BF16", ...); nullopt when unknown.
std::optional<DType> dtype_from_name(std::string_view name);
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);
/// True for the float types moerge computes with (F32, F16, BF16).
bool dtype_is_numeric(DType dtype);

/// bf16 as raw bits: the upper half of an IEEE f32.
inline float bf16_to_f32(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float out;
  __builtin_memcpy(&out, &wide, sizeof out);
  return out;
}
/// Round to nearest even; NaN stays NaN (quiet), infinities stay infinite.
inline std::uint16_t f32_to_bf16(float value) {
  std::uint32_t wide;
  __builtin_memcpy(&wide, &value, sizeof wide);
  if ((wide & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((wide >> 16) | 0x0040u);
  const std::uint32_t rounding = 0x7fffu + ((wide >> 16) & 1u);
  return static_cast<std::uint16_t>((wide + rounding) >> 16);
}
float f16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_f16(float value);

/// Convert n elements of a numeric dtype (F32, F16, BF16; little-endian bytes) to f32 and back.
/// Precondition: dtype_is_numeric(dtype).
void convert_to_f32(DType dtype, std::span<const std::byte> src, std::span<float> dst);
/// convert_to_f32 that also reports, in the same pass, whether every value is finite (streaming
/// readers must reject NaN/Inf and should not read their data twice).
bool convert_to_f32_all_finite(DType dtype, std::span<const std::byte> src, std::span<float> dst);
void convert_from_f32(DType dtype, std::span<const float> src, std::span<std::byte> dst);

}  // namespace moerge
