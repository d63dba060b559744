// The HDF5 layer: bf16/f16 types against tensor/dtype.hpp, every dtype round trip, checksums,
// error messages that name the file and object, and silence of HDF5's own printing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/core/hash.hpp"
#include "moerge/io/h5.hpp"
#include "moerge/tensor/dtype.hpp"
#include "test_util.hpp"

namespace h5 = moerge::io::h5;
using moerge::DType;
using moerge::IoError;

namespace {

std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

template <class T>
std::span<const std::byte> bytes_of(const std::vector<T>& values) {
  return std::as_bytes(std::span(values));
}

// Every 16-bit pattern, in order.
std::vector<std::uint16_t> all_16bit_patterns() {
  std::vector<std::uint16_t> out(1u << 16);
  for (std::uint32_t bits = 0; bits < (1u << 16); ++bits) out[bits] = static_cast<std::uint16_t>(bits);
  return out;
}

// Read a dataset converted by HDF5 itself to native float: an independent decoder of our types.
std::vector<float> read_as_native_float(const h5::Handle& dataset, std::size_t n) {
  std::vector<float> out(n);
  EXPECT_GE(H5Dread(dataset.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0);
  return out;
}

void expect_same_float(float expected, float actual, std::uint32_t bits) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << "pattern " << bits;
    return;
  }
  std::uint32_t expected_bits = 0, actual_bits = 0;
  std::memcpy(&expected_bits, &expected, 4);
  std::memcpy(&actual_bits, &actual, 4);
  EXPECT_EQ(expected_bits, actual_bits)
      << "pattern " << bits << ": expected " << expected << ", HDF5 gave " << actual;
}

}  // namespace

TEST(io_h5, bf16_type_decodes_every_pattern_like_dtype_hpp) {
  moerge::test::ScratchDir dir("h5");
  const auto patterns = all_16bit_patterns();
  auto file = h5::create_file(dir / "bf16.h5");
  auto dataset = h5::write_dataset(file, "/x", DType::BF16, {256, 256}, bytes_of(patterns));
  // Raw bytes come back unchanged (memory type = file type).
  std::vector<std::uint16_t> raw(patterns.size());
  h5::read_dataset(dataset, std::as_writable_bytes(std::span(raw)));
  EXPECT_EQ(raw, patterns);
  // HDF5's own conversion of the custom type agrees with bf16_to_f32 on every pattern, bit for
  // bit (bf16 -> f32 is exact), NaNs staying NaN.
  const auto decoded = read_as_native_float(dataset, patterns.size());
  for (std::uint32_t bits = 0; bits < patterns.size(); ++bits)
    expect_same_float(moerge::bf16_to_f32(static_cast<std::uint16_t>(bits)), decoded[bits], bits);
  EXPECT_EQ(h5::dataset_shape(dataset).dtype, DType::BF16);
}

TEST(io_h5, f16_type_decodes_every_pattern_like_dtype_hpp) {
  moerge::test::ScratchDir dir("h5");
  const auto patterns = all_16bit_patterns();
  auto file = h5::create_file(dir / "f16.h5");
  auto dataset = h5::write_dataset(file, "/x", DType::F16, {1 << 16}, bytes_of(patterns));
  const auto decoded = read_as_native_float(dataset, patterns.size());
  for (std::uint32_t bits = 0; bits < patterns.size(); ++bits)
    expect_same_float(moerge::f16_to_f32(static_cast<std::uint16_t>(bits)), decoded[bits], bits);
  EXPECT_EQ(h5::dataset_shape(dataset).dtype, DType::F16);
  // Our F16 is HDF5's IEEE half as far as HDF5 is concerned: it decodes the same as a type built
  // from H5T_NATIVE_FLOAT's fields would, and is distinguishable from bf16.
  auto bf16 = h5::bf16_type();
  auto f16 = h5::f16_type();
  EXPECT_EQ(H5Tequal(bf16.id(), f16.id()), 0);
  EXPECT_EQ(H5Tget_size(bf16.id()), 2u);
  EXPECT_EQ(H5Tget_ebias(bf16.id()), 127u);
  EXPECT_EQ(H5Tget_ebias(f16.id()), 15u);
}

TEST(io_h5, every_dtype_round_trips_with_its_name) {
  moerge::test::ScratchDir dir("h5");
  auto file = h5::create_file(dir / "all.h5");
  const std::vector<DType> dtypes{DType::BOOL, DType::U8,  DType::I8,  DType::F8_E5M2, DType::F8_E4M3,
                                  DType::I16,  DType::U16, DType::F16, DType::BF16,    DType::I32,
                                  DType::U32,  DType::F32, DType::I64, DType::U64,     DType::F64};
  for (const DType dtype : dtypes) {
    const std::size_t n_byte = 3 * 5 * moerge::dtype_size(dtype);
    std::vector<std::byte> data(n_byte);
    for (std::size_t idx = 0; idx < n_byte; ++idx) data[idx] = static_cast<std::byte>((idx * 37 + 11) & 0xff);
    const std::string name = "/t/" + std::string(moerge::dtype_name(dtype));
    h5::write_dataset(file, name, dtype, {3, 5}, data);
    auto dataset = h5::open_dataset(file, name);
    const auto shape = h5::dataset_shape(dataset);
    EXPECT_EQ(shape.dtype, dtype) << name;
    EXPECT_EQ(shape.shape, (std::vector<std::int64_t>{3, 5}));
    EXPECT_EQ(shape.n_bytes, n_byte);
    std::vector<std::byte> back(n_byte);
    h5::read_dataset(dataset, back);
    EXPECT_EQ(back, data) << name;
  }
  EXPECT_EQ(h5::list_datasets(file).size(), dtypes.size());
}

TEST(io_h5, checksum_attribute_is_xxh3_of_the_raw_bytes) {
  moerge::test::ScratchDir dir("h5");
  std::vector<float> values(1000);
  for (std::size_t idx = 0; idx < values.size(); ++idx) values[idx] = static_cast<float>(idx) * 0.25f - 7.0f;
  auto file = h5::create_file(dir / "sum.h5");
  auto dataset = h5::write_dataset(file, "/params/w", DType::F32, {100, 10}, bytes_of(values));
  const std::string expected = "xxh3:" + moerge::hash::xxh3_hex(bytes_of(values));
  EXPECT_EQ(h5::read_attr_string(dataset, "checksum"), expected);
  EXPECT_EQ(h5::read_attr_string(dataset, "dtype"), "F32");
  // Streaming in blocks of 3 rows (120 bytes) gives the same digest as the one-shot hash.
  EXPECT_EQ(h5::compute_checksum(dataset, 120), expected);
  EXPECT_EQ(h5::compute_checksum(dataset), expected);
}

TEST(io_h5, scalar_and_empty_datasets_round_trip) {
  moerge::test::ScratchDir dir("h5");
  auto file = h5::create_file(dir / "edge.h5");
  const std::vector<double> scalar{3.5};
  h5::write_dataset(file, "/scalar", DType::F64, {}, bytes_of(scalar));
  h5::write_dataset(file, "/empty", DType::F32, {0, 4}, {});
  auto scalar_set = h5::open_dataset(file, "/scalar");
  EXPECT_TRUE(h5::dataset_shape(scalar_set).shape.empty());
  std::vector<double> back(1);
  h5::read_dataset(scalar_set, std::as_writable_bytes(std::span(back)));
  EXPECT_EQ(back[0], 3.5);
  auto empty_set = h5::open_dataset(file, "/empty");
  EXPECT_EQ(h5::dataset_shape(empty_set).shape, (std::vector<std::int64_t>{0, 4}));
  EXPECT_EQ(h5::dataset_shape(empty_set).n_bytes, 0u);
  EXPECT_EQ(h5::compute_checksum(empty_set), "xxh3:" + moerge::hash::xxh3_hex({}));
}

TEST(io_h5, read_rows_returns_the_row_block) {
  moerge::test::ScratchDir dir("h5");
  std::vector<std::uint16_t> values(7 * 3);
  for (std::size_t idx = 0; idx < values.size(); ++idx)
    values[idx] = static_cast<std::uint16_t>(idx * 1000 + 1);
  auto file = h5::create_file(dir / "rows.h5");
  auto dataset = h5::write_dataset(file, "/w", DType::BF16, {7, 3}, bytes_of(values));
  std::vector<std::uint16_t> block(3 * 3);
  EXPECT_EQ(h5::read_rows(dataset, 2, 3, std::as_writable_bytes(std::span(block)), false),
            H5D_MPIO_NO_COLLECTIVE);
  EXPECT_EQ(block, std::vector<std::uint16_t>(values.begin() + 6, values.begin() + 15));
  std::vector<std::uint16_t> none;
  h5::read_rows(dataset, 7, 0, std::as_writable_bytes(std::span(none)), false);
  EXPECT_THROW_MSG(h5::read_rows(dataset, 5, 3, std::as_writable_bytes(std::span(block)), false), IoError,
                   "rows.h5:/w: rows [5, 8) outside the dataset's 7 rows");
  EXPECT_THROW_MSG(h5::read_rows(dataset, 0, 2, std::as_writable_bytes(std::span(block)), false), IoError,
                   "read buffer of 18 bytes for 2 rows of 6 bytes");
}

TEST(io_h5, attributes_round_trip) {
  moerge::test::ScratchDir dir("h5");
  auto file = h5::create_file(dir / "attrs.h5");
  auto group = h5::create_group(file, "/a/b");
  const std::string big(200'000, 'x');  // past the 64 KiB compact-attribute limit
  h5::write_attr(group, "text", "héllo {\"json\": [1, 2]}");
  h5::write_attr(group, "empty", "");
  h5::write_attr(group, "big", big);
  h5::write_attr(group, "count", std::int64_t{-42});
  h5::write_attr(group, "alpha", 0.1);
  h5::write_attr(group, "count", std::int64_t{43});  // replaced, not duplicated
  EXPECT_EQ(h5::read_attr_string(group, "text"), "héllo {\"json\": [1, 2]}");
  EXPECT_EQ(h5::read_attr_string(group, "empty"), "");
  EXPECT_EQ(h5::read_attr_string(group, "big"), big);
  EXPECT_EQ(h5::read_attr_int(group, "count"), 43);
  EXPECT_EQ(h5::read_attr_double(group, "alpha"), 0.1);
  const auto all = h5::read_attrs_as_text(group);
  EXPECT_EQ(all.at("alpha"), "0.1");
  EXPECT_EQ(all.at("count"), "43");
  EXPECT_EQ(all.size(), 5u);
  EXPECT_TRUE(h5::exists(file, "/a/b"));
  EXPECT_FALSE(h5::exists(file, "/a/c/d"));
  EXPECT_EQ(h5::children(h5::open_group(file, "/a")), std::vector<std::string>{"b"});
  EXPECT_THROW_MSG(h5::read_attr_string(group, "nope"), IoError,
                   "attrs.h5:/a/b: attribute 'nope' is missing");
  EXPECT_THROW_MSG(h5::read_attr_int(group, "text"), IoError, "attribute 'text' is not an integer");
}

TEST(io_h5, errors_name_the_file_and_object_and_hdf5_prints_nothing) {
  moerge::test::ScratchDir dir("h5");
  testing::internal::CaptureStderr();
  EXPECT_THROW_MSG(h5::open_file(dir / "missing.h5"), IoError,
                   "missing.h5: cannot open HDF5 file: H5Fopen()");
  { std::ofstream(dir / "text.h5") << "not an HDF5 file"; }
  EXPECT_FALSE(h5::is_hdf5(dir / "text.h5"));
  EXPECT_THROW_MSG(h5::open_file(dir / "text.h5"), IoError, "signature");
  {
    auto file = h5::create_file(dir / "one.h5");
    h5::create_group(file, "/params");
  }
  EXPECT_TRUE(h5::is_hdf5(dir / "one.h5"));
  EXPECT_THROW_MSG(h5::create_file(dir / "one.h5"), IoError, "one.h5: cannot create HDF5 file");
  auto file = h5::open_file(dir / "one.h5");
  EXPECT_THROW_MSG(h5::open_dataset(file, "/params/missing"), IoError,
                   "one.h5:/params/missing: cannot open dataset");
  EXPECT_THROW_MSG(h5::write_dataset(file, "/params/w", DType::F32, {2}, std::vector<std::byte>(8)), IoError,
                   "one.h5:/params/w: cannot create dataset");
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed.find("HDF5-DIAG"), std::string::npos) << printed;
  EXPECT_EQ(printed, "");
}

TEST(io_h5, explicit_close_throws_and_destructor_recovers) {
  moerge::test::ScratchDir dir("h5");
  auto file = h5::create_file(dir / "close.h5");
  const std::vector<float> values{1, 2};
  auto dataset = h5::write_dataset(file, "/w", DType::F32, {2}, bytes_of(values));
  // A file closes only when its objects are closed (close degree "semi"): an error, not a silently
  // pending close that would leave unflushed data behind a rename.
  EXPECT_THROW_MSG(file.close(), IoError, "close.h5: cannot close");
  EXPECT_TRUE(file.valid());
  dataset.close();
  file.close();
  EXPECT_FALSE(file.valid());
  h5::Handle moved = h5::open_file(dir / "close.h5");
  h5::Handle target = std::move(moved);
  EXPECT_FALSE(moved.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(target.valid());
}

TEST(io_h5, same_content_gives_the_same_file_bytes) {
  moerge::test::ScratchDir dir("h5");
  const std::vector<float> values{1.5f, -2.0f, 3.25f};
  for (const char* name : {"a.h5", "b.h5"}) {
    auto file = h5::create_file(dir / name);
    h5::write_attr(file, "kind", "lora");
    h5::write_dataset(file, "/lora/m/A", DType::F32, {3}, bytes_of(values));
    file.close();
  }
  EXPECT_EQ(file_bytes(dir / "a.h5"), file_bytes(dir / "b.h5"));
  // No object (root, implicit parent groups, datasets) records a time: files written in different
  // seconds are equal too.
  auto file = h5::open_file(dir / "a.h5");
  std::vector<std::string> timed;
  const auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* client) -> herr_t {
    if (info->atime != 0 || info->mtime != 0 || info->ctime != 0 || info->btime != 0)
      static_cast<std::vector<std::string>*>(client)->emplace_back(name);
    return 0;
  };
  ASSERT_GE(H5Ovisit2(file.id(), H5_INDEX_NAME, H5_ITER_INC, visit, &timed, H5O_INFO_TIME), 0);
  EXPECT_TRUE(timed.empty()) << "objects with timestamps: " << testing::PrintToString(timed);
}

TEST(io_h5, storage_offset_points_at_the_raw_bytes) {
  moerge::test::ScratchDir dir("h5");
  const std::vector<std::uint16_t> values{0x3f80, 0x4000, 0x4040};
  std::uint64_t offset = 0;
  {
    auto file = h5::create_file(dir / "off.h5");
    auto dataset = h5::write_dataset(file, "/w", DType::BF16, {3}, bytes_of(values));
    offset = h5::storage_offset(dataset);
  }
  const auto bytes = file_bytes(dir / "off.h5");
  ASSERT_LE(offset + 6, bytes.size());
  EXPECT_EQ(std::memcmp(bytes.data() + offset, values.data(), 6), 0);
}
