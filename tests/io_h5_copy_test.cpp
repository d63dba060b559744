// h5::write_dataset_copy, the import path's raw copy into a dataset's allocated space: the stored
// bytes and checksum against the source slice and against HDF5's own H5Dwrite path, and the errors
// for a short or missing source. Also sha256_file against OpenSSL's one-shot digest.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/core/hash.hpp"
#include "moerge/io/h5.hpp"
#include "moerge/tensor/dtype.hpp"
#include "test_util.hpp"

namespace h5 = moerge::io::h5;
namespace hash = moerge::hash;
using moerge::DType;
using moerge::InputError;
using moerge::IoError;

namespace {

std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void write_bytes(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Deterministic pseudo-random bytes (a 64-bit LCG), so a misplaced block cannot match by chance.
std::vector<std::byte> pattern(std::size_t n_byte, std::uint64_t seed) {
  std::vector<std::byte> out(n_byte);
  std::uint64_t state = seed;
  for (auto& byte : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    byte = static_cast<std::byte>(state >> 56);
  }
  return out;
}

struct Tensor {
  std::string path;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0;  // in the source file
  std::uint64_t n_bytes = 0;
};

// A source file: 13 bytes of header, then the tensors back to back. The first tensor spans
// several of the copy's 256 KiB blocks and ends inside one.
struct Source {
  std::filesystem::path path;
  std::vector<std::byte> bytes;
  std::vector<Tensor> tensors;
};

Source make_source(const std::filesystem::path& path) {
  Source source{path, {}, {}};
  const std::vector<Tensor> shapes = {{"/params/big", DType::BF16, {300, 517}},
                                      {"/params/small", DType::F32, {3}},
                                      {"/params/empty", DType::F16, {0, 4}},
                                      {"/params/scalar", DType::I64, {}}};
  std::uint64_t offset = 13;
  for (auto tensor : shapes) {
    std::uint64_t numel = 1;
    for (const auto dim : tensor.shape) numel *= static_cast<std::uint64_t>(dim);
    tensor.offset = offset;
    tensor.n_bytes = numel * moerge::dtype_size(tensor.dtype);
    offset += tensor.n_bytes;
    source.tensors.push_back(tensor);
  }
  source.bytes = pattern(offset, 7);
  write_bytes(path, source.bytes);
  return source;
}

std::span<const std::byte> slice(const Source& source, const Tensor& tensor) {
  return std::span(source.bytes).subspan(tensor.offset, tensor.n_bytes);
}

}  // namespace

TEST(io_h5_copy, stores_the_source_slice_and_its_checksum) {
  moerge::test::ScratchDir scratch("h5copy");
  const Source source = make_source(scratch / "source.bin");
  const auto out = scratch / "copy.h5";
  {
    auto file = h5::create_file(out);
    for (const auto& tensor : source.tensors)
      h5::write_dataset_copy(file, tensor.path, tensor.dtype, tensor.shape, source.path, tensor.offset,
                             tensor.n_bytes)
          .close();
    file.close();
  }
  auto file = h5::open_file(out);
  for (const auto& tensor : source.tensors) {
    auto dataset = h5::open_dataset(file, tensor.path);
    const auto shape = h5::dataset_shape(dataset);
    EXPECT_EQ(shape.dtype, tensor.dtype) << tensor.path;
    EXPECT_EQ(shape.shape, tensor.shape) << tensor.path;
    std::vector<std::byte> stored(shape.n_bytes);
    h5::read_dataset(dataset, stored);
    const auto expected = slice(source, tensor);
    EXPECT_TRUE(std::equal(stored.begin(), stored.end(), expected.begin(), expected.end())) << tensor.path;
    const std::string checksum = h5::read_attr_string(dataset, "checksum");
    EXPECT_EQ(checksum, h5::checksum_text(expected)) << tensor.path;
    EXPECT_EQ(checksum, h5::compute_checksum(dataset)) << tensor.path;
  }
}

TEST(io_h5_copy, gives_the_same_file_as_hdf5s_own_write) {
  moerge::test::ScratchDir scratch("h5copy");
  const Source source = make_source(scratch / "source.bin");
  const auto copied = scratch / "copied.h5";
  const auto written = scratch / "written.h5";
  {
    auto file = h5::create_file(copied);
    for (const auto& tensor : source.tensors)
      h5::write_dataset_copy(file, tensor.path, tensor.dtype, tensor.shape, source.path, tensor.offset,
                             tensor.n_bytes)
          .close();
    file.close();
  }
  {
    auto file = h5::create_file(written);
    for (const auto& tensor : source.tensors)
      h5::write_dataset(file, tensor.path, tensor.dtype, tensor.shape, slice(source, tensor)).close();
    file.close();
  }
  EXPECT_EQ(file_bytes(copied), file_bytes(written));
}

TEST(io_h5_copy, refuses_a_short_or_missing_source_and_a_size_mismatch) {
  moerge::test::ScratchDir scratch("h5copy");
  const Source source = make_source(scratch / "source.bin");
  const Tensor& big = source.tensors.front();
  auto file = h5::create_file(scratch / "out.h5");
  const auto size = static_cast<std::uint64_t>(source.bytes.size());
  EXPECT_THROW_MSG(h5::write_dataset_copy(file, "/a", big.dtype, big.shape, source.path,
                                          size - big.n_bytes + 2, big.n_bytes),
                   IoError, "2 bytes short of the tensor");
  EXPECT_THROW_MSG(
      h5::write_dataset_copy(file, "/b", big.dtype, big.shape, scratch / "missing.bin", 0, big.n_bytes),
      IoError, "missing.bin");
  EXPECT_THROW_MSG(h5::write_dataset_copy(file, "/c", big.dtype, big.shape, source.path, 0, big.n_bytes - 2),
                   InputError, "310198 bytes given for 155100 elements of BF16");
}

TEST(hash_sha256_file, equals_the_one_shot_digest) {
  moerge::test::ScratchDir scratch("sha");
  // Sizes around the 256 KiB read buffer, and the empty file.
  for (const std::size_t n_byte :
       {std::size_t{0}, std::size_t{1}, std::size_t{262144}, std::size_t{262145}, std::size_t{1000003}}) {
    const auto bytes = pattern(n_byte, n_byte + 1);
    const auto path = scratch / ("f" + std::to_string(n_byte));
    write_bytes(path, bytes);
    EXPECT_EQ(hash::sha256_file(path), hash::sha256_hex(bytes)) << n_byte << " bytes";
  }
  // Known digests: the empty input and "abc" (FIPS 180-4's example).
  EXPECT_EQ(hash::sha256_file(scratch / "f0"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string abc = "abc";
  write_bytes(scratch / "abc", std::as_bytes(std::span(abc)));
  EXPECT_EQ(hash::sha256_file(scratch / "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
