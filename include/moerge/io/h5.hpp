// The HDF5 layer: a move-only owner of hid_t, checked helpers that throw IoError with the object's
// path and HDF5's error stack as text, moerge's dtype <-> HDF5 type map (bf16 as a custom 16-bit
// float, the same in memory and in the file), and file access for serial writes (sec2) and
// parallel reads (MPI-IO, collective metadata). With library.cpp, the only code that sees hdf5.h.
#pragma once
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/tensor/dtype.hpp"

namespace moerge::io::h5 {

/// Turn off HDF5's automatic error printing for this thread (idempotent). Every helper that
/// opens or creates a file calls it, so "HDF5-DIAG" never reaches the terminal.
void silence_errors();

/// The calling thread's HDF5 error stack as one line of text, outermost call first
/// ("H5Fopen(): unable to open file (file signature not found) <- ..."); the stack is cleared.
std::string error_stack_text();

/// Throw IoError "<where>: <what>: <HDF5 error stack>".
[[noreturn]] void throw_error(std::string_view where, std::string_view what);

/// Return `rc` when it is not negative (herr_t, htri_t, hid_t, ssize_t), else throw_error.
template <class T>
T check(T rc, std::string_view where, std::string_view what) {
  if (rc < 0) throw_error(where, what);
  return rc;
}

/// Owns one hid_t (file, group, dataset, attribute, type, space or property list) and knows the
/// file and object it names, for error messages. The destructor closes without throwing and logs
/// a failure; close() throws.
class Handle {
 public:
  Handle() = default;
  /// Take ownership of `id` (throws IoError naming `file`:`object` when id is negative).
  Handle(hid_t id, std::string file, std::string object, std::string_view what);
  ~Handle();
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  const std::string& file() const { return file_; }
  const std::string& object() const { return object_; }
  /// "file:object" (or the file alone), for messages.
  std::string where() const;
  /// A path below this object ("/lora" + "A" -> "/lora/A").
  std::string child_path(std::string_view name) const;

  /// Close now; throws IoError naming the object (for files: the data is then on disk).
  void close();

 private:
  void close_noexcept() noexcept;

  hid_t id_ = H5I_INVALID_HID;
  std::string file_;
  std::string object_;
};

// --- files -------------------------------------------------------------------------------------

enum class Access { read_only, read_write };

/// Create a new file for writing by one process (sec2 driver, file format 1.8+ so attributes of any
/// size fit, no object timestamps so equal content gives equal bytes). Fails when it exists.
Handle create_file(const std::filesystem::path& path);
/// Open a file by one process (sec2). File locking is on at best effort.
Handle open_file(const std::filesystem::path& path, Access access = Access::read_only);
/// Open a file read-only on every rank of `comm` with MPI-IO and collective metadata operations.
/// Collective: every rank of `comm` must call it.
Handle open_file_parallel(const std::filesystem::path& path, const comm::Comm& comm);
/// Whether `path` starts with the HDF5 signature (no exception for a non-HDF5 file).
bool is_hdf5(const std::filesystem::path& path);

// --- types -------------------------------------------------------------------------------------

/// bf16: H5T_IEEE_F32LE with fields (sign 15, exponent 7 x 8 bits, mantissa 0 x 7 bits), offset 0,
/// precision 16, size 2, exponent bias 127.
Handle bf16_type();
/// IEEE binary16, built the same way (sign 15, exponent 10 x 5, mantissa 0 x 10, bias 15).
Handle f16_type();
/// The HDF5 type moerge stores `dtype` as: floats as IEEE/custom little-endian floats, integers as
/// little-endian integers, BOOL and the F8 types as 1-byte unsigned carriers (their real dtype is
/// in the dataset's "dtype" attribute).
Handle file_type(DType dtype);
/// The dtype a stored type holds. `dtype_attr` (the dataset's "dtype" attribute) names the dtype
/// for the 1-byte carriers and must agree with the type otherwise; throws IoError naming `where`.
DType dtype_of(hid_t type, std::string_view dtype_attr, std::string_view where);

// --- groups and links ----------------------------------------------------------------------------

/// Create the group `path` (absolute in the file, intermediate groups created) below `file`.
Handle create_group(const Handle& loc, const std::string& path);
Handle open_group(const Handle& loc, const std::string& path);
/// Whether every link along `path` exists (false rather than an error for a missing one).
bool exists(const Handle& loc, const std::string& path);
/// Names of the links directly in a group, sorted.
std::vector<std::string> children(const Handle& group);
/// Create a soft link to an object in another file (`target_file` as given, relative to the
/// linking file's directory when relative).
void create_external_link(const Handle& loc, const std::string& name, const std::string& target_file,
                          const std::string& target_object);
/// Absolute paths of every dataset reachable by hard links from `loc`, sorted.
std::vector<std::string> list_datasets(const Handle& loc);

// --- attributes ----------------------------------------------------------------------------------

/// Write (or replace) a scalar attribute: text as a fixed-length UTF-8 string, numbers as
/// little-endian int64 / float64.
void write_attr(const Handle& obj, const std::string& name, std::string_view text);
void write_attr(const Handle& obj, const std::string& name, const char* text);
void write_attr(const Handle& obj, const std::string& name, std::int64_t value);
void write_attr(const Handle& obj, const std::string& name, double value);
bool has_attr(const Handle& obj, const std::string& name);
std::string read_attr_string(const Handle& obj, const std::string& name);
std::int64_t read_attr_int(const Handle& obj, const std::string& name);
double read_attr_double(const Handle& obj, const std::string& name);
/// Every attribute of an object as text (strings verbatim, numbers formatted to round-trip).
std::map<std::string, std::string> read_attrs_as_text(const Handle& obj);

// --- datasets ------------------------------------------------------------------------------------

/// What a dataset holds: dtype, shape (row-major) and its size in bytes.
struct DatasetShape {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t n_bytes = 0;
  std::uint64_t numel() const;
};

/// The checksum text stored in a dataset's "checksum" attribute: "xxh3:" + 16 hex digits of the
/// XXH3-64 of its raw bytes (row-major, little-endian, as stored).
std::string checksum_text(std::span<const std::byte> bytes);

/// Create a contiguous dataset of `dtype` and `shape` at `path` (intermediate groups created):
/// space allocated early, never filled, "dtype" attribute set. Shape [] is a scalar.
Handle create_dataset(const Handle& loc, const std::string& path, DType dtype,
                      const std::vector<std::int64_t>& shape);
/// create_dataset + write `data` as is (memory type = file type, no conversion) + the "checksum"
/// attribute. `data` must be numel x dtype_size bytes.
Handle write_dataset(const Handle& loc, const std::string& path, DType dtype,
                     const std::vector<std::int64_t>& shape, std::span<const std::byte> data);
/// create_dataset + fill its storage with the `n_bytes` bytes of the file `source` that start at
/// `source_offset`, copied with pread/pwrite straight into the dataset's allocated space rather than
/// through H5Dwrite (no HDF5 buffering, no datatype path, no page faults on a mapping): the import
/// path's way of storing a tensor as is, at about the speed of `cp`. The bytes must be the
/// dataset's raw bytes (row-major, as stored); the "checksum" attribute is the checksum_text() of
/// exactly the bytes written. `loc` must belong to a file made by create_file (sec2: HDF5 never
/// caches the raw data of the contiguous datasets this writes).
Handle write_dataset_copy(const Handle& loc, const std::string& path, DType dtype,
                          const std::vector<std::int64_t>& shape, const std::filesystem::path& source,
                          std::uint64_t source_offset, std::uint64_t n_bytes);
Handle open_dataset(const Handle& loc, const std::string& path);
DatasetShape dataset_shape(const Handle& dataset);
/// Read a whole dataset in its own type (no conversion); `dst` must be exactly n_bytes.
void read_dataset(const Handle& dataset, std::span<std::byte> dst);
/// XXH3-64 of a dataset's bytes as checksum_text() writes it, read in blocks of at most
/// `max_block_bytes` rows so memory stays bounded.
std::string compute_checksum(const Handle& dataset, std::uint64_t max_block_bytes = 64ull << 20);
/// The dataset's byte offset in its file (contiguous layout), for tools that patch raw bytes.
std::uint64_t storage_offset(const Handle& dataset);

/// Read rows [row_begin, row_begin + n_row) along dimension 0 of a dataset of rank >= 1 into `dst`
/// (n_row x row bytes, the dataset's own type). With `collective`, the transfer is an MPI-IO
/// collective one and every rank of the file's communicator must call (n_row may be 0); returns
/// the I/O mode HDF5 actually used (H5Pget_mpio_actual_io_mode), H5D_MPIO_NO_COLLECTIVE otherwise.
H5D_mpio_actual_io_mode_t read_rows(const Handle& dataset, std::int64_t row_begin, std::int64_t n_row,
                                    std::span<std::byte> dst, bool collective);

}  // namespace moerge::io::h5
