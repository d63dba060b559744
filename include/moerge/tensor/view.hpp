// A non-owning view of one tensor's bytes: dtype, shape (row-major) and data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <vector>

#include "moerge/tensor/dtype.hpp"

namespace moerge {

struct TensorView {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // row-major (C order)
  std::span<const std::byte> data;  // numel() * dtype_size(dtype) bytes

  std::int64_t numel() const {
    return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
  }
};

}  // namespace moerge
