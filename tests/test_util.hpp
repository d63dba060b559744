// Shared test helpers: exception-text assertions, scratch directories, paths to test data.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

/// Assert that `statement` throws `exception_type` whose what() contains `substring`.
#define EXPECT_THROW_MSG(statement, exception_type, substring)                                   \
  do {                                                                                          \
    bool moerge_caught_ = false;                                                                \
    try {                                                                                       \
      statement;                                                                                \
    } catch (const exception_type& moerge_error_) {                                             \
      moerge_caught_ = true;                                                                    \
      EXPECT_NE(std::string(moerge_error_.what()).find(substring), std::string::npos)           \
          << "message was: " << moerge_error_.what();                                           \
    }                                                                                           \
    EXPECT_TRUE(moerge_caught_) << "expected " #exception_type " from " #statement;             \
  } while (false)

namespace moerge::test {

inline std::filesystem::path source_dir() { return MOERGE_SOURCE_DIR; }
inline std::filesystem::path data_dir() { return source_dir() / "tests" / "data"; }

/// A fresh directory under the build tree, removed when the test ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag = "scratch") {
    std::random_device device;
    path_ = std::filesystem::path(MOERGE_BINARY_DIR) / "test-scratch" /
            (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(device()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace moerge::test
