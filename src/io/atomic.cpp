// AtomicPath: temp + fsync + rename (see include/moerge/io/atomic.hpp).
#include "moerge/io/atomic.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"

namespace fs = std::filesystem;

namespace moerge::io {

namespace {

void fsync_one(const fs::path& path, bool is_dir) {
  const int fd = ::open(path.c_str(), (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("{}: cannot open to fsync: {}", path.string(), std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  // Some filesystems refuse fsync on directories (EINVAL); the data files were synced already.
  if (rc != 0 && !(is_dir && saved_errno == EINVAL))
    throw IoError(fmt::format("{}: fsync failed: {}", path.string(), std::strerror(saved_errno)));
}

fs::path make_temp_name(const fs::path& final_path) {
  static std::atomic<unsigned> counter{0};
  const auto name = fmt::format(".{}.tmp-{}-{}", final_path.filename().string(), ::getpid(), counter++);
  return final_path.parent_path() / name;
}

}  // namespace

void fsync_path(const fs::path& path) {
  if (fs::is_directory(path)) {
    // Only regular files and directories: opening a FIFO or socket could block or fail.
    for (const auto& entry : fs::recursive_directory_iterator(path))
      if (entry.is_regular_file() || entry.is_directory()) fsync_one(entry.path(), entry.is_directory());
    fsync_one(path, true);
  } else {
    fsync_one(path, false);
  }
}

void fsync_dir(const fs::path& dir) { fsync_one(dir.empty() ? fs::path(".") : dir, true); }

AtomicPath::AtomicPath(fs::path final_path, bool overwrite)
    : final_(std::move(final_path)), overwrite_(overwrite) {
  if (final_.filename().empty()) final_ = final_.parent_path();
  if (final_.parent_path().empty()) final_ = fs::path(".") / final_;
  temp_ = make_temp_name(final_);
}

AtomicPath::AtomicPath(AtomicPath&& other) noexcept
    : final_(std::move(other.final_)), temp_(std::move(other.temp_)), overwrite_(other.overwrite_), done_(other.done_) {
  other.done_ = true;
}

AtomicPath::~AtomicPath() {
  if (done_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
  if (ec) log::warn("could not remove temporary {}: {}", temp_.string(), ec.message());
}

void AtomicPath::commit() {
  if (done_) return;
  if (!fs::exists(temp_)) throw IoError(fmt::format("{}: nothing was written to publish", final_.string()));
  fsync_path(temp_);
  const bool temp_is_dir = fs::is_directory(temp_);
  std::error_code ec;
  if (fs::exists(final_)) {
    if (!overwrite_) throw IoError(fmt::format("{}: already exists (refusing to overwrite)", final_.string()));
    if (temp_is_dir) {
      // rename() cannot replace a non-empty directory: move the old one aside first.
      const fs::path old = make_temp_name(final_);
      fs::rename(final_, old, ec);
      if (ec) throw IoError(fmt::format("{}: cannot move aside for replacement: {}", final_.string(), ec.message()));
      fs::rename(temp_, final_, ec);
      if (ec) {
        fs::rename(old, final_);
        throw IoError(fmt::format("{}: cannot publish: {}", final_.string(), ec.message()));
      }
      fs::remove_all(old, ec);
      done_ = true;
      fsync_one(final_.parent_path(), true);
      return;
    }
  }
  fs::rename(temp_, final_, ec);
  if (ec) throw IoError(fmt::format("{}: cannot publish {}: {}", final_.string(), temp_.string(), ec.message()));
  done_ = true;
  fsync_one(final_.parent_path(), true);
}

}  // namespace moerge::io
