// Atomic publish: write under a temporary name beside the final one, fsync, rename. A reader never
// sees a half-written file or directory, and a failure leaves nothing under the final name.
#pragma once
#include <filesystem>

namespace moerge::io {

/// A file or directory being written. `temp()` is where to write (same directory as the final
/// path, so the rename is atomic on one filesystem); `commit()` fsyncs the temp (recursively for a
/// directory), renames it to the final path and fsyncs the parent directory. Destroyed without
/// commit, the temp is removed.
class AtomicPath {
 public:
  /// `overwrite`: whether commit() may replace an existing final path (a directory is swapped via
  /// a second rename; a file is replaced atomically by rename()).
  explicit AtomicPath(std::filesystem::path final_path, bool overwrite = false);
  ~AtomicPath();
  AtomicPath(AtomicPath&& other) noexcept;
  AtomicPath& operator=(AtomicPath&&) = delete;
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;

  const std::filesystem::path& temp() const { return temp_; }
  const std::filesystem::path& final_path() const { return final_; }
  void commit();

 private:
  std::filesystem::path final_;
  std::filesystem::path temp_;
  bool overwrite_ = false;
  bool done_ = false;
};

/// fsync a file, or every file and directory under a directory (throws IoError naming the path).
void fsync_path(const std::filesystem::path& path);
/// fsync one directory's own entries (after a rename into it), not what lies below it.
void fsync_dir(const std::filesystem::path& dir);

}  // namespace moerge::io
