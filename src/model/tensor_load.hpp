// Internal to src/model: tensors of a validated safetensors set converted to f32 Eigen storage.
#pragma once
#include <string>

#include "moerge/io/safetensors.hpp"
#include "moerge/model/routing.hpp"

namespace moerge::model::detail {

/// Tensor `name` (F32, F16 or BF16) as an f32 [n_row, n_col] row-major matrix; InputError naming
/// the file and the tensor when its size differs or it holds a NaN or an infinity.
Matrix load_matrix(const io::TensorSet& tensors, const std::string& name, int n_row, int n_col);
Vector load_vector(const io::TensorSet& tensors, const std::string& name, int n);

}  // namespace moerge::model::detail
