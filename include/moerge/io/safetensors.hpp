// safetensors: a validating header parser, a zero-copy mmap reader, an atomic writer, and sharded
// `model.safetensors.index.json` sets. Format: 8-byte little-endian header length N, N bytes of
// UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then
// the data section; offsets are relative to the data section.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/tensor/dtype.hpp"
#include "moerge/tensor/view.hpp"

namespace moerge::io {

/// One tensor as the header describes it; begin/end are byte offsets into the data section.
struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::uint64_t header_size = 0;                 // N, the JSON length
  std::map<std::string, std::string> metadata;   // "__metadata__"
  std::vector<TensorEntry> tensors;              // ordered by begin offset
  std::uint64_t data_offset() const { return 8 + header_size; }
};

/// Largest header accepted (bytes), as the reference implementation.
inline constexpr std::uint64_t kMaxHeaderSize = 100'000'000;

/// Validate the whole layout of a safetensors file held in `file_bytes` (the complete file) and
/// return its header. Every rule of the format is checked before anything is allocated by a size
/// read from the file; a violation throws InputError naming `label` (the file), the key and the
/// bad value.
SafetensorsHeader parse_safetensors(std::span<const std::byte> file_bytes, std::string_view label);

/// Refuse pickle checkpoints (`.bin`, `.pt`, `.pth`, `.ckpt`, or a zip/pickle magic) with a message
/// that says to convert them to safetensors. Does nothing for other files.
void refuse_pickle(const std::filesystem::path& path);

/// A read-only, memory-mapped safetensors file; views point into the mapping (zero copy).
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const;
  const SafetensorsHeader& header() const;
  const std::map<std::string, std::string>& metadata() const;
  std::vector<std::string> names() const;  // sorted
  const TensorEntry* find(std::string_view name) const;
  /// The tensor's bytes in the mapping; throws InputError naming the file and key when absent.
  TensorView view(std::string_view name) const;
  TensorView view(const TensorEntry& entry) const;
  /// Drop the tensor's pages from this process's resident memory (they stay in the page cache and
  /// are read back on the next access), so streaming a large file keeps RSS bounded.
  void release(const TensorEntry& entry) const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Drop the whole pages inside `bytes` (a range of a read-only file mapping) from this process's
/// resident memory; they stay in the page cache and are mapped again on the next access. Streaming
/// readers call it on each block they have consumed, so RSS stays bounded by their buffers.
void release_pages(std::span<const std::byte> bytes);

/// A tensor to write: the bytes are copied out as they are (any dtype).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

/// Write one safetensors file atomically (temp + fsync + rename): keys sorted, header padded with
/// spaces so the data section starts 8-byte aligned, tensors laid out in key order.
/// Throws InputError on a duplicate name or a size that differs from dtype x shape.
void write_safetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// `model.safetensors.index.json`: {"metadata": {...}, "weight_map": {tensor: shard file}}.
struct ShardIndex {
  std::map<std::string, std::string> metadata;    // values kept as JSON text (e.g. total_size)
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name (relative)
};
/// Parse and validate an index: shard paths relative, without "..", every shard present.
ShardIndex read_shard_index(const std::filesystem::path& index_path);
void write_shard_index(const std::filesystem::path& index_path, const ShardIndex& index);

/// Every tensor of a model directory as one set: `<stem>.safetensors`, or the shards named by
/// `<stem>.safetensors.index.json` (each tensor must be in the shard the index names). Pickle
/// checkpoints in the directory are refused when no safetensors is present.
class TensorSet {
 public:
  static TensorSet open_dir(const std::filesystem::path& dir, std::string_view stem = "model");
  /// A single file as a set.
  static TensorSet open_file(const std::filesystem::path& file);

  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view name) const;
  const TensorEntry& entry(std::string_view name) const;  // throws InputError when absent
  TensorView view(std::string_view name) const;            // throws InputError when absent
  const std::filesystem::path& file_of(std::string_view name) const;
  /// See SafetensorsFile::release: once a tensor has been consumed, give its pages back.
  void release(std::string_view name) const;
  const std::filesystem::path& source() const { return source_; }  // the dir or file opened

 private:
  std::filesystem::path source_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::size_t, std::less<>> file_of_tensor_;  // name -> index into files_
};

/// Write tensors as `model-00001-of-0000N.safetensors` shards of at most `max_shard_bytes` data
/// each, plus `model.safetensors.index.json` (or one `model.safetensors` when a single shard
/// suffices), into an existing directory `dir`.
void write_sharded(const std::filesystem::path& dir, std::vector<TensorToWrite> tensors,
                   std::uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata = {});

}  // namespace moerge::io
