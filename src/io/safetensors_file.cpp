// One safetensors file: the zero-copy mmap reader (SafetensorsFile) and the atomic, streaming writer.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "moerge/core/error.hpp"
#include "moerge/io/atomic.hpp"
#include "moerge/io/safetensors.hpp"
#include "safetensors_detail.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace moerge::io {

namespace {

/// Owns a POSIX file descriptor; closes it (ignoring errors) unless close() was called.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  /// Close and report failure (a deferred write error can surface here).
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_ = -1;
};

/// Buffered writes to a descriptor: small pieces are gathered, large ones go straight from the
/// caller's memory to write(2), so a tensor is never copied.
class StreamWriter {
 public:
  StreamWriter(int fd, std::string label) : fd_(fd), label_(std::move(label)) {
    buffer_.reserve(kBufferSize);
  }

  void write(std::span<const std::byte> bytes) {
    if (buffer_.size() + bytes.size() <= kBufferSize) {
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
      return;
    }
    flush();
    if (bytes.size() >= kBufferSize) {
      write_all(bytes);
    } else {
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
  }

  void flush() {
    write_all(buffer_);
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kBufferSize = std::size_t{4} << 20;

  void write_all(std::span<const std::byte> bytes) {
    // write(2) moves at most 0x7ffff000 bytes per call on Linux: loop until done.
    while (!bytes.empty()) {
      const ssize_t n_written = ::write(fd_, bytes.data(), bytes.size());
      if (n_written < 0) {
        if (errno == EINTR) continue;
        throw IoError(
            fmt::format("{}: write failed after {} bytes: {}", label_, n_total_, std::strerror(errno)));
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n_written));
      n_total_ += static_cast<std::uint64_t>(n_written);
    }
  }

  int fd_;
  std::string label_;
  std::vector<std::byte> buffer_;
  std::uint64_t n_total_ = 0;
};

/// Write the bytes `produce(writer)` emits to `path` via a temporary, then publish it.
template <typename Produce>
void publish_file(const fs::path& path, Produce&& produce) {
  if (fs::exists(path))
    throw IoError(fmt::format("{}: already exists (refusing to overwrite)", path.string()));
  AtomicPath target(path);
  {
    FileDescriptor fd(::open(target.temp().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0)
      throw IoError(fmt::format("{}: cannot create temporary file {}: {}", path.string(),
                                target.temp().string(), std::strerror(errno)));
    StreamWriter writer(fd.get(), path.string());
    produce(writer);
    writer.flush();
    if (fd.close() != 0)
      throw IoError(fmt::format("{}: close failed: {}", path.string(), std::strerror(errno)));
  }
  target.commit();
}

}  // namespace

namespace detail {

void check_tensors_to_write(std::string_view label, std::vector<TensorToWrite>& tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorToWrite& lhs, const TensorToWrite& rhs) { return lhs.name < rhs.name; });
  for (std::size_t tensor_idx = 0; tensor_idx < tensors.size(); ++tensor_idx) {
    const TensorToWrite& tensor = tensors[tensor_idx];
    if (tensor_idx > 0 && tensors[tensor_idx - 1].name == tensor.name)
      throw InputError(fmt::format("{}: tensor '{}': duplicate tensor name", label, tensor.name));
    if (tensor.name == "__metadata__")
      throw InputError(
          fmt::format("{}: tensor '__metadata__': the name is reserved for the header's metadata", label));
    if (const auto bad = first_invalid_utf8(tensor.name))
      throw InputError(fmt::format("{}: tensor name is not valid UTF-8 at byte {} (name '{}')", label, *bad,
                                   json(tensor.name).dump(-1, ' ', true, json::error_handler_t::replace)));
    for (const std::int64_t dim : tensor.shape)
      if (dim < 0)
        throw InputError(fmt::format("{}: tensor '{}': shape {} has a negative dimension {}", label,
                                     tensor.name, format_shape(tensor.shape), dim));
    const auto n_byte = checked_tensor_bytes(tensor.dtype, tensor.shape);
    if (!n_byte)
      throw InputError(fmt::format("{}: tensor '{}': element count of {} x {} overflows 64 bits", label,
                                   tensor.name, dtype_name(tensor.dtype), format_shape(tensor.shape)));
    if (tensor.data.size() != *n_byte)
      throw InputError(fmt::format("{}: tensor '{}': {} x {} needs {} bytes but {} were given", label,
                                   tensor.name, dtype_name(tensor.dtype), format_shape(tensor.shape), *n_byte,
                                   tensor.data.size()));
  }
}

void write_text_atomically(const fs::path& path, std::string_view text) {
  publish_file(path, [text](StreamWriter& writer) {
    writer.write(std::as_bytes(std::span<const char>(text.data(), text.size())));
  });
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Reader

struct SafetensorsFile::Impl {
  fs::path path;
  const std::byte* mapping = nullptr;  // the whole file, PROT_READ
  std::size_t mapping_size = 0;
  SafetensorsHeader header;
  std::map<std::string, std::size_t, std::less<>> index_of;  // name -> header.tensors index

  ~Impl() {
    if (mapping != nullptr) ::munmap(const_cast<std::byte*>(mapping), mapping_size);
  }
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

SafetensorsFile SafetensorsFile::open(const fs::path& path) {
  const std::string label = path.string();
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(fmt::format("{}: cannot open: {}", label, std::strerror(errno)));
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0)
    throw IoError(fmt::format("{}: cannot stat: {}", label, std::strerror(errno)));
  if (S_ISDIR(status.st_mode))
    throw IoError(fmt::format("{}: is a directory, not a safetensors file", label));
  if (!S_ISREG(status.st_mode)) throw IoError(fmt::format("{}: is not a regular file", label));
  const auto file_size = static_cast<std::size_t>(status.st_size);

  if (file_size < 8) {
    // mmap cannot map an empty file; the parser gives the one message for a short file.
    std::array<std::byte, 8> head{};
    const ssize_t n_read = ::pread(fd.get(), head.data(), file_size, 0);
    if (n_read < 0) throw IoError(fmt::format("{}: cannot read: {}", label, std::strerror(errno)));
    parse_safetensors(std::span<const std::byte>(head.data(), static_cast<std::size_t>(n_read)), label);
  }

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (mapping == MAP_FAILED)
    throw IoError(fmt::format("{}: cannot mmap {} bytes: {}", label, file_size, std::strerror(errno)));
  impl->mapping = static_cast<const std::byte*>(mapping);
  impl->mapping_size = file_size;
  fd.close();  // the mapping keeps the file open

  impl->header = parse_safetensors(std::span<const std::byte>(impl->mapping, file_size), label);
  for (std::size_t tensor_idx = 0; tensor_idx < impl->header.tensors.size(); ++tensor_idx)
    impl->index_of.emplace(impl->header.tensors[tensor_idx].name, tensor_idx);
  return SafetensorsFile(std::move(impl));
}

const fs::path& SafetensorsFile::path() const { return impl_->path; }
const SafetensorsHeader& SafetensorsFile::header() const { return impl_->header; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->header.metadata; }

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->index_of.size());
  for (const auto& [name, tensor_idx] : impl_->index_of) out.push_back(name);
  return out;
}

const TensorEntry* SafetensorsFile::find(std::string_view name) const {
  const auto found = impl_->index_of.find(name);
  return found == impl_->index_of.end() ? nullptr : &impl_->header.tensors[found->second];
}

TensorView SafetensorsFile::view(std::string_view name) const {
  const TensorEntry* entry = find(name);
  if (entry == nullptr) throw InputError(fmt::format("{}: has no tensor '{}'", impl_->path.string(), name));
  return view(*entry);
}

TensorView SafetensorsFile::view(const TensorEntry& entry) const {
  const std::byte* data = impl_->mapping + impl_->header.data_offset() + entry.begin;
  return TensorView{entry.dtype, entry.shape, std::span<const std::byte>(data, entry.end - entry.begin)};
}

void SafetensorsFile::release(const TensorEntry& entry) const { release_pages(view(entry).data); }

void release_pages(std::span<const std::byte> bytes) {
  // Only whole pages inside the range: a neighbour sharing a page keeps it.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
  const auto end = begin + bytes.size();
  const std::uintptr_t first = (begin + page - 1) / page * page;
  const std::uintptr_t last = end / page * page;
  // MADV_DONTNEED on a read-only private file mapping only unmaps: the data is reloaded from the
  // file on the next access, never lost. A failure just leaves the pages resident.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

// ---------------------------------------------------------------------------------------------
// Writer

void write_safetensors(const fs::path& path, std::vector<TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string label = path.string();
  detail::check_tensors_to_write(label, tensors);

  json header = json::object();
  if (!metadata.empty()) {
    json& meta = header["__metadata__"];
    meta = json::object();
    for (const auto& [key, value] : metadata) {
      if (detail::first_invalid_utf8(key) || detail::first_invalid_utf8(value))
        throw InputError(fmt::format("{}: '__metadata__' key {} or its value is not valid UTF-8", label,
                                     json(key).dump(-1, ' ', true, json::error_handler_t::replace)));
      meta[key] = value;
    }
  }
  std::uint64_t offset = 0;
  for (const TensorToWrite& tensor : tensors) {
    const std::uint64_t end = offset + tensor.data.size();
    header[tensor.name] = {
        {"dtype", dtype_name(tensor.dtype)}, {"shape", tensor.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text = header.dump();
  // Pad with spaces (valid JSON whitespace) so the data section starts 8-byte aligned.
  header_text.append((8 - (8 + header_text.size()) % 8) % 8, ' ');

  std::array<std::byte, 8> length_field{};
  for (std::size_t byte_idx = 0; byte_idx < 8; ++byte_idx)
    length_field[byte_idx] = static_cast<std::byte>((header_text.size() >> (8 * byte_idx)) & 0xffu);

  publish_file(path, [&](StreamWriter& writer) {
    writer.write(length_field);
    writer.write(std::as_bytes(std::span<const char>(header_text.data(), header_text.size())));
    for (const TensorToWrite& tensor : tensors) writer.write(tensor.data);
  });
}

}  // namespace moerge::io
