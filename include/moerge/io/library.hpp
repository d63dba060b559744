// The HDF5 expert library: a directory holding one base model, its experts (LoRA adapters and full
// fine-tunes, with routing statistics) and merges, one HDF5 file per object plus an index
// (library.h5), every file published atomically. Import from / export to HF and PEFT directories,
// list, describe, verify, remove, and collective row-block reads for the merge engine.
// Schema and behaviour: docs/library.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/tensor/dtype.hpp"
#include "moerge/tensor/view.hpp"

namespace moerge::io {

/// Root attribute "moerge_format" of every file the library writes.
inline constexpr std::string_view kLibraryFormat = "moerge-library/1";

enum class ObjectKind { base, lora, full, merge };
std::string_view kind_name(ObjectKind kind);
std::optional<ObjectKind> kind_from_name(std::string_view name);

using Tags = std::map<std::string, std::string>;

/// Refuse an object name other than [A-Za-z0-9._-]+ (at most 200 characters, not starting with
/// '.'), or a reserved one ("base" when `allow_base` is false); InputError names it.
void check_object_name(std::string_view name, bool allow_base = false);
/// Parse "KEY=VALUE" items (KEY as an object name, VALUE non-empty printable text); InputError
/// naming the bad item.
Tags parse_tags(const std::vector<std::string>& items);

/// One object as the index (library.h5) catalogues it.
struct CatalogueEntry {
  std::string name;
  ObjectKind kind = ObjectKind::base;
  std::string file;  // relative to the library: base.h5, experts/<name>.h5, merges/<name>.h5
  Tags tags;
  std::string sha256;         // of the object file
  std::uint64_t size = 0;     // bytes of the object file
  std::string created;        // ISO 8601 UTC, e.g. 2024-06-11T09:30:00Z
  std::string source;         // the directory it was imported from (absolute)
  std::int64_t r = 0;         // LoRA rank; 0 for other kinds
  std::uint64_t n_param = 0;  // elements of its weights (/params or /lora; statistics excluded)
  std::string dtypes;         // dtypes of those weights, comma-separated, e.g. "BF16" or "BF16,F32"
};

/// One dataset of an object file.
struct DatasetInfo {
  std::string path;  // in the object file, e.g. /lora/model.layers.0.self_attn.q_proj/A
  std::string key;   // the safetensors key it was imported from
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // row-major
  std::uint64_t n_bytes = 0;
  std::string checksum;  // "xxh3:<16 hex digits>" as stored
};

/// Everything `moerge library show` prints about one object.
struct ObjectDescription {
  CatalogueEntry entry;
  std::map<std::string, std::string> attrs;  // root attributes of the object file, as text
  std::vector<DatasetInfo> datasets;         // sorted by path
};

/// One disagreement found by verify: which file, which dataset ("" for the file itself), what,
/// and the expected and actual values.
struct VerifyProblem {
  std::string file;
  std::string dataset;
  std::string what;
  std::string expected;
  std::string actual;
};

struct VerifyReport {
  std::size_t n_object = 0;
  std::size_t n_dataset = 0;
  std::vector<VerifyProblem> problems;  // sorted by file, then dataset
  bool ok() const { return problems.empty(); }
};

/// Thrown by collective operations on every rank of the communicator at once, with the same
/// message (the failures of all ranks), after the ranks agreed on the failure: callers may report
/// it once and return normally; no rank is left waiting.
class AgreedError : public Error {
 public:
  using Error::Error;
};

/// Run `work` on every rank. With one rank, errors propagate as they are. With more, the ranks
/// agree on failure and every rank throws the same AgreedError holding every rank's message (said
/// once when every rank failed the same way), so no rank waits for a peer that gave up.
void run_agreed(const comm::Comm& comm, const std::function<void()>& work);

struct ImportOptions {
  std::optional<std::string> name;  // the object's name; default: the directory's basename
  Tags tags;
  bool replace = false;  // replace an object of the same name
  std::string created;   // the stamp to record (ISO 8601 UTC); empty: now
};

/// How HDF5 actually performed a parallel transfer (H5Pget_mpio_actual_io_mode).
enum class IoMode { independent, chunk_independent, chunk_collective, chunk_mixed, contiguous_collective };
std::string_view io_mode_name(IoMode mode);
inline bool io_mode_is_collective(IoMode mode) {
  return mode == IoMode::chunk_collective || mode == IoMode::contiguous_collective;
}

class Library {
 public:
  /// Create a library at `dir` whose base is the HF model directory `base_dir`. Refuses an
  /// existing non-empty `dir` unless `force`, which replaces it (atomically, as a whole).
  static Library create(const std::filesystem::path& dir, const std::filesystem::path& base_dir,
                        const ImportOptions& options, bool force, bool quiet = false);
  /// Open an existing library (reads and checks its index).
  static Library open(const std::filesystem::path& dir, bool quiet = false);

  const std::filesystem::path& dir() const { return dir_; }
  /// Every object, sorted by name.
  const std::vector<CatalogueEntry>& catalogue() const { return catalogue_; }
  const CatalogueEntry* find(std::string_view name) const;
  /// The entry of `name`; InputError naming the library and the names it holds when absent.
  const CatalogueEntry& entry(std::string_view name) const;
  /// The object file of a catalogued object.
  std::filesystem::path object_path(std::string_view name) const;
  /// Tensor name -> shape of the base model (from base.h5).
  ShapeMap base_shapes() const;
  /// Re-read the index (after another process or rank changed it).
  void reload();

  /// Import PEFT adapter / HF full fine-tune directories as experts/<name>.h5. Collective over
  /// `comm`: the directories are split over its ranks, each rank writes its own objects, rank 0
  /// rewrites the index once. Every directory is validated against the base before anything is
  /// written. On failure on any rank, every rank throws AgreedError (with one rank, the original
  /// error) and nothing is published. Returns the new entries (on every rank).
  std::vector<CatalogueEntry> import_experts(const std::vector<std::filesystem::path>& dirs,
                                             const ImportOptions& options, const comm::Comm& comm);
  /// import_experts of one directory in this process alone.
  CatalogueEntry import_expert(const std::filesystem::path& dir, const ImportOptions& options);

  /// Remove an object: the index is rewritten without it first, then its file is deleted.
  void remove(std::string_view name);

  /// Check each object (all when `names` is empty): file present, size and SHA-256 as catalogued,
  /// written by moerge, and every dataset's XXH3 as its checksum attribute says. Collective over
  /// `comm` (objects split over ranks); the same report on every rank.
  VerifyReport verify(const std::vector<std::string>& names, const comm::Comm& comm) const;

  /// Write an object back as a HF model directory (config.json verbatim + model.safetensors, or
  /// shards past 5 GB) or a PEFT adapter directory (adapter_config.json verbatim +
  /// adapter_model.safetensors), plus its statistics files, with the original tensor names and
  /// bytes. `out_dir` must not exist or be empty; it appears atomically.
  void export_object(std::string_view name, const std::filesystem::path& out_dir) const;

  ObjectDescription describe(std::string_view name) const;

  /// Catalogue an object file already published at its place (merges/<name>.h5 for a merge,
  /// experts/<name>.h5 for an expert), written with the root attributes moerge_format, name and
  /// kind and a checksum attribute on each dataset (see docs/library.md).
  CatalogueEntry register_object(std::string_view name, ObjectKind kind, const Tags& tags,
                                 const std::string& source);

 private:
  Library(std::filesystem::path dir, bool quiet);

  std::filesystem::path dir_;
  bool quiet_ = false;
  std::vector<CatalogueEntry> catalogue_;
};

/// One library object opened on every rank of a communicator with MPI-IO (collective metadata),
/// for collective row-block reads in the dataset's own dtype (the merge engine's input path).
/// Every member function is collective: all ranks call it in the same order with the same path.
class ParallelObjectReader {
 public:
  /// Checks that `name` is catalogued, its size is as catalogued and the file is moerge's.
  ParallelObjectReader(const Library& library, std::string_view name, const comm::Comm& comm);
  ~ParallelObjectReader();
  ParallelObjectReader(ParallelObjectReader&&) noexcept;
  ParallelObjectReader& operator=(ParallelObjectReader&&) noexcept;
  ParallelObjectReader(const ParallelObjectReader&) = delete;
  ParallelObjectReader& operator=(const ParallelObjectReader&) = delete;

  std::vector<std::string> datasets() const;
  DatasetInfo dataset(const std::string& path) const;
  /// Read rows [row_begin, row_begin + n_row) of dimension 0 into `dst` (n_row x row bytes); every
  /// rank passes its own block (possibly empty). Returns the I/O mode HDF5 reports.
  IoMode read_rows(const std::string& path, std::int64_t row_begin, std::int64_t n_row,
                   std::span<std::byte> dst);
  /// Close the file now (collective); errors throw.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ============================================================================================
// One object read whole by one process (the runtime's loaders), object references, and the
// routing statistics `moerge stats` adds to expert files (docs/library.md, "Statistics").
// ============================================================================================

/// The catalogue entry an object path of a reference names ("base", "experts/NAME",
/// "merges/NAME", as in `LIB/:experts/NAME`); InputError naming the library and the path when
/// the path has another form, the object is absent, or its kind is not the folder's.
const CatalogueEntry& entry_at(const Library& library, std::string_view object_path);

/// A dataset read whole, in its own dtype (row-major).
struct StoredTensor {
  std::string path;  // in the object file
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
  TensorView view() const { return TensorView{.dtype = dtype, .shape = shape, .data = data}; }
};

/// One catalogued object opened by this process alone (a rank opens only the objects it hosts).
/// Opening checks that the file's size and SHA-256 are as catalogued and that its root attributes
/// moerge_format, name and kind match; read() checks each dataset's checksum.
class ObjectFile {
 public:
  ObjectFile(const Library& library, std::string_view name);
  ~ObjectFile();
  ObjectFile(ObjectFile&&) noexcept;
  ObjectFile& operator=(ObjectFile&&) noexcept;
  ObjectFile(const ObjectFile&) = delete;
  ObjectFile& operator=(const ObjectFile&) = delete;

  const CatalogueEntry& entry() const;
  const std::filesystem::path& path() const;
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  std::int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;
  /// Whether a link (group or dataset) exists at `path`.
  bool exists(const std::string& path) const;
  /// Every dataset path starting with `prefix` (e.g. "/lora/"), sorted.
  std::vector<std::string> datasets(std::string_view prefix = "/") const;
  DatasetInfo info(const std::string& path) const;
  /// The dataset's bytes; IoError naming the file and dataset when its checksum differs.
  StoredTensor read(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A statistics dataset to store; `path` starts with "/stats/".
struct StatsDataset {
  std::string path;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // [] for a scalar
  std::vector<std::byte> data;      // numel x dtype size
  std::string key;                  // the "key" attribute (a safetensors name, for export); may be empty
};

/// New statistics for one expert: the objects /stats/<kind> of `kinds` are replaced as a whole
/// by `datasets` (a kind without datasets is removed); everything else is kept.
struct StatsUpdate {
  std::string name;
  std::string expected_sha256;     // the file the statistics were computed from
  std::vector<std::string> kinds;  // e.g. "arrow", "embedding"
  std::vector<StatsDataset> datasets;
  std::map<std::string, std::map<std::string, std::string>> attrs;  // object path -> text attributes
};

/// Rewrite each updated expert file: a temporary copy holding every other group, dataset and
/// attribute as they are (checksums included) plus the new statistics (each dataset with its
/// checksum attribute), fsync'd and renamed over the file; then the index with the new SHA-256 and
/// size. Collective over `comm`: every rank passes its own updates (possibly none), rank 0 holds
/// the library lock and rewrites the index once. Refuses (InputError) an object that is not an
/// expert, or whose file no longer has `expected_sha256` (changed meanwhile). Failure on any rank:
/// AgreedError on every rank (one rank: the original error) and nothing under a final name
/// changes. Returns the new entries of every rank.
std::vector<CatalogueEntry> store_stats(Library& library, const std::vector<StatsUpdate>& updates,
                                        const comm::Comm& comm);

}  // namespace moerge::io
