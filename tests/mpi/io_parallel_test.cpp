// The library under MPI (1, 2, 4 ranks): collective row-block reads equal the serial read and are
// really collective; an import split over the ranks gives the same library as a serial one;
// verify splits and agrees; a bad input fails on every rank together.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/io/h5.hpp"
#include "moerge/io/library.hpp"
#include "moerge/io/safetensors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using moerge::io::Library;

namespace {

fs::path tiny() { return moerge::test::data_dir() / "tiny"; }

moerge::io::ImportOptions pinned() {
  moerge::io::ImportOptions options;
  options.created = "2024-06-11T09:30:00Z";
  return options;
}

/// A scratch directory made by rank 0 and shared by every rank; removed after a final barrier.
class SharedScratch {
 public:
  SharedScratch(const moerge::comm::Comm& comm, const std::string& tag) : comm_(comm) {
    std::string text;
    if (comm.is_root()) {
      owned_.emplace(tag);
      text = owned_->path().string();
    }
    comm.bcast(text, 0);
    path_ = text;
  }
  ~SharedScratch() { comm_.barrier(); }
  SharedScratch(const SharedScratch&) = delete;
  SharedScratch& operator=(const SharedScratch&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  const moerge::comm::Comm& comm_;
  std::optional<moerge::test::ScratchDir> owned_;
  fs::path path_;
};

/// Rank 0 runs `work` (e.g. building a library); every rank learns whether it threw.
template <class Work>
bool root_does(const moerge::comm::Comm& comm, Work&& work) {
  bool failed = false;
  if (comm.is_root()) {
    try {
      work();
    } catch (const std::exception& error) {
      ADD_FAILURE() << error.what();
      failed = true;
    }
  }
  return !comm.any(failed);
}

/// Rows [begin, end) of `n_row` that rank `rank` of `n_rank` reads (contiguous blocks).
std::pair<std::int64_t, std::int64_t> block_of(std::int64_t n_row, int rank, int n_rank) {
  const std::int64_t begin = n_row * rank / n_rank;
  const std::int64_t end = n_row * (rank + 1) / n_rank;
  return {begin, end};
}

}  // namespace

TEST(io_parallel, collective_row_blocks_equal_the_serial_read) {
  const auto comm = moerge::comm::Comm::world();
  SharedScratch scratch(comm, "parallel-read");
  ASSERT_TRUE(root_does(comm, [&] {
    auto library = Library::create(scratch / "lib", tiny() / "base", pinned(), false, true);
    library.import_expert(tiny() / "full_bf16", pinned());
    library.import_expert(tiny() / "adapters" / "lora_b", pinned());
  }));
  const auto library = Library::open(scratch / "lib", true);

  struct Case {
    std::string object;
    std::string dataset;
  };
  // A BF16 matrix (the custom type), an F32 matrix, a 1-D F32 vector, and a BF16 LoRA A of 2 rows
  // (at 4 ranks, two ranks read nothing yet take part in the collective).
  const std::vector<Case> cases{{"full_bf16", "/params/model.embed_tokens.weight"},
                                {"base", "/params/model.layers.1.mlp.down_proj.weight"},
                                {"base", "/params/model.norm.weight"},
                                {"lora_b", "/lora/model.layers.0.self_attn.q_proj/A"}};
  for (const auto& item : cases) {
    SCOPED_TRACE(item.object + ":" + item.dataset);
    // The serial read, by every rank on its own.
    std::vector<std::byte> whole;
    moerge::io::DatasetInfo info;
    {
      auto file = moerge::io::h5::open_file(library.object_path(item.object));
      auto dataset = moerge::io::h5::open_dataset(file, item.dataset);
      const auto shape = moerge::io::h5::dataset_shape(dataset);
      whole.resize(shape.n_bytes);
      moerge::io::h5::read_dataset(dataset, whole);
    }
    moerge::io::ParallelObjectReader reader(library, item.object, comm);
    info = reader.dataset(item.dataset);
    ASSERT_EQ(info.n_bytes, whole.size());
    const std::int64_t n_row = info.shape[0];
    const std::uint64_t row_bytes = info.n_bytes / static_cast<std::uint64_t>(n_row);
    const auto [begin, end] = block_of(n_row, comm.rank(), comm.size());
    std::vector<std::byte> block(static_cast<std::size_t>(end - begin) * row_bytes);
    const auto mode = reader.read_rows(item.dataset, begin, end - begin, block);
    EXPECT_TRUE(std::equal(block.begin(), block.end(),
                           whole.begin() + static_cast<std::ptrdiff_t>(begin * row_bytes)))
        << "rank " << comm.rank() << " rows [" << begin << ", " << end << ")";
    if (comm.size() >= 2) {
      EXPECT_TRUE(moerge::io::io_mode_is_collective(mode))
          << "rank " << comm.rank() << ": HDF5 reports " << moerge::io::io_mode_name(mode);
    }
    // The bytes are the source's: the import kept them as they were.
    if (item.object == "full_bf16") {
      const auto source = moerge::io::TensorSet::open_dir(tiny() / "full_bf16");
      const auto view = source.view(info.key);
      EXPECT_EQ(view.dtype, moerge::DType::BF16);
      EXPECT_TRUE(std::equal(block.begin(), block.end(),
                             view.data.begin() + static_cast<std::ptrdiff_t>(begin * row_bytes)));
    }
    reader.close();
  }
}

TEST(io_parallel, split_import_equals_serial_import) {
  const auto comm = moerge::comm::Comm::world();
  SharedScratch scratch(comm, "parallel-import");
  const std::vector<fs::path> dirs{tiny() / "adapters" / "lora_a", tiny() / "adapters" / "lora_b",
                                   tiny() / "full_bf16"};
  ASSERT_TRUE(root_does(comm, [&] {
    auto serial = Library::create(scratch / "serial", tiny() / "base", pinned(), false, true);
    for (const auto& dir : dirs) serial.import_expert(dir, pinned());
    Library::create(scratch / "split", tiny() / "base", pinned(), false, true);
  }));
  auto split = Library::open(scratch / "split", true);
  const auto added = split.import_experts(dirs, pinned(), comm);
  ASSERT_EQ(added.size(), 3u);
  EXPECT_EQ(added[0].name, "lora_a");
  EXPECT_EQ(added[2].name, "full_bf16");

  const auto serial = Library::open(scratch / "serial", true);
  ASSERT_EQ(split.catalogue().size(), serial.catalogue().size());
  for (std::size_t idx = 0; idx < serial.catalogue().size(); ++idx) {
    const auto& lhs = serial.catalogue()[idx];
    const auto& rhs = split.catalogue()[idx];
    EXPECT_EQ(lhs.name, rhs.name);
    EXPECT_EQ(lhs.kind, rhs.kind);
    // Same bytes: object files carry no timestamps but the pinned creation stamp.
    EXPECT_EQ(lhs.sha256, rhs.sha256) << lhs.name;
    EXPECT_EQ(lhs.size, rhs.size);
    EXPECT_EQ(lhs.r, rhs.r);
    EXPECT_EQ(lhs.n_param, rhs.n_param);
    EXPECT_EQ(lhs.dtypes, rhs.dtypes);
  }
  // Verify split over the ranks: clean, then one flipped byte found, the same report everywhere.
  const auto clean = split.verify({}, comm);
  EXPECT_TRUE(clean.ok());
  EXPECT_EQ(clean.n_object, 4u);
  ASSERT_TRUE(root_does(comm, [&] {
    const fs::path object = split.object_path("lora_b");
    auto file = moerge::io::h5::open_file(object);
    const auto offset = moerge::io::h5::storage_offset(
        moerge::io::h5::open_dataset(file, "/lora/model.layers.1.mlp.up_proj/B"));
    file.close();
    std::fstream raw(object, std::ios::binary | std::ios::in | std::ios::out);
    raw.seekg(static_cast<std::streamoff>(offset));
    const char byte = static_cast<char>(raw.get() ^ 0x5a);
    raw.seekp(static_cast<std::streamoff>(offset));
    raw.put(byte);
  }));
  const auto report = split.verify({}, comm);
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_EQ(report.problems[0].what, "sha256");
  EXPECT_EQ(report.problems[1].dataset, "/lora/model.layers.1.mlp.up_proj/B");
  EXPECT_EQ(report.problems[1].file, split.object_path("lora_b").string());
}

TEST(io_parallel, a_bad_directory_fails_every_rank_and_writes_nothing) {
  const auto comm = moerge::comm::Comm::world();
  SharedScratch scratch(comm, "parallel-bad");
  ASSERT_TRUE(root_does(comm, [&] {
    Library::create(scratch / "lib", tiny() / "base", pinned(), false, true);
    // An "adapter" whose config names no LoRA: PEFT refuses it.
    fs::create_directories(scratch / "bad");
    fs::copy_file(tiny() / "adapters" / "lora_a" / "adapter_model.safetensors",
                  scratch / "bad" / "adapter_model.safetensors");
    std::ofstream(scratch / "bad" / "adapter_config.json") << R"({"peft_type": "PREFIX_TUNING"})";
  }));
  auto library = Library::open(scratch / "lib", true);
  // The bad directory is last, so at 2 and 4 ranks another rank than 0 finds the problem.
  const std::vector<fs::path> dirs{tiny() / "adapters" / "lora_a", tiny() / "adapters" / "lora_b",
                                   scratch / "bad"};
  std::string message;
  try {
    library.import_experts(dirs, pinned(), comm);
  } catch (const moerge::Error& error) {
    message = error.what();
    if (comm.size() > 1) {
      EXPECT_NE(dynamic_cast<const moerge::io::AgreedError*>(&error), nullptr);
    }
  }
  EXPECT_NE(message.find("PREFIX_TUNING"), std::string::npos) << message;
  EXPECT_EQ(library.catalogue().size(), 1u);
  comm.barrier();
  EXPECT_TRUE(fs::is_empty(scratch / "lib" / "experts"));
  EXPECT_EQ(Library::open(scratch / "lib", true).catalogue().size(), 1u);
}
