// The HDF5 expert library on tests/data/tiny: init, import, list, export round trip (byte-identical
// per tensor), verify catching a flipped byte, atomicity of failed imports, names, rm, progress.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "moerge/core/error.hpp"
#include "moerge/core/hash.hpp"
#include "moerge/core/progress.hpp"
#include "moerge/io/h5.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/library.hpp"
#include "moerge/io/safetensors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using moerge::InputError;
using moerge::IoError;
using moerge::io::Library;
using moerge::io::ObjectKind;

namespace {

fs::path tiny() { return moerge::test::data_dir() / "tiny"; }

moerge::io::ImportOptions pinned(moerge::io::Tags tags = {}) {
  moerge::io::ImportOptions options;
  options.tags = std::move(tags);
  options.created = "2024-06-11T09:30:00Z";
  return options;
}

Library make_library(const fs::path& dir, const fs::path& base = tiny() / "base") {
  return Library::create(dir, base, pinned({{"domain", "general"}}), false, true);
}

/// Same names, dtypes, shapes and bytes, tensor by tensor.
void expect_same_tensors(const moerge::io::TensorSet& expected, const moerge::io::TensorSet& actual) {
  ASSERT_EQ(expected.names(), actual.names());
  for (const auto& name : expected.names()) {
    const auto lhs = expected.view(name);
    const auto rhs = actual.view(name);
    EXPECT_EQ(lhs.dtype, rhs.dtype) << name;
    EXPECT_EQ(lhs.shape, rhs.shape) << name;
    ASSERT_EQ(lhs.data.size(), rhs.data.size()) << name;
    EXPECT_TRUE(std::equal(lhs.data.begin(), lhs.data.end(), rhs.data.begin())) << name << ": bytes differ";
  }
}

std::string file_text(const fs::path& path) {
  std::string text(fs::file_size(path), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.push_back(fs::relative(entry.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

void flip_byte(const fs::path& path, std::uint64_t offset) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x5a);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&byte, 1);
}

}  // namespace

TEST(io_library, init_import_list_and_catalogue) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  EXPECT_EQ(library.catalogue().size(), 1u);
  const auto lora_a = library.import_expert(tiny() / "adapters" / "lora_a", pinned({{"task", "a"}}));
  const auto lora_b = library.import_expert(tiny() / "adapters" / "lora_b", pinned());
  const auto full = library.import_expert(tiny() / "full_bf16", pinned());
  ASSERT_EQ(library.catalogue().size(), 4u);
  EXPECT_EQ(lora_a.kind, ObjectKind::lora);
  EXPECT_EQ(lora_a.r, 4);
  EXPECT_EQ(lora_a.dtypes, "F32");
  EXPECT_EQ(lora_a.tags.at("task"), "a");
  EXPECT_EQ(lora_a.file, "experts/lora_a.h5");
  // lora_a adapts q_proj [32, 32] and v_proj [16, 32] in 2 layers at r 4: 2 * 4 * (32 + 32 + 32 + 16).
  EXPECT_EQ(lora_a.n_param, 2u * 4u * (32u + 32u + 32u + 16u));
  EXPECT_EQ(lora_b.r, 2);
  EXPECT_EQ(lora_b.dtypes, "BF16");
  EXPECT_EQ(full.kind, ObjectKind::full);
  EXPECT_EQ(full.dtypes, "BF16");
  EXPECT_EQ(full.n_param, library.entry("base").n_param);
  EXPECT_EQ(full.sha256, moerge::hash::sha256_file(scratch / "lib" / "experts" / "full_bf16.h5"));
  EXPECT_EQ(full.size, fs::file_size(scratch / "lib" / "experts" / "full_bf16.h5"));

  // A second process sees the same catalogue.
  const auto reopened = Library::open(scratch / "lib");
  ASSERT_EQ(reopened.catalogue().size(), 4u);
  EXPECT_EQ(reopened.entry("lora_a").sha256, lora_a.sha256);
  EXPECT_EQ(reopened.entry("lora_a").created, "2024-06-11T09:30:00Z");
  EXPECT_EQ(reopened.entry("base").tags.at("domain"), "general");

  // The base's shapes are those its config implies.
  const auto config = moerge::io::parse_llama_config(tiny() / "base" / "config.json");
  EXPECT_EQ(library.base_shapes(), moerge::io::llama_tensor_shapes(config));

  // Object attributes as the schema says.
  const auto description = library.describe("lora_b");
  EXPECT_EQ(description.attrs.at("rslora"), "1");
  EXPECT_EQ(description.attrs.at("r"), "2");
  EXPECT_EQ(description.attrs.at("alpha"), "4");
  EXPECT_EQ(description.attrs.at("moerge_format"), "moerge-library/1");
  EXPECT_EQ(description.attrs.at("adapter_config"),
            file_text(tiny() / "adapters" / "lora_b" / "adapter_config.json"));
  const auto first = description.datasets.front();
  EXPECT_EQ(first.path, "/lora/model.layers.0.mlp.down_proj/A");
  EXPECT_EQ(first.key, "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight");
  EXPECT_EQ(first.shape, (std::vector<std::int64_t>{2, 64}));
  EXPECT_EQ(first.dtype, moerge::DType::BF16);
  const auto gates = library.describe("lora_a").datasets;
  EXPECT_TRUE(std::any_of(gates.begin(), gates.end(), [](const auto& dataset) {
    return dataset.path == "/stats/phatgoose/model.layers.1.self_attn.v_proj/gate" &&
           dataset.key == "base_model.model.model.layers.1.self_attn.v_proj.gate";
  }));

  // The index links every object file (external links resolve from the index's directory).
  auto index = moerge::io::h5::open_file(scratch / "lib" / "library.h5");
  auto linked = moerge::io::h5::open_dataset(index, "/objects/lora_a/lora/model.layers.0.self_attn.q_proj/A");
  EXPECT_EQ(moerge::io::h5::dataset_shape(linked).shape, (std::vector<std::int64_t>{4, 32}));
}

TEST(io_library, export_is_byte_identical_per_tensor) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  library.import_expert(tiny() / "adapters" / "lora_a", pinned());
  library.import_expert(tiny() / "adapters" / "lora_b", pinned());
  library.import_expert(tiny() / "full_bf16", pinned());
  using moerge::io::TensorSet;

  library.export_object("lora_a", scratch / "out" / "lora_a");
  expect_same_tensors(TensorSet::open_dir(tiny() / "adapters" / "lora_a", "adapter_model"),
                      TensorSet::open_dir(scratch / "out" / "lora_a", "adapter_model"));
  expect_same_tensors(TensorSet::open_file(tiny() / "adapters" / "lora_a" / "phatgoose_gates.safetensors"),
                      TensorSet::open_file(scratch / "out" / "lora_a" / "phatgoose_gates.safetensors"));
  EXPECT_EQ(file_text(scratch / "out" / "lora_a" / "adapter_config.json"),
            file_text(tiny() / "adapters" / "lora_a" / "adapter_config.json"));
  // The exported directory is a valid PEFT adapter again.
  EXPECT_EQ(moerge::io::open_peft_adapter(scratch / "out" / "lora_a").modules.size(), 4u);

  library.export_object("lora_b", scratch / "out" / "lora_b");
  expect_same_tensors(TensorSet::open_dir(tiny() / "adapters" / "lora_b", "adapter_model"),
                      TensorSet::open_dir(scratch / "out" / "lora_b", "adapter_model"));
  EXPECT_FALSE(fs::exists(scratch / "out" / "lora_b" / "phatgoose_gates.safetensors"));

  library.export_object("full_bf16", scratch / "out" / "full");
  expect_same_tensors(TensorSet::open_dir(tiny() / "full_bf16"),
                      TensorSet::open_dir(scratch / "out" / "full"));
  expect_same_tensors(TensorSet::open_file(tiny() / "full_bf16" / "fisher.safetensors"),
                      TensorSet::open_file(scratch / "out" / "full" / "fisher.safetensors"));
  EXPECT_EQ(file_text(scratch / "out" / "full" / "config.json"),
            file_text(tiny() / "full_bf16" / "config.json"));

  // An empty existing directory is fine; a non-empty one is refused and left alone.
  fs::create_directories(scratch / "out" / "empty");
  library.export_object("base", scratch / "out" / "empty");
  expect_same_tensors(TensorSet::open_dir(tiny() / "base"), TensorSet::open_dir(scratch / "out" / "empty"));
  EXPECT_THROW_MSG(library.export_object("base", scratch / "out" / "full"), InputError,
                   "exists and is not an empty directory");
  EXPECT_THROW_MSG(library.export_object("nope", scratch / "out" / "x"), InputError,
                   "no object named 'nope' (the library holds: base, full_bf16, lora_a, lora_b)");
  // No temporaries left beside the outputs.
  for (const auto& name : listing(scratch / "out")) EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
}

TEST(io_library, sharded_base_round_trips) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib", tiny() / "base_sharded");
  library.export_object("base", scratch / "out");
  // Exported as one model.safetensors (far below 5 GB), with every tensor of the shards.
  expect_same_tensors(moerge::io::TensorSet::open_dir(tiny() / "base_sharded"),
                      moerge::io::TensorSet::open_dir(scratch / "out"));
  EXPECT_TRUE(fs::exists(scratch / "out" / "model.safetensors"));
  const auto hashes = library.describe("base").attrs.at("source_sha256");
  EXPECT_NE(hashes.find("model.safetensors.index.json"), std::string::npos);
  EXPECT_NE(hashes.find("model-00002-of-00002.safetensors"), std::string::npos);
}

TEST(io_library, verify_names_a_flipped_byte) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  library.import_expert(tiny() / "adapters" / "lora_a", pinned());
  library.import_expert(tiny() / "full_bf16", pinned());
  const auto self = moerge::comm::Comm::self();
  EXPECT_TRUE(library.verify({}, self).ok());

  const std::string dataset = "/lora/model.layers.1.self_attn.q_proj/A";
  const fs::path object = scratch / "lib" / "experts" / "lora_a.h5";
  std::uint64_t offset = 0;
  {
    auto file = moerge::io::h5::open_file(object);
    offset = moerge::io::h5::storage_offset(moerge::io::h5::open_dataset(file, dataset));
  }
  flip_byte(object, offset + 5);

  const auto report = library.verify({}, self);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.n_object, 3u);
  ASSERT_EQ(report.problems.size(), 2u);
  // The file's SHA-256 and that dataset's checksum, nothing else.
  EXPECT_EQ(report.problems[0].file, object.string());
  EXPECT_EQ(report.problems[0].dataset, "");
  EXPECT_EQ(report.problems[0].what, "sha256");
  EXPECT_EQ(report.problems[0].expected, library.entry("lora_a").sha256);
  EXPECT_EQ(report.problems[0].actual, moerge::hash::sha256_file(object));
  EXPECT_EQ(report.problems[1].dataset, dataset);
  EXPECT_EQ(report.problems[1].what, "checksum");
  EXPECT_TRUE(report.problems[1].expected.starts_with("xxh3:"));
  EXPECT_NE(report.problems[1].expected, report.problems[1].actual);

  EXPECT_TRUE(library.verify({"full_bf16", "base"}, self).ok());
  EXPECT_THROW_MSG(library.export_object("lora_a", scratch / "out"), IoError, "differs from the catalogue's");
  EXPECT_FALSE(fs::exists(scratch / "out"));
  EXPECT_THROW_MSG(library.verify({"missing"}, self), InputError, "no object named 'missing'");

  // A file whose size changed is refused before HDF5 reads it.
  fs::resize_file(object, fs::file_size(object) + 1);
  EXPECT_THROW_MSG(library.describe("lora_a"), IoError, "the catalogue says");
}

TEST(io_library, mismatched_adapter_writes_nothing) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  // lora_a with q_proj's lora_A one column too wide (d_in 33 against the base's 32).
  const fs::path bad = scratch / "bad_adapter";
  fs::create_directories(bad);
  fs::copy_file(tiny() / "adapters" / "lora_a" / "adapter_config.json", bad / "adapter_config.json");
  {
    const auto source = moerge::io::TensorSet::open_dir(tiny() / "adapters" / "lora_a", "adapter_model");
    std::vector<std::vector<std::byte>> buffers;
    std::vector<moerge::io::TensorToWrite> tensors;
    buffers.reserve(source.names().size());
    for (const auto& name : source.names()) {
      auto view = source.view(name);
      if (name == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight") {
        buffers.emplace_back(4 * 33 * 4);
        tensors.push_back({name, view.dtype, {4, 33}, buffers.back()});
      } else {
        tensors.push_back({name, view.dtype, view.shape, view.data});
      }
    }
    moerge::io::write_safetensors(bad / "adapter_model.safetensors", std::move(tensors));
  }
  const std::string index_sha = moerge::hash::sha256_file(scratch / "lib" / "library.h5");
  const auto before = listing(scratch / "lib");
  EXPECT_THROW_MSG(library.import_expert(bad, pinned()), InputError, "does not fit base");
  // Two directories: the good one is not imported either (all are validated before any write).
  const auto self = moerge::comm::Comm::self();
  EXPECT_THROW_MSG(library.import_experts({tiny() / "adapters" / "lora_b", bad}, pinned(), self), InputError,
                   "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(listing(scratch / "lib"), before);
  EXPECT_EQ(moerge::hash::sha256_file(scratch / "lib" / "library.h5"), index_sha);
  EXPECT_EQ(Library::open(scratch / "lib").catalogue().size(), 1u);
}

TEST(io_library, names_are_checked) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  const fs::path lora = tiny() / "adapters" / "lora_a";
  for (const std::string name : {"a/b", "../evil", ".hidden", "", "sp ace", "base"}) {
    auto options = pinned();
    options.name = name;
    EXPECT_THROW_MSG(library.import_expert(lora, options), InputError, "'" + name + "'");
  }
  EXPECT_THROW_MSG(moerge::io::check_object_name("a/b"), InputError,
                   "object name 'a/b' is invalid: use 1 to 200 of the characters A-Z a-z 0-9 . _ -");
  EXPECT_NO_THROW(moerge::io::check_object_name("Lora-7_b.v2"));
  EXPECT_THROW_MSG(moerge::io::parse_tags({"novalue"}), InputError, "tag 'novalue' is not KEY=VALUE");
  EXPECT_THROW_MSG(moerge::io::parse_tags({"a=1", "a=2"}), InputError, "tag 'a' is given twice");
  EXPECT_EQ(moerge::io::parse_tags({"domain=code", "lang=c=plus"}).at("lang"), "c=plus");
  EXPECT_EQ(listing(scratch / "lib" / "experts"), std::vector<std::string>{});
}

TEST(io_library, failed_import_leaves_no_temporaries) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  // A directory squatting on the object's final name makes the publishing rename fail after the
  // object was written in full under its temporary name.
  fs::create_directories(scratch / "lib" / "experts" / "lora_a.h5" / "squatter");
  EXPECT_THROW_MSG(library.import_expert(tiny() / "adapters" / "lora_a", pinned()), IoError, "lora_a.h5");
  EXPECT_EQ(listing(scratch / "lib" / "experts"),
            (std::vector<std::string>{"lora_a.h5", "lora_a.h5/squatter"}));
  EXPECT_EQ(Library::open(scratch / "lib").catalogue().size(), 1u);
}

TEST(io_library, replace_and_rm) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  library.import_expert(tiny() / "adapters" / "lora_a", pinned());
  EXPECT_THROW_MSG(library.import_expert(tiny() / "adapters" / "lora_a", pinned()), InputError,
                   "an object named 'lora_a' exists already (use --replace to replace it)");
  auto options = pinned({{"v", "2"}});
  options.replace = true;
  library.import_expert(tiny() / "adapters" / "lora_a", options);
  EXPECT_EQ(library.entry("lora_a").tags.at("v"), "2");
  options.name = "second";
  library.import_expert(tiny() / "adapters" / "lora_b", options);
  EXPECT_EQ(library.catalogue().size(), 3u);

  library.remove("lora_a");
  EXPECT_EQ(library.find("lora_a"), nullptr);
  EXPECT_FALSE(fs::exists(scratch / "lib" / "experts" / "lora_a.h5"));
  EXPECT_EQ(Library::open(scratch / "lib").catalogue().size(), 2u);
  EXPECT_TRUE(library.verify({}, moerge::comm::Comm::self()).ok());
  EXPECT_THROW_MSG(library.remove("base"), InputError, "the base cannot be removed");
  EXPECT_THROW_MSG(library.remove("lora_a"), InputError, "no object named 'lora_a'");
}

TEST(io_library, init_refuses_what_it_should) {
  moerge::test::ScratchDir scratch("lib");
  make_library(scratch / "lib");
  EXPECT_THROW_MSG(make_library(scratch / "lib"), InputError,
                   "exists and is not empty (use --force to replace it)");
  auto forced = Library::create(scratch / "lib", tiny() / "base_sharded", pinned(), true, true);
  EXPECT_EQ(forced.entry("base").source, (tiny() / "base_sharded").lexically_normal().string());
  EXPECT_THROW_MSG(Library::create(scratch / "lib2", tiny() / "adapters" / "lora_a", pinned(), false, true),
                   InputError, "the base must be a HF model directory");
  EXPECT_FALSE(fs::exists(scratch / "lib2"));
  // Files the library did not write are refused.
  fs::create_directories(scratch / "fake");
  std::ofstream(scratch / "fake" / "library.h5") << "not hdf5";
  EXPECT_THROW_MSG(Library::open(scratch / "fake"), InputError, "not an HDF5 file");
  fs::remove(scratch / "fake" / "library.h5");
  moerge::io::h5::create_file(scratch / "fake" / "library.h5").close();
  EXPECT_THROW_MSG(Library::open(scratch / "fake"), InputError,
                   "not a moerge library index (moerge_format is ''");
  EXPECT_THROW_MSG(Library::open(scratch / "nothing"), InputError, "no such library directory");
}

TEST(io_library, same_inputs_give_the_same_object_bytes) {
  moerge::test::ScratchDir scratch("lib");
  auto first = make_library(scratch / "one");
  auto second = make_library(scratch / "two");
  EXPECT_EQ(first.import_expert(tiny() / "adapters" / "lora_b", pinned()).sha256,
            second.import_expert(tiny() / "adapters" / "lora_b", pinned()).sha256);
  EXPECT_EQ(first.entry("base").sha256, second.entry("base").sha256);
}

TEST(io_library, progress_lines_and_formats) {
  EXPECT_EQ(moerge::progress::format_bytes(512), "512 B");
  EXPECT_EQ(moerge::progress::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(moerge::progress::format_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
  EXPECT_EQ(moerge::progress::format_duration(62), "1:02");
  EXPECT_EQ(moerge::progress::format_duration(3723), "1:02:03");

  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  moerge::progress::Options options;
  options.out = out;
  options.style = moerge::progress::Style::lines;
  options.delay = std::chrono::milliseconds(0);
  options.line_interval = std::chrono::milliseconds(0);
  {
    moerge::progress::Progress progress("import x", "tensors", 4, 4096, options);
    progress.advance(2, 1024);
    progress.advance(2, 3072);
  }
  std::rewind(out);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  EXPECT_NE(text.find("import x: 2/4 tensors (50%), 1.0 KiB/4.0 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA"), std::string::npos) << text;
  EXPECT_NE(text.find("import x: 4/4 tensors (100%), 4.0 KiB/4.0 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("done in"), std::string::npos) << text;

  // On a terminal: one line redrawn in place with a bar, ended by a newline.
  std::FILE* tty = std::tmpfile();
  options.out = tty;
  options.style = moerge::progress::Style::bar;
  options.bar_interval = std::chrono::milliseconds(0);
  {
    moerge::progress::Progress progress("export y", "tensors", 2, 0, options);
    progress.advance(1);
    progress.advance(1);
  }
  std::rewind(tty);
  std::string drawn(4096, '\0');
  drawn.resize(std::fread(drawn.data(), 1, drawn.size(), tty));
  std::fclose(tty);
  EXPECT_NE(drawn.find("\r[============>           ] export y: 1/2 tensors (50%)"), std::string::npos)
      << drawn;
  EXPECT_NE(drawn.find("\r[========================] export y: 2/2 tensors (100%)"), std::string::npos)
      << drawn;
  EXPECT_EQ(drawn.back(), '\n');
  EXPECT_EQ(std::count(drawn.begin(), drawn.end(), '\n'), 1);

  // Quiet (or not rank 0): nothing at all.
  std::FILE* silent = std::tmpfile();
  options.out = silent;
  options.enabled = moerge::progress::options_for(false, 1).enabled;
  {
    moerge::progress::Progress progress("x", "tensors", 2, 0, options);
    progress.advance(2);
  }
  EXPECT_EQ(std::ftell(silent), 0);
  std::fclose(silent);
}

TEST(io_library, register_a_merge_written_in_place) {
  moerge::test::ScratchDir scratch("lib");
  auto library = make_library(scratch / "lib");
  namespace h5 = moerge::io::h5;
  const std::vector<float> weight{1.0f, -2.0f, 0.5f, 4.0f};
  const auto write_merge = [&](const std::string& name, bool with_checksum) {
    auto file = h5::create_file(scratch / "lib" / "merges" / (name + ".h5"));
    h5::write_attr(file, "moerge_format", "moerge-library/1");
    h5::write_attr(file, "name", name);
    h5::write_attr(file, "kind", "merge");
    h5::write_attr(file, "created", "2024-06-12T00:00:00Z");
    const auto bytes = std::as_bytes(std::span(weight));
    if (with_checksum) {
      auto dataset = h5::write_dataset(file, "/params/model.norm.weight", moerge::DType::F32, {4}, bytes);
      h5::write_attr(dataset, "key", "model.norm.weight");
    } else {
      h5::create_dataset(file, "/params/model.norm.weight", moerge::DType::F32, {4});
    }
    file.close();
  };
  write_merge("ties", true);
  const auto entry = library.register_object("ties", ObjectKind::merge, {{"method", "ties"}}, "recipe.yaml");
  EXPECT_EQ(entry.file, "merges/ties.h5");
  EXPECT_EQ(entry.created, "2024-06-12T00:00:00Z");
  EXPECT_EQ(entry.n_param, 4u);
  EXPECT_EQ(Library::open(scratch / "lib").entry("ties").sha256, entry.sha256);
  EXPECT_TRUE(library.verify({"ties"}, moerge::comm::Comm::self()).ok());
  library.export_object("ties", scratch / "out");
  EXPECT_EQ(file_text(scratch / "out" / "config.json"), file_text(tiny() / "base" / "config.json"));
  const auto exported = moerge::io::TensorSet::open_dir(scratch / "out");
  ASSERT_EQ(exported.names(), std::vector<std::string>{"model.norm.weight"});
  const auto view = exported.view("model.norm.weight");
  EXPECT_TRUE(std::equal(view.data.begin(), view.data.end(), std::as_bytes(std::span(weight)).begin()));

  write_merge("bare", false);
  EXPECT_THROW_MSG(library.register_object("bare", ObjectKind::merge, {}, ""), InputError,
                   "merges/bare.h5:/params/model.norm.weight: no checksum attribute");
  EXPECT_THROW_MSG(library.register_object("ties", ObjectKind::lora, {}, ""), InputError,
                   "no such object file");
}
