// Tests of the safetensors layer: round trips, zero-copy views, the writer's layout, sharded sets,
// the malformed corpus (tests/data/malformed), and cross-checks with an independent Python reader.
#include <fmt/core.h>
#include <sys/wait.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "moerge/core/error.hpp"
#include "moerge/io/safetensors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using moerge::DType;
using moerge::InputError;
using moerge::IoError;
using moerge::test::ScratchDir;
using nlohmann::json;

namespace moerge::io {
namespace {

/// This process's resident set in KiB, from /proc/self/status (VmRSS).
long resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::vector<std::byte> read_all(const fs::path& path) {
  std::vector<std::byte> out(fs::file_size(path));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return out;
}

void write_all(const fs::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::string hex_of(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  for (const std::byte value : bytes) out += fmt::format("{:02x}", std::to_integer<unsigned>(value));
  return out;
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) names.push_back(entry.path().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Lines of an EXPECTED.tsv manifest: (name, expected substring).
std::vector<std::pair<std::string, std::string>> read_manifest(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::pair<std::string, std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      ADD_FAILURE() << path << ": line without a tab: " << line;
      continue;
    }
    rows.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return rows;
}

/// Run a shell command; return its exit status.
int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string python_ref() {
  return fmt::format("/usr/bin/python3 '{}'",
                     (moerge::test::source_dir() / "tools/reference/safetensors_ref.py").string());
}

/// Known tensors of several dtypes. Float values are exact in their dtype, so `values` is also
/// what a reader must decode.
struct Sample {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;
  std::vector<float> values;  // numeric dtypes only
};

std::vector<Sample> make_samples() {
  std::vector<Sample> samples;
  {
    std::vector<float> values;
    for (int idx = 0; idx < 12; ++idx) values.push_back(static_cast<float>(idx) * 0.3f - 1.7f);
    values.push_back(1e-40f);  // a subnormal travels bit for bit
    values.push_back(-0.0f);
    values.push_back(3.4e38f);
    values.push_back(-1.0f / 3.0f);
    samples.push_back({"model.layers.0.mlp.up_proj.weight", DType::F32, {4, 4}, bytes_of(values), values});
  }
  {
    std::vector<float> values{-0.375f, -0.25f, -0.125f, 0.0f, 0.125f, 2048.0f};
    std::vector<std::uint16_t> bits;
    for (float value : values) bits.push_back(f32_to_f16(value));
    values.push_back(6.103515625e-05f);  // smallest normal f16
    bits.push_back(0x0400);
    values.push_back(5.960464477539063e-08f);  // smallest subnormal f16
    bits.push_back(0x0001);
    samples.push_back({"model.norm.f16", DType::F16, {2, 4}, bytes_of(bits), values});
  }
  {
    std::vector<float> values{1.0f, -2.5f, 3.0e10f, -7.0e-20f, 0.0f, 65280.0f};
    std::vector<std::uint16_t> bits;
    for (float value : values) bits.push_back(f32_to_bf16(value));
    for (std::size_t idx = 0; idx < values.size(); ++idx) values[idx] = bf16_to_f32(bits[idx]);
    samples.push_back({"lm_head.bf16", DType::BF16, {3, 2}, bytes_of(bits), values});
  }
  samples.push_back(
      {"ids.i64",
       DType::I64,
       {3},
       bytes_of(std::vector<std::int64_t>{-(std::int64_t{1} << 62), -1, (std::int64_t{1} << 40) + 7}),
       {}});
  samples.push_back(
      {"mask.u8", DType::U8, {5}, bytes_of(std::vector<std::uint8_t>{0, 1, 127, 128, 255}), {}});
  samples.push_back({"flags.bool", DType::BOOL, {2}, bytes_of(std::vector<std::uint8_t>{1, 0}), {}});
  samples.push_back(
      {"fp8.e5m2", DType::F8_E5M2, {3}, bytes_of(std::vector<std::uint8_t>{0x3c, 0x80, 0x7b}), {}});
  samples.push_back({"empty.f32", DType::F32, {0, 3}, {}, {}});
  samples.push_back({"scalar.f32", DType::F32, {}, bytes_of(std::vector<float>{2.75f}), {2.75f}});
  return samples;
}

std::vector<TensorToWrite> to_write(const std::vector<Sample>& samples) {
  std::vector<TensorToWrite> out;
  for (const Sample& sample : samples) out.push_back({sample.name, sample.dtype, sample.shape, sample.bytes});
  return out;
}

void expect_bits_equal(std::span<const float> actual, std::span<const float> expected,
                       const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t idx = 0; idx < actual.size(); ++idx)
    EXPECT_EQ(std::bit_cast<std::uint32_t>(actual[idx]), std::bit_cast<std::uint32_t>(expected[idx]))
        << what << " element " << idx << ": " << actual[idx] << " vs " << expected[idx];
}

TEST(io_safetensors, round_trips_every_dtype_byte_for_byte) {
  ScratchDir scratch("st-roundtrip");
  const auto samples = make_samples();
  const fs::path path = scratch / "model.safetensors";
  write_safetensors(path, to_write(samples), {{"format", "pt"}, {"note", "ünïcode ✓"}});

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "ünïcode ✓"}}));
  std::vector<std::string> expected_names;
  for (const Sample& sample : samples) expected_names.push_back(sample.name);
  std::sort(expected_names.begin(), expected_names.end());
  EXPECT_EQ(file.names(), expected_names);
  for (const Sample& sample : samples) {
    const TensorView view = file.view(sample.name);
    EXPECT_EQ(view.dtype, sample.dtype) << sample.name;
    EXPECT_EQ(view.shape, sample.shape) << sample.name;
    EXPECT_EQ(hex_of(view.data), hex_of(sample.bytes)) << sample.name;
    if (dtype_is_numeric(sample.dtype)) {
      std::vector<float> decoded(static_cast<std::size_t>(view.numel()));
      convert_to_f32(view.dtype, view.data, decoded);
      expect_bits_equal(decoded, sample.values, sample.name);
    }
  }
  EXPECT_EQ(file.find("absent"), nullptr);
  EXPECT_THROW_MSG(file.view("absent"), InputError, "has no tensor 'absent'");
}

/// [begin, end) of the mappings of `path` in this process, from /proc/self/maps.
std::vector<std::pair<std::uintptr_t, std::uintptr_t>> mappings_of(const fs::path& path) {
  std::ifstream maps("/proc/self/maps");
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  const std::string wanted = fs::canonical(path).string();
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() < wanted.size() || line.compare(line.size() - wanted.size(), wanted.size(), wanted) != 0)
      continue;
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    std::istringstream fields(line);
    char dash = 0;
    fields >> std::hex >> begin >> dash >> end;
    ranges.emplace_back(begin, end);
  }
  return ranges;
}

TEST(io_safetensors, views_point_into_the_mapping) {
  ScratchDir scratch("st-zerocopy");
  const auto samples = make_samples();
  const fs::path path = scratch / "zero.safetensors";
  write_safetensors(path, to_write(samples));
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto ranges = mappings_of(path);
  ASSERT_FALSE(ranges.empty()) << "the file is not mapped";
  for (const TensorEntry& entry : file.header().tensors) {
    if (entry.begin == entry.end) continue;
    const TensorView view = file.view(entry);
    const auto first = reinterpret_cast<std::uintptr_t>(view.data.data());
    const auto last = first + view.data.size();
    const bool inside = std::any_of(ranges.begin(), ranges.end(), [&](const auto& range) {
      return first >= range.first && last <= range.second;
    });
    EXPECT_TRUE(inside) << entry.name << " is not a view into the file's mapping";
  }
  // Offsets in the header and distances between views agree: both are the file's layout.
  const TensorView up = file.view("model.layers.0.mlp.up_proj.weight");
  const TensorView norm = file.view("model.norm.f16");
  EXPECT_EQ(norm.data.data() - up.data.data(),
            static_cast<std::ptrdiff_t>(file.find("model.norm.f16")->begin) -
                static_cast<std::ptrdiff_t>(file.find("model.layers.0.mlp.up_proj.weight")->begin));
}

TEST(io_safetensors, written_file_is_sorted_aligned_and_tiled) {
  ScratchDir scratch("st-layout");
  auto samples = make_samples();
  std::reverse(samples.begin(), samples.end());  // the writer must sort, whatever the input order
  const fs::path path = scratch / "layout.safetensors";
  write_safetensors(path, to_write(samples), {{"format", "pt"}});

  const auto bytes = read_all(path);
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);  // little-endian host
  EXPECT_EQ((8 + header_size) % 8, 0u) << "data section not 8-byte aligned";
  const std::string text(reinterpret_cast<const char*>(bytes.data()) + 8, header_size);
  const auto last_brace = text.find_last_of('}');
  EXPECT_EQ(text.find_first_not_of(' ', last_brace + 1), std::string::npos) << "padding must be spaces";
  const auto header = nlohmann::ordered_json::parse(text);  // keeps the file's key order
  std::vector<std::string> keys;
  for (const auto& [key, value] : header.items()) keys.push_back(key);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end())) << text;
  EXPECT_EQ(header.at("__metadata__").at("format"), "pt");
  std::uint64_t position = 0;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") continue;
    EXPECT_EQ(value.at("data_offsets").at(0).get<std::uint64_t>(), position)
        << key << " not laid out in key order";
    position = value.at("data_offsets").at(1).get<std::uint64_t>();
  }
  EXPECT_EQ(8 + header_size + position, bytes.size());
}

TEST(io_safetensors, empty_file_and_large_tensor_stream) {
  ScratchDir scratch("st-large");
  write_safetensors(scratch / "none.safetensors", {});
  const SafetensorsFile none = SafetensorsFile::open(scratch / "none.safetensors");
  EXPECT_TRUE(none.names().empty());

  // 48 MiB: larger than the writer's buffer, so it is written straight from the caller's memory.
  const std::size_t n_element = std::size_t{12} << 20;
  std::vector<float> big(n_element);
  for (std::size_t idx = 0; idx < n_element; ++idx) big[idx] = static_cast<float>(idx % 65521) * 0.5f;
  std::vector<float> small{1.0f, 2.0f};
  write_safetensors(
      scratch / "big.safetensors",
      {{"big", DType::F32, {static_cast<std::int64_t>(n_element)}, std::as_bytes(std::span(big))},
       {"a.small", DType::F32, {2}, std::as_bytes(std::span(small))},
       {"z.small", DType::F32, {2}, std::as_bytes(std::span(small))}});
  const SafetensorsFile file = SafetensorsFile::open(scratch / "big.safetensors");
  const TensorView view = file.view("big");
  ASSERT_EQ(view.data.size(), n_element * sizeof(float));
  EXPECT_EQ(std::memcmp(view.data.data(), big.data(), view.data.size()), 0);
  EXPECT_EQ(std::memcmp(file.view("z.small").data.data(), small.data(), 8), 0);

  // release() drops the tensor's pages from the resident set; the data reads back intact and the
  // small neighbours sharing its edge pages are untouched.
  const TensorSet set = TensorSet::open_file(scratch / "big.safetensors");
  const TensorView before = set.view("big");
  ASSERT_EQ(std::memcmp(before.data.data(), big.data(), before.data.size()), 0);
  const long rss_touched = resident_kb();
  set.release("big");
  const long rss_released = resident_kb();
  EXPECT_LT(rss_released, rss_touched - 40 * 1024) << "48 MiB of mapped pages should leave the resident set";
  EXPECT_EQ(std::memcmp(set.view("big").data.data(), big.data(), before.data.size()), 0);
  EXPECT_EQ(std::memcmp(set.view("a.small").data.data(), small.data(), 8), 0);
  EXPECT_EQ(std::memcmp(set.view("z.small").data.data(), small.data(), 8), 0);
}

TEST(io_safetensors, writer_rejects_bad_tensors_and_leaves_nothing) {
  ScratchDir scratch("st-badwrite");
  const fs::path path = scratch / "bad.safetensors";
  const std::vector<float> four{1, 2, 3, 4};
  const auto data = std::as_bytes(std::span(four));
  EXPECT_THROW_MSG(write_safetensors(path, {{"w", DType::F32, {2, 2}, data}, {"w", DType::F32, {4}, data}}),
                   InputError, "bad.safetensors: tensor 'w': duplicate tensor name");
  EXPECT_THROW_MSG(write_safetensors(path, {{"w", DType::F32, {4, 4}, data}}), InputError,
                   "bad.safetensors: tensor 'w': F32 x [4, 4] needs 64 bytes but 16 were given");
  EXPECT_THROW_MSG(write_safetensors(path, {{"w", DType::BF16, {2, 2}, data}}), InputError,
                   "tensor 'w': BF16 x [2, 2] needs 8 bytes but 16 were given");
  EXPECT_THROW_MSG(write_safetensors(path, {{"w", DType::F32, {-4}, data}}), InputError,
                   "tensor 'w': shape [-4] has a negative dimension -4");
  EXPECT_THROW_MSG(
      write_safetensors(path, {{"w", DType::F32, {std::int64_t{1} << 40, std::int64_t{1} << 40}, data}}),
      InputError, "tensor 'w': element count of F32 x [1099511627776, 1099511627776] overflows 64 bits");
  EXPECT_THROW_MSG(write_safetensors(path, {{"__metadata__", DType::F32, {4}, data}}), InputError,
                   "tensor '__metadata__': the name is reserved");
  EXPECT_THROW_MSG(write_safetensors(path, {{std::string("w\xff", 2), DType::F32, {4}, data}}), InputError,
                   "tensor name is not valid UTF-8 at byte 1");
  EXPECT_THROW_MSG(
      write_safetensors(path, {{"w", DType::F32, {4}, data}}, {{"k", std::string("\xc0\xaf", 2)}}),
      InputError, "'__metadata__' key \"k\" or its value is not valid UTF-8");
  EXPECT_TRUE(fs::is_empty(scratch.path())) << "a rejected write left files behind";

  // A missing parent directory is an OS failure naming the file.
  EXPECT_THROW_MSG(write_safetensors(scratch / "no/such/dir.safetensors", {{"w", DType::F32, {4}, data}}),
                   IoError, "no/such/dir.safetensors: cannot create temporary file");

  // An existing file is never replaced.
  write_safetensors(path, {{"w", DType::F32, {4}, data}});
  const auto before = read_all(path);
  EXPECT_THROW_MSG(write_safetensors(path, {{"v", DType::F32, {4}, data}}), IoError,
                   "bad.safetensors: already exists (refusing to overwrite)");
  EXPECT_EQ(read_all(path), before);
  EXPECT_EQ(listing(scratch.path()), std::vector<std::string>{path.string()});
}

TEST(io_safetensors, open_errors_name_the_path) {
  ScratchDir scratch("st-open");
  EXPECT_THROW_MSG(SafetensorsFile::open(scratch / "missing.safetensors"), IoError,
                   "missing.safetensors: cannot open: No such file or directory");
  fs::create_directories(scratch / "dir.safetensors");
  EXPECT_THROW_MSG(SafetensorsFile::open(scratch / "dir.safetensors"), IoError,
                   "dir.safetensors: is a directory, not a safetensors file");
  EXPECT_THROW_MSG(TensorSet::open_dir(scratch / "nowhere"), IoError, "nowhere: no such directory");
}

TEST(io_safetensors, malformed_corpus_is_rejected_with_its_message) {
  const fs::path corpus = moerge::test::data_dir() / "malformed" / "safetensors";
  const auto rows = read_manifest(corpus / "EXPECTED.tsv");
  ASSERT_GE(rows.size(), 30u) << "the corpus must hold at least 30 malformed files";
  const auto before = listing(corpus);
  std::size_t n_checked = 0;
  for (const auto& [name, expected] : rows) {
    SCOPED_TRACE(name);
    const fs::path path = corpus / name;
    ASSERT_TRUE(fs::is_regular_file(path)) << path;
    bool rejected = false;
    try {
      SafetensorsFile::open(path);
    } catch (const InputError& error) {
      rejected = true;
      const std::string message = error.what();
      EXPECT_NE(message.find(expected), std::string::npos)
          << "message: " << message << "\nexpected: " << expected;
      EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u)
          << "the message must start with the file: " << message;
      EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 0) << "one line: " << message;
    }
    EXPECT_TRUE(rejected) << name << " was accepted";
    // The parser alone gives the same verdict on the bytes, with the label it is given.
    const auto bytes = read_all(path);
    EXPECT_THROW_MSG(parse_safetensors(bytes, "label-" + name), InputError, expected);
    ++n_checked;
  }
  EXPECT_EQ(n_checked, rows.size());
  // Every file of the corpus is in the manifest, and reading wrote nothing.
  EXPECT_EQ(before.size(), rows.size() + 1);
  EXPECT_EQ(listing(corpus), before);
}

TEST(io_safetensors, malformed_index_directories_are_rejected) {
  const fs::path corpus = moerge::test::data_dir() / "malformed" / "index";
  const auto rows = read_manifest(corpus / "EXPECTED.tsv");
  ASSERT_GE(rows.size(), 10u);
  const auto before = listing(corpus);
  for (const auto& [name, expected] : rows) {
    SCOPED_TRACE(name);
    const fs::path dir = corpus / name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    bool rejected = false;
    try {
      TensorSet::open_dir(dir);
    } catch (const InputError& error) {
      rejected = true;
      const std::string message = error.what();
      EXPECT_NE(message.find(expected), std::string::npos)
          << "message: " << message << "\nexpected: " << expected;
      EXPECT_NE(message.find(dir.string()), std::string::npos)
          << "the message must name the file: " << message;
    }
    EXPECT_TRUE(rejected) << name << " was accepted";
  }
  EXPECT_EQ(listing(corpus), before);
}

TEST(io_safetensors, pickles_are_refused_by_magic_not_mistaken) {
  const fs::path corpus = moerge::test::data_dir() / "malformed" / "safetensors";
  for (const char* name :
       {"pytorch_model.bin", "checkpoint.pt", "legacy_torch_save.pt", "pickle_protocol4.safetensors"})
    EXPECT_THROW_MSG(
        refuse_pickle(corpus / name), InputError,
        "is a PyTorch pickle checkpoint (zip/pickle); moerge never loads pickle files: convert it to "
        "safetensors");

  ScratchDir scratch("st-pickle");
  // A safetensors file whose 8-byte length starts 0x80 0x02 (N = 640) is not a pickle.
  const std::vector<float> four{1, 2, 3, 4};
  std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  header.resize(640, ' ');
  std::vector<std::byte> bytes(8 + header.size() + 16);
  const std::uint64_t header_size = header.size();
  std::memcpy(bytes.data(), &header_size, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  std::memcpy(bytes.data() + 8 + header.size(), four.data(), 16);
  ASSERT_EQ(std::to_integer<int>(bytes[0]), 0x80);
  ASSERT_EQ(std::to_integer<int>(bytes[1]), 0x02);
  write_all(scratch / "n640.safetensors", bytes);
  EXPECT_NO_THROW(refuse_pickle(scratch / "n640.safetensors"));
  const SafetensorsFile file = SafetensorsFile::open(scratch / "n640.safetensors");
  EXPECT_EQ(file.header().header_size, 640u);
  EXPECT_EQ(file.header().data_offset(), 648u);

  // Pickle extensions are refused whatever the bytes; pickle magic under another name too.
  write_all(scratch / "weights.pth", bytes);
  EXPECT_THROW_MSG(refuse_pickle(scratch / "weights.pth"), InputError,
                   "weights.pth: is a PyTorch pickle checkpoint");
  EXPECT_NO_THROW(refuse_pickle(scratch / "absent.safetensors"));

  // A directory with a pickle and no safetensors is refused with the pickle message; with a
  // safetensors beside it, the safetensors is used.
  fs::create_directories(scratch / "model");
  fs::copy_file(corpus / "pytorch_model.bin", scratch / "model" / "pytorch_model.bin");
  EXPECT_THROW_MSG(TensorSet::open_dir(scratch / "model"), InputError,
                   "pytorch_model.bin: is a PyTorch pickle checkpoint (zip/pickle)");
  write_safetensors(scratch / "model" / "model.safetensors",
                    {{"w", DType::F32, {4}, std::as_bytes(std::span(four))}});
  EXPECT_EQ(TensorSet::open_dir(scratch / "model").names(), std::vector<std::string>{"w"});
}

TEST(io_safetensors, sharded_write_and_read) {
  ScratchDir scratch("st-shards");
  // Six tensors of 64, 64, 64, 200, 8, 64 bytes (464 in all) in name order; limit 150 bytes per shard.
  std::vector<std::vector<float>> storage;
  std::vector<TensorToWrite> tensors;
  const std::vector<std::pair<std::string, std::int64_t>> specs{{"a", 16},     {"b", 16}, {"c", 16},
                                                                {"d.big", 50}, {"e", 2},  {"f", 16}};
  for (std::size_t spec_idx = 0; spec_idx < specs.size(); ++spec_idx) {
    std::vector<float> values(static_cast<std::size_t>(specs[spec_idx].second));
    for (std::size_t idx = 0; idx < values.size(); ++idx)
      values[idx] = static_cast<float>(spec_idx * 1000 + idx);
    storage.push_back(std::move(values));
  }
  for (std::size_t spec_idx = 0; spec_idx < specs.size(); ++spec_idx)
    tensors.push_back({specs[spec_idx].first,
                       DType::F32,
                       {specs[spec_idx].second},
                       std::as_bytes(std::span(storage[spec_idx]))});
  std::reverse(tensors.begin(), tensors.end());
  write_sharded(scratch.path(), tensors, 150, {{"format", "pt"}});

  // Greedy in name order: [a b] [c] [d.big] [e f] -> 4 shards.
  const fs::path index_path = scratch / "model.safetensors.index.json";
  ASSERT_TRUE(fs::exists(index_path));
  EXPECT_FALSE(fs::exists(scratch / "model.safetensors"));
  const ShardIndex index = read_shard_index(index_path);
  EXPECT_EQ(index.metadata.at("total_size"), "464");  // 116 floats
  const std::map<std::string, std::string> expected_map{
      {"a", "model-00001-of-00004.safetensors"}, {"b", "model-00001-of-00004.safetensors"},
      {"c", "model-00002-of-00004.safetensors"}, {"d.big", "model-00003-of-00004.safetensors"},
      {"e", "model-00004-of-00004.safetensors"}, {"f", "model-00004-of-00004.safetensors"}};
  EXPECT_EQ(index.weight_map, expected_map);
  const auto raw_index = json::parse(std::ifstream(index_path));
  EXPECT_EQ(raw_index.at("metadata").at("total_size"), 464) << "total_size is a JSON number";

  const TensorSet set = TensorSet::open_dir(scratch.path());
  EXPECT_EQ(set.source(), scratch.path());
  EXPECT_EQ(set.names(), (std::vector<std::string>{"a", "b", "c", "d.big", "e", "f"}));
  for (std::size_t spec_idx = 0; spec_idx < specs.size(); ++spec_idx) {
    const std::string& name = specs[spec_idx].first;
    EXPECT_TRUE(set.contains(name));
    EXPECT_EQ(set.file_of(name), scratch / expected_map.at(name));
    EXPECT_EQ(set.entry(name).shape, std::vector<std::int64_t>{specs[spec_idx].second});
    const TensorView view = set.view(name);
    ASSERT_EQ(view.data.size(), storage[spec_idx].size() * 4);
    EXPECT_EQ(std::memcmp(view.data.data(), storage[spec_idx].data(), view.data.size()), 0) << name;
  }
  EXPECT_FALSE(set.contains("g"));
  EXPECT_THROW_MSG(set.view("g"), InputError, "has no tensor 'g'");
  EXPECT_THROW_MSG(set.entry("g"), InputError, "has no tensor 'g'");
  EXPECT_EQ(SafetensorsFile::open(scratch / "model-00002-of-00004.safetensors").metadata().at("format"),
            "pt");

  // Writing again into the same directory is refused before anything is written.
  const auto before = listing(scratch.path());
  EXPECT_THROW_MSG(write_sharded(scratch.path(), tensors, 150), IoError,
                   "already exists (refusing to overwrite)");
  EXPECT_EQ(listing(scratch.path()), before);

  // A set that fits one shard is one model.safetensors without an index.
  ScratchDir single("st-single");
  write_sharded(single.path(), tensors, 1 << 20);
  EXPECT_EQ(listing(single.path()), std::vector<std::string>{(single / "model.safetensors").string()});
  EXPECT_EQ(TensorSet::open_dir(single.path()).names().size(), specs.size());
  EXPECT_THROW_MSG(write_sharded(single.path(), tensors, 0), InputError, "max_shard_bytes must be positive");
}

TEST(io_safetensors, shard_index_round_trip_and_open_file) {
  ScratchDir scratch("st-index");
  const std::vector<float> four{1, 2, 3, 4};
  write_safetensors(scratch / "part-a.safetensors", {{"x", DType::F32, {4}, std::as_bytes(std::span(four))}});
  ShardIndex index;
  index.metadata = {{"total_size", "16"}, {"format", "\"pt\""}, {"plain", "not json"}};
  index.weight_map = {{"x", "part-a.safetensors"}};
  write_shard_index(scratch / "weights.safetensors.index.json", index);
  const ShardIndex back = read_shard_index(scratch / "weights.safetensors.index.json");
  EXPECT_EQ(back.weight_map, index.weight_map);
  EXPECT_EQ(back.metadata.at("total_size"), "16");
  EXPECT_EQ(back.metadata.at("format"), "\"pt\"");
  EXPECT_EQ(back.metadata.at("plain"), "\"not json\"");
  const TensorSet set = TensorSet::open_dir(scratch.path(), "weights");
  EXPECT_EQ(set.names(), std::vector<std::string>{"x"});

  ShardIndex escaping;
  escaping.weight_map = {{"x", "../part-a.safetensors"}};
  EXPECT_THROW_MSG(write_shard_index(scratch / "bad.index.json", escaping), InputError,
                   "tensor 'x': shard path '../part-a.safetensors' contains '..'");
  EXPECT_FALSE(fs::exists(scratch / "bad.index.json"));

  const TensorSet one = TensorSet::open_file(scratch / "part-a.safetensors");
  EXPECT_EQ(one.source(), scratch / "part-a.safetensors");
  EXPECT_EQ(one.file_of("x"), scratch / "part-a.safetensors");
}

TEST(io_safetensors, python_reference_reads_what_moerge_writes) {
  ScratchDir scratch("st-py-read");
  const auto samples = make_samples();
  const fs::path path = scratch / "moerge.safetensors";
  write_safetensors(path, to_write(samples), {{"format", "pt"}});
  json expected = {{"metadata", {{"format", "pt"}}}, {"tensors", json::object()}};
  for (const Sample& sample : samples) {
    json entry = {
        {"dtype", dtype_name(sample.dtype)}, {"shape", sample.shape}, {"hex", hex_of(sample.bytes)}};
    if (dtype_is_numeric(sample.dtype)) {
      entry["values"] = json::array();
      for (float value : sample.values) entry["values"].push_back(static_cast<double>(value));
    }
    expected["tensors"][sample.name] = entry;
  }
  std::ofstream(scratch / "expected.json") << expected.dump(1);
  EXPECT_EQ(run(fmt::format("{} check '{}' '{}'", python_ref(), path.string(),
                            (scratch / "expected.json").string())),
            0);
}

TEST(io_safetensors, moerge_reads_what_python_reference_writes) {
  ScratchDir scratch("st-py-write");
  const fs::path path = scratch / "python.safetensors";
  const fs::path expected_path = scratch / "expected.json";
  ASSERT_EQ(run(fmt::format("{} make-sample '{}' '{}'", python_ref(), path.string(), expected_path.string())),
            0);
  const json expected = json::parse(std::ifstream(expected_path));
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(json(file.metadata()), expected.at("metadata"));
  ASSERT_EQ(file.names().size(), expected.at("tensors").size());
  for (const auto& [name, want] : expected.at("tensors").items()) {
    SCOPED_TRACE(name);
    const TensorView view = file.view(name);
    EXPECT_EQ(dtype_name(view.dtype), want.at("dtype").get<std::string>());
    EXPECT_EQ(view.shape, want.at("shape").get<std::vector<std::int64_t>>());
    EXPECT_EQ(hex_of(view.data), want.at("hex").get<std::string>());
    if (dtype_is_numeric(view.dtype)) {
      std::vector<float> decoded(static_cast<std::size_t>(view.numel()));
      convert_to_f32(view.dtype, view.data, decoded);
      std::vector<float> values;
      for (const json& value : want.at("values")) values.push_back(static_cast<float>(value.get<double>()));
      expect_bits_equal(decoded, values, name);
    }
  }
}

TEST(io_safetensors, python_reference_rejects_the_malformed_corpus) {
  // The corpus is malformed by the format, not only by moerge's reading of it.
  const fs::path corpus = moerge::test::data_dir() / "malformed" / "safetensors";
  std::string command = python_ref() + " expect-invalid";
  for (const auto& [name, expected] : read_manifest(corpus / "EXPECTED.tsv"))
    command += fmt::format(" '{}'", (corpus / name).string());
  EXPECT_EQ(run(command), 0);
}

}  // namespace
}  // namespace moerge::io
