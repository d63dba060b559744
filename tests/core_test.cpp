// core: hashes against published test vectors, atomic publish of files and directories.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "moerge/core/error.hpp"
#include "moerge/core/hash.hpp"
#include "moerge/io/atomic.hpp"
#include "test_util.hpp"

using namespace moerge;
namespace fs = std::filesystem;

namespace {
std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }
std::size_t count_entries(const fs::path& dir) {
  std::size_t n_entry = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n_entry;
  return n_entry;
}
}  // namespace

TEST(core_hash, sha256_known_vectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(hash::sha256_hex(bytes_of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash::sha256_hex(bytes_of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hash::Sha256 incremental;
  incremental.update(bytes_of("ab"));
  incremental.update(bytes_of("c"));
  EXPECT_EQ(incremental.hex(), hash::sha256_hex(bytes_of("abc")));
}

TEST(core_hash, sha256_file_matches_memory_and_names_missing_file) {
  test::ScratchDir scratch("hash");
  std::string text(3'000'000, 'x');  // spans several read buffers
  text[1'234'567] = 'y';
  std::ofstream(scratch / "f") << text;
  EXPECT_EQ(hash::sha256_file(scratch / "f"), hash::sha256_hex(bytes_of(text)));
  EXPECT_THROW_MSG(hash::sha256_file(scratch / "absent"), IoError, "absent");
}

TEST(core_hash, xxh3_known_vector) {
  // XXH3_64bits of the empty input, from the xxHash reference.
  EXPECT_EQ(hash::xxh3_hex(bytes_of("")), "2d06800538d394c2");
  EXPECT_NE(hash::xxh3(bytes_of("a")), hash::xxh3(bytes_of("b")));
}

TEST(io_atomic, file_appears_only_on_commit) {
  test::ScratchDir scratch("atomic");
  const fs::path target = scratch / "out.bin";
  {
    io::AtomicPath atomic(target);
    EXPECT_EQ(atomic.temp().parent_path(), target.parent_path());
    std::ofstream(atomic.temp()) << "payload";
    EXPECT_FALSE(fs::exists(target));
    atomic.commit();
  }
  EXPECT_TRUE(fs::exists(target));
  EXPECT_EQ(count_entries(scratch.path()), 1u);
}

TEST(io_atomic, abandoned_write_leaves_nothing) {
  test::ScratchDir scratch("atomic");
  {
    io::AtomicPath atomic(scratch / "dir_out");
    fs::create_directories(atomic.temp() / "nested");
    std::ofstream(atomic.temp() / "nested" / "a") << "a";
  }  // no commit: as if an exception had unwound the write
  EXPECT_EQ(count_entries(scratch.path()), 0u);
}

TEST(io_atomic, refuses_overwrite_unless_asked_and_swaps_directories) {
  test::ScratchDir scratch("atomic");
  const fs::path target = scratch / "model";
  fs::create_directories(target);
  std::ofstream(target / "old") << "old";
  {
    io::AtomicPath atomic(target);
    fs::create_directories(atomic.temp());
    EXPECT_THROW_MSG(atomic.commit(), IoError, "already exists");
  }
  EXPECT_TRUE(fs::exists(target / "old"));
  {
    io::AtomicPath atomic(target, /*overwrite=*/true);
    fs::create_directories(atomic.temp());
    std::ofstream(atomic.temp() / "new") << "new";
    atomic.commit();
  }
  EXPECT_TRUE(fs::exists(target / "new"));
  EXPECT_FALSE(fs::exists(target / "old"));
  EXPECT_EQ(count_entries(scratch.path()), 1u);  // the old copy was removed, no temp left
}

TEST(io_atomic, fsync_skips_fifos_instead_of_blocking) {
  // Opening a FIFO for reading blocks until a writer appears: a recursive fsync must not try.
  test::ScratchDir scratch("atomic");
  fs::create_directories(scratch / "sub");
  std::ofstream(scratch / "sub" / "file") << "x";
  ASSERT_EQ(::mkfifo((scratch / "sub" / "pipe").c_str(), 0600), 0);
  io::fsync_path(scratch.path());
  io::fsync_dir(scratch.path());
  SUCCEED();
}
