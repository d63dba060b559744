// Routing statistics in the expert library and the runtime loaders of library objects, on the
// bundled zoo: models and LoRA experts read from the library equal those read from their
// directories bit for bit; statistics computed for library experts, stored by io::store_stats and
// read back equal the in-memory computations (route::arrow_prototypes, read_phatgoose_gates,
// compute_sample_stats) exactly (same code on the same f32 inputs: tolerance 0); a missing
// statistic names the command that computes it; the rewritten files pass verify.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/eval/system.hpp"
#include "moerge/io/library.hpp"
#include "moerge/model/library_load.hpp"
#include "moerge/route/stats.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace moerge {
namespace {

const fs::path& zoo() {
  static const fs::path dir = test::source_dir() / "data" / "zoo";
  return dir;
}

const std::vector<std::string> kDomains{"python", "perl", "cmake"};

/// One library for the suite: the zoo's base, three LoRA experts and a full fine-tune.
class RouteStats : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new test::ScratchDir("route_stats");
    io::ImportOptions options;
    options.created = "2024-06-11T09:30:00Z";
    io::Library library = io::Library::create(*scratch_ / "lib", zoo() / "base", options, false, true);
    std::vector<fs::path> dirs;
    for (const auto& domain : kDomains) dirs.push_back(zoo() / "experts" / "lora" / domain);
    library.import_experts(dirs, options, comm::Comm::self());
    options.name = "python_full";
    library.import_expert(zoo() / "experts" / "full" / "python", options);
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  static fs::path lib_dir() { return *scratch_ / "lib"; }
  static io::Library open() { return io::Library::open(lib_dir(), true); }

  /// The first documents of a domain's validation split, so the sample forward passes stay short.
  static std::vector<eval::Document> sample(const std::string& domain) {
    std::vector<eval::Document> documents = eval::read_documents(zoo() / "eval" / domain / "validation");
    documents.resize(std::min<std::size_t>(documents.size(), 2));
    return documents;
  }

  static test::ScratchDir* scratch_;
};

test::ScratchDir* RouteStats::scratch_ = nullptr;

/// A request of one kind without sample or gates file.
route::StatsRequest request_of(const std::string& name, route::StatsKind kind) {
  return route::StatsRequest{.name = name,
                             .kinds = {kind},
                             .data = std::nullopt,
                             .gates_file = std::nullopt,
                             .context = 0,
                             .n_window_batch = 16,
                             .created = "2024-06-11T09:30:00Z"};
}

void expect_same_bits(const model::Matrix& lhs, const model::Matrix& rhs, const std::string& what) {
  ASSERT_EQ(lhs.rows(), rhs.rows()) << what;
  ASSERT_EQ(lhs.cols(), rhs.cols()) << what;
  EXPECT_EQ(0, std::memcmp(lhs.data(), rhs.data(), static_cast<std::size_t>(lhs.size()) * sizeof(float)))
      << what;
}

void expect_same_models(const model::LlamaModel& lhs, const model::LlamaModel& rhs) {
  const model::ModelWeights& a = lhs.weights();
  const model::ModelWeights& b = rhs.weights();
  expect_same_bits(a.embed, b.embed, "embed");
  expect_same_bits(a.lm_head, b.lm_head, "lm_head");
  EXPECT_EQ(a.final_norm, b.final_norm);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t layer_idx = 0; layer_idx < a.layers.size(); ++layer_idx) {
    const std::string label = "layer " + std::to_string(layer_idx);
    expect_same_bits(a.layers[layer_idx].w_qkv, b.layers[layer_idx].w_qkv, label + " qkv");
    expect_same_bits(a.layers[layer_idx].w_o, b.layers[layer_idx].w_o, label + " o");
    expect_same_bits(a.layers[layer_idx].w_gate_up, b.layers[layer_idx].w_gate_up, label + " gate_up");
    expect_same_bits(a.layers[layer_idx].w_down, b.layers[layer_idx].w_down, label + " down");
    EXPECT_EQ(a.layers[layer_idx].attn_norm, b.layers[layer_idx].attn_norm) << label;
    EXPECT_EQ(a.layers[layer_idx].ffn_norm, b.layers[layer_idx].ffn_norm) << label;
  }
  EXPECT_EQ(lhs.config().n_layer, rhs.config().n_layer);
  EXPECT_EQ(lhs.config().n_ctx, rhs.config().n_ctx);
}

void expect_same_vectors(const route::ModuleVectors& lhs, const route::ModuleVectors& rhs,
                         const std::string& what) {
  ASSERT_EQ(lhs.size(), rhs.size()) << what;
  int n_compared = 0;
  for (std::size_t index = 0; index < lhs.size(); ++index) {
    expect_same_bits(lhs[index], rhs[index], what + " module " + std::to_string(index));
    n_compared += lhs[index].size() > 0 ? 1 : 0;
  }
  EXPECT_GT(n_compared, 0) << what;
}

TEST_F(RouteStats, library_objects_load_as_their_directories) {
  const io::Library library = open();
  const model::LlamaModel base_dir = model::LlamaModel::load_dir(zoo() / "base");
  const model::LlamaModel base_lib = model::load_library_model(library, "base");
  expect_same_models(base_lib, base_dir);
  for (const auto& domain : kDomains) {
    const model::LoraExpert from_dir =
        model::load_lora_expert_dir(zoo() / "experts" / "lora" / domain, base_dir, domain);
    const model::LoraExpert from_lib = model::load_library_lora(library, domain, base_lib, domain);
    EXPECT_EQ(from_dir.scale, from_lib.scale) << domain;
    ASSERT_EQ(from_dir.modules.size(), from_lib.modules.size());
    for (std::size_t index = 0; index < from_dir.modules.size(); ++index) {
      ASSERT_EQ(from_dir.modules[index] == nullptr, from_lib.modules[index] == nullptr) << index;
      if (from_dir.modules[index] == nullptr) continue;
      expect_same_bits(from_dir.modules[index]->a, from_lib.modules[index]->a, domain + " A");
      expect_same_bits(from_dir.modules[index]->b, from_lib.modules[index]->b, domain + " B");
    }
  }
  expect_same_models(model::load_library_model(library, "python_full"),
                     model::LlamaModel::load_dir(zoo() / "experts" / "full" / "python"));
  EXPECT_THROW_MSG(model::load_library_model(library, "python"), InputError, "is a LoRA expert, not a model");
  EXPECT_THROW_MSG(model::load_library_lora(library, "python_full", base_lib, "x"), InputError,
                   "is a full object, not a LoRA expert");
}

TEST_F(RouteStats, expert_pool_accepts_library_references) {
  const std::string lib = lib_dir().string();
  const std::vector<fs::path> experts{lib + "/:experts/python", lib + "/:experts/python_full"};
  const eval::ExpertPool pool = eval::load_expert_pool(lib + "/:base", experts);
  EXPECT_EQ(pool.order, (std::vector<std::string>{"python", "python_full"}));
  EXPECT_EQ(pool.lora.n_expert(), 1);
  ASSERT_EQ(pool.full.size(), 1u);
  ASSERT_EQ(pool.expert_refs.size(), 2u);
  EXPECT_EQ(pool.expert_refs[0].object, "experts/python");
  EXPECT_EQ(eval::expert_name(lib + "/:experts/python"), "python");
  EXPECT_EQ(eval::expert_name(lib + "/:base"), "base");
  const std::vector<fs::path> none;
  EXPECT_THROW_MSG(eval::load_expert_pool(lib + "/:experts/python", none), InputError,
                   "is a LoRA expert; --model needs");
  EXPECT_THROW_MSG(eval::load_expert_pool(lib + "/:experts/nothere", none), InputError,
                   "no object named 'nothere'");
  EXPECT_THROW_MSG(eval::load_expert_pool(lib + "/:params/x", none), InputError, "is not an object path");
  EXPECT_THROW_MSG(eval::load_expert_pool(lib + "/:merges/python_full", none), InputError,
                   "'python_full' is a full object, which is named " + lib + "/:experts/python_full");
  const std::vector<fs::path> base_as_expert{lib + "/:base"};
  EXPECT_THROW_MSG(eval::load_expert_pool(lib + "/:base", base_as_expert), InputError,
                   "--expert needs a LoRA adapter or a full fine-tune");
}

TEST_F(RouteStats, stored_statistics_equal_the_in_memory_ones) {
  io::Library library = open();
  const model::LlamaModel base = model::load_library_model(library, "base");
  constexpr int kContext = 64;
  std::vector<io::StatsUpdate> updates;
  for (const auto& domain : kDomains) {
    route::StatsRequest request{
        .name = domain,
        .kinds = {route::StatsKind::arrow, route::StatsKind::phatgoose, route::StatsKind::centroid,
                  route::StatsKind::embedding, route::StatsKind::gram},
        .data = zoo() / "eval" / domain / "validation",
        .gates_file = zoo() / "experts" / "lora" / domain / std::string(route::kPhatgooseGatesFile),
        .context = kContext,
        .n_window_batch = 16,
        .created = "2024-06-11T09:30:00Z"};
    std::string summary;
    updates.push_back(route::compute_library_stats(library, base, request, summary));
    EXPECT_NE(summary.find("arrow (28 modules)"), std::string::npos) << summary;
  }
  const auto changed = io::store_stats(library, updates, comm::Comm::self());
  EXPECT_EQ(changed.size(), kDomains.size());
  const io::VerifyReport report = library.verify({}, comm::Comm::self());
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems.front().what);

  // The in-memory reference: the same experts loaded from their directories.
  const model::LlamaModel base_dir = model::LlamaModel::load_dir(zoo() / "base");
  model::LoraSet set(base_dir.config());
  std::vector<fs::path> dirs;
  std::vector<std::vector<eval::Document>> samples;
  for (const auto& domain : kDomains) {
    dirs.push_back(zoo() / "experts" / "lora" / domain);
    set.add(model::load_lora_expert_dir(dirs.back(), base_dir, domain));
    samples.push_back(eval::read_documents(zoo() / "eval" / domain / "validation"));
  }
  expect_same_vectors(route::read_library_vectors(library, kDomains, base.config(), route::StatsKind::arrow),
                      route::arrow_prototypes(set), "arrow");
  expect_same_vectors(
      route::read_library_vectors(library, kDomains, base.config(), route::StatsKind::phatgoose),
      route::read_phatgoose_gates(set, dirs), "phatgoose");
  const route::SampleStats stats = route::compute_sample_stats(base_dir, set, samples, kContext);
  expect_same_vectors(
      route::read_library_vectors(library, kDomains, base.config(), route::StatsKind::centroid),
      stats.centroids, "centroid");
  expect_same_bits(route::read_library_embeddings(library, kDomains, base.config()), stats.embeddings,
                   "embedding");

  // The Gram matrix of the first module: X^T X / n of the inputs the centroid averages, so its
  // diagonal is at least the centroid squared (Jensen), and n equals the rows seen.
  const io::ObjectFile file(library, "python");
  const io::StoredTensor gram = file.read("/stats/gram/model.layers.0.self_attn.q_proj/G");
  const io::StoredTensor n_row = file.read("/stats/gram/model.layers.0.self_attn.q_proj/n");
  ASSERT_EQ(gram.shape, (std::vector<std::int64_t>{base.config().d_model, base.config().d_model}));
  ASSERT_EQ(n_row.dtype, DType::I64);
  std::int64_t n = 0;
  std::memcpy(&n, n_row.data.data(), sizeof n);
  // Every window of the sample is fed as many tokens as it scores bytes: n = the sample's bytes.
  std::int64_t n_byte = 0;
  for (const auto& document : samples[0]) n_byte += static_cast<std::int64_t>(document.bytes.size());
  EXPECT_EQ(n, n_byte);
  const auto* g = reinterpret_cast<const float*>(gram.data.data());
  const model::Matrix& centroids = stats.centroids[0];
  for (int col = 0; col < base.config().d_model; ++col) {
    const float mean = centroids(0, col);
    // Relative slack 1e-5 for the f32 rounding of both stored values.
    EXPECT_GE(g[col * base.config().d_model + col] * (1 + 1e-5f) + 1e-12f, mean * mean) << col;
    EXPECT_EQ(g[col * base.config().d_model + (col + 1) % base.config().d_model],
              g[((col + 1) % base.config().d_model) * base.config().d_model + col]);
  }
  // Statistics kept: a second update of one kind leaves the others as they were.
  const std::string arrow_checksum = file.info("/stats/arrow/model.layers.0.self_attn.q_proj/v").checksum;
  route::StatsRequest embedding_only{.name = "python",
                                     .kinds = {route::StatsKind::embedding},
                                     .data = zoo() / "eval" / "perl" / "validation",
                                     .gates_file = std::nullopt,
                                     .context = kContext,
                                     .n_window_batch = 16,
                                     .created = "2024-06-11T09:30:00Z"};
  std::string summary;
  const std::vector<io::StatsUpdate> again{
      route::compute_library_stats(library, base, embedding_only, summary)};
  io::store_stats(library, again, comm::Comm::self());
  const io::ObjectFile rewritten(library, "python");
  EXPECT_EQ(rewritten.info("/stats/arrow/model.layers.0.self_attn.q_proj/v").checksum, arrow_checksum);
  EXPECT_NE(rewritten.info("/stats/embedding").checksum, file.info("/stats/embedding").checksum);
  EXPECT_EQ(rewritten.attr_string("created"), "2024-06-11T09:30:00Z");
  EXPECT_TRUE(library.verify({}, comm::Comm::self()).ok());
}

TEST_F(RouteStats, missing_statistics_name_the_command) {
  io::ImportOptions options;
  options.name = "m4";
  io::Library library = open();
  library.import_expert(zoo() / "experts" / "lora" / "m4", options);
  const model::LlamaModel base = model::load_library_model(library, "base");
  const std::vector<std::string> names{"m4"};
  const std::string lib = library.dir().string();
  EXPECT_THROW_MSG(route::read_library_vectors(library, names, base.config(), route::StatsKind::arrow),
                   InputError,
                   "expert 'm4' has no arrow statistics in " + lib + "/experts/m4.h5: run `moerge stats " +
                       lib + " --expert m4 --kind arrow`");
  EXPECT_THROW_MSG(route::read_library_vectors(library, names, base.config(), route::StatsKind::centroid),
                   InputError, "--kind centroid --data m4=DIR`");
  EXPECT_THROW_MSG(route::read_library_embeddings(library, names, base.config()), InputError,
                   "expert 'm4' has no embedding statistics");
  const std::vector<std::string> full{"python_full"};
  EXPECT_THROW_MSG(route::read_library_vectors(library, full, base.config(), route::StatsKind::arrow),
                   InputError, "is a full object: arrow statistics belong to LoRA experts");

  std::string summary;
  route::StatsRequest request = request_of("python_full", route::StatsKind::arrow);
  EXPECT_THROW_MSG(route::compute_library_stats(library, base, request, summary), InputError,
                   "expert 'python_full' is a full fine-tune: arrow statistics need LoRA factors");
  request = request_of("m4", route::StatsKind::centroid);
  EXPECT_THROW_MSG(route::compute_library_stats(library, base, request, summary), InputError,
                   "expert 'm4': --kind centroid needs a sample of its data: give --data m4=DIR");
  request = request_of("nothere", route::StatsKind::arrow);
  EXPECT_THROW_MSG(route::compute_library_stats(library, base, request, summary), InputError,
                   "no object named 'nothere'");

  // A file that changed since its statistics were computed is not overwritten.
  request = request_of("m4", route::StatsKind::arrow);
  io::StatsUpdate update = route::compute_library_stats(library, base, request, summary);
  update.expected_sha256 = "0000";
  const std::vector<io::StatsUpdate> updates{update};
  EXPECT_THROW_MSG(io::store_stats(library, updates, comm::Comm::self()), InputError,
                   "changed while its statistics were computed");
  EXPECT_THROW_MSG(route::read_library_vectors(library, names, base.config(), route::StatsKind::arrow),
                   InputError, "has no arrow statistics");
}

}  // namespace
}  // namespace moerge
