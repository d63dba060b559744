// Helpers shared by the safetensors sources (parser, reader/writer, shard index); not public API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/io/safetensors.hpp"
#include "moerge/tensor/dtype.hpp"

namespace moerge::io::detail {

/// Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code points above
/// U+10FFFF included), or nullopt when `text` is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

/// Parse `text` as JSON, refusing invalid UTF-8, duplicate keys in any object and nesting deeper
/// than a safetensors header or shard index can hold. Errors throw InputError
/// "{label}: {what} ..." where `what` names the document ("header", "index").
nlohmann::json parse_json_strict(std::string_view text, std::string_view label, std::string_view what);

/// "[4, 4]".
std::string format_shape(std::span<const std::int64_t> shape);

/// A JSON value for an error message, cut to a readable length.
std::string brief_json(const nlohmann::json& value);

/// Number of bytes dtype x shape needs, or nullopt when the element count or the byte count
/// overflows (every prefix product of the shape must fit in int64, as TensorView::numel needs).
/// Precondition: no dimension is negative.
std::optional<std::uint64_t> checked_tensor_bytes(DType dtype, std::span<const std::int64_t> shape);

/// True when the first bytes of a file of `file_size` bytes are a PyTorch checkpoint's (a zip
/// archive, or a raw pickle with protocol 2 to 5) and not a plausible safetensors header.
bool looks_like_pickle(std::span<const std::byte> head, std::uint64_t file_size);

/// The one message for a pickle checkpoint.
std::string pickle_message(std::string_view label);

/// Extensions of PyTorch pickle checkpoints.
bool has_pickle_extension(std::string_view filename);

/// Sort tensors by name and check them for writing: unique names other than "__metadata__",
/// valid UTF-8, non-negative dimensions, and data of exactly dtype x shape bytes. Throws
/// InputError "{label}: tensor '...': ...".
void check_tensors_to_write(std::string_view label, std::vector<TensorToWrite>& tensors);

/// Write `text` to `path` atomically (temp + fsync + rename); refuses an existing `path`.
void write_text_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace moerge::io::detail
