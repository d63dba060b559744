// Tests of the bits-per-byte evaluator: documents and windows as methods.md defines them, the
// exact inputs a model sees, closed-form scores, agreement with the torch reference, domain
// arguments, and the results CSV (round-trip floats, atomic write, strict reading).
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/eval/bpb.hpp"
#include "moerge/eval/results.hpp"
#include "moerge/eval/system.hpp"
#include "moerge/model/lora.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace moerge;

namespace {

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string pattern(std::size_t n, int seed) {
  std::string out;
  for (std::size_t idx = 0; idx < n; ++idx)
    out.push_back(static_cast<char>(32 + (idx * 7 + static_cast<std::size_t>(seed) * 13) % 95));
  return out;
}

/// A scorer whose every row is the same distribution: p(t) = 1/n for n equally likely ids.
/// It records the batches it is given.
class UniformScorer : public eval::Scorer {
 public:
  model::Matrix log_probs(const model::TokenBatch& batch) override {
    batches.push_back(batch);
    return model::Matrix::Constant(batch.n_row(), 258, -std::log(258.0f));
  }
  model::ByteVocab vocab() const override { return {}; }
  int n_ctx() const override { return 16; }
  std::vector<model::TokenBatch> batches;
};

}  // namespace

TEST(eval_windows, cut_each_document_into_context_sized_windows) {
  std::vector<eval::Document> documents;
  for (const std::size_t size : {0, 1, 128, 129, 300})
    documents.push_back(eval::Document{.path = fmt::format("d{}", size), .bytes = std::string(size, 'x')});
  const auto windows = eval::make_windows(documents, 128);
  // 0 -> none; 1 -> [1]; 128 -> [128]; 129 -> [128, 1]; 300 -> [128, 128, 44]
  const std::vector<std::tuple<int, int, int>> expected{{1, 0, 1},   {2, 0, 128},   {3, 0, 128}, {3, 128, 1},
                                                        {4, 0, 128}, {4, 128, 128}, {4, 256, 44}};
  ASSERT_EQ(windows.size(), expected.size());
  for (std::size_t idx = 0; idx < expected.size(); ++idx) {
    EXPECT_EQ(windows[idx].doc_idx, std::get<0>(expected[idx]));
    EXPECT_EQ(windows[idx].begin, std::get<1>(expected[idx]));
    EXPECT_EQ(windows[idx].n_byte, std::get<2>(expected[idx]));
  }
  EXPECT_THROW_MSG(eval::make_windows(documents, 0), ConfigError, "context length 0 must be positive");
}

TEST(eval_documents, every_regular_file_below_the_directory_sorted) {
  test::ScratchDir scratch("eval-docs");
  write_file(scratch / "dom/b.txt", "bb");
  write_file(scratch / "dom/a/z.txt", "zzz");
  write_file(scratch / "dom/.hidden", "h");
  write_file(scratch / "dom/c/empty", "");
  const auto documents = eval::read_documents(scratch / "dom");
  ASSERT_EQ(documents.size(), 4u);
  EXPECT_EQ(documents[0].path, scratch / "dom/.hidden");
  EXPECT_EQ(documents[1].path, scratch / "dom/a/z.txt");
  EXPECT_EQ(documents[1].bytes, "zzz");
  EXPECT_EQ(documents[2].path, scratch / "dom/b.txt");
  EXPECT_EQ(documents[3].bytes, "");
  // A file given as the domain is its only document.
  const auto single = eval::read_documents(scratch / "dom/b.txt");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].bytes, "bb");
}

TEST(eval_documents, refuses_missing_empty_and_all_empty_directories) {
  test::ScratchDir scratch("eval-docs");
  EXPECT_THROW_MSG(eval::read_documents(scratch / "nope"), InputError,
                   (scratch / "nope").string() + ": no such file or directory");
  fs::create_directories(scratch / "empty");
  EXPECT_THROW_MSG(eval::read_documents(scratch / "empty"), InputError,
                   (scratch / "empty").string() + ": holds no files");
  write_file(scratch / "blank/one", "");
  write_file(scratch / "blank/two", "");
  EXPECT_THROW_MSG(eval::read_documents(scratch / "blank"), InputError, "its 2 files are all empty");
  write_file(scratch / "empty_file", "");
  EXPECT_THROW_MSG(eval::read_documents(scratch / "empty_file"), InputError, "empty_file: is empty");
}

TEST(eval_score, feeds_bos_and_all_but_the_last_byte_and_scores_every_byte) {
  std::vector<eval::Document> documents{{.path = "a", .bytes = "abcdefghij"}, {.path = "b", .bytes = "XYZ"}};
  UniformScorer scorer;
  const eval::DomainSpec domain{.name = "letters", .dir = "-", .split = "held_out"};
  const auto score = eval::score_domain(
      scorer, domain, documents, {.context = 4, .n_window_batch = 2, .quiet = true}, comm::Comm::self());
  EXPECT_EQ(score.n_bytes, 13);
  EXPECT_EQ(score.split, "held_out");
  // Every byte costs log2(258) bits under the uniform distribution: a closed form.
  EXPECT_NEAR(score.bits_per_byte(), std::log2(258.0), 1e-6);
  // Windows abcd efgh ij XYZ, two per batch: [BOS a b c] [BOS e f g] | [BOS i] [BOS X Y].
  ASSERT_EQ(scorer.batches.size(), 2u);
  const std::vector<model::TokenId> first{256, 'a', 'b', 'c', 256, 'e', 'f', 'g'};
  const std::vector<model::TokenId> second{256, 'i', 256, 'X', 'Y'};
  EXPECT_EQ(scorer.batches[0].tokens, first);
  EXPECT_EQ(scorer.batches[1].tokens, second);
  EXPECT_EQ(scorer.batches[1].seq_offsets, (std::vector<std::int32_t>{0, 2, 5}));
}

TEST(eval_score, tiny_model_matches_the_torch_reference) {
  test::ScratchDir scratch("eval-ref");
  // Documents of 1, 63, 64, 65 and 200 bytes around the context of 64.
  int seed = 0;
  for (const std::size_t size : {1, 63, 64, 65, 200})
    write_file(scratch / "docs" / fmt::format("{:03}", seed), pattern(size, seed++));
  const fs::path base_dir = test::data_dir() / "tiny" / "base";
  const fs::path lora_dir = test::data_dir() / "tiny" / "adapters" / "lora_b";
  auto pool = eval::load_expert_pool(base_dir, std::vector<fs::path>{lora_dir});
  const auto documents = eval::read_documents(scratch / "docs");
  const eval::DomainSpec domain{.name = "pattern", .dir = scratch / "docs"};
  model::SingleExpertHook hook(0);
  for (const bool with_lora : {false, true}) {
    eval::ModelScorer scorer(pool.base, with_lora
                                            ? model::ForwardOptions{.hook = &hook, .experts = &pool.lora}
                                            : model::ForwardOptions{});
    const auto score = eval::score_domain(
        scorer, domain, documents, {.context = 64, .n_window_batch = 3, .quiet = true}, comm::Comm::self());
    const fs::path out = scratch / "ref.json";
    const std::string command = fmt::format(
        "/usr/bin/python3 {} bpb --model {} {} --docs {} > {}",
        (test::source_dir() / "tools" / "reference" / "llama_ref.py").string(), base_dir.string(),
        with_lora ? "--lora " + lora_dir.string() : std::string(), (scratch / "docs").string(), out.string());
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(out);
    const auto reference = nlohmann::json::parse(in);
    EXPECT_EQ(score.n_bytes, reference.at("n_bytes").get<std::int64_t>());
    // f32 forward passes with different summation orders: rounding only.
    EXPECT_NEAR(score.bits_per_byte(), reference.at("bits_per_byte").get<double>(),
                1e-5 * reference.at("bits_per_byte").get<double>());
    // Another batching gives the same windows and so the same figure up to rounding.
    const auto one_by_one = eval::score_domain(
        scorer, domain, documents, {.context = 64, .n_window_batch = 1, .quiet = true}, comm::Comm::self());
    EXPECT_NEAR(one_by_one.bits_per_byte(), score.bits_per_byte(), 1e-6 * score.bits_per_byte());
  }
}

TEST(eval_domains, parse_name_equals_dir) {
  const auto spec = eval::parse_domain_arg("python=eval/python/test", "held_out");
  EXPECT_EQ(spec.name, "python");
  EXPECT_EQ(spec.dir, fs::path("eval/python/test"));
  EXPECT_EQ(spec.split, "held_out");
  EXPECT_EQ(eval::parse_domain_arg("a=b=c", "in_distribution").dir, fs::path("b=c"));
  EXPECT_THROW_MSG(eval::parse_domain_arg("python", "in_distribution"), ConfigError,
                   "--domain 'python': expected NAME=DIR");
  EXPECT_THROW_MSG(eval::parse_domain_arg("=dir", "in_distribution"), ConfigError, "the name '' must be");
  EXPECT_THROW_MSG(eval::parse_domain_arg("a,b=dir", "in_distribution"), ConfigError,
                   "the name 'a,b' must be");
  EXPECT_THROW_MSG(eval::parse_domain_arg("a=", "in_distribution"), ConfigError,
                   "the directory after '=' is empty");
  EXPECT_THROW_MSG(eval::parse_domain_arg("a=b", "test"), ConfigError, "split label 'test' is not one of");
}

TEST(eval_domains, read_a_zoo_domains_json) {
  test::ScratchDir scratch("eval-domains");
  write_file(
      scratch / "domains.json",
      R"({"domains": [{"name": "c", "held_out": false, "eval_dirs": {"test": "eval/c/test", "validation": "eval/c/val"}},
                             {"name": "rst", "held_out": true, "eval_dirs": {"test": "eval/rst/test", "validation": "v"}}]})");
  const auto domains = eval::read_domains_json(scratch / "domains.json", "validation");
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_EQ(domains[0].dir, scratch / "eval/c/val");
  EXPECT_EQ(domains[0].split, "in_distribution");
  EXPECT_EQ(domains[1].split, "held_out");
  write_file(scratch / "bad.json", R"({"domains": [{"name": "c", "eval_dirs": {"validation": "v"}}]})");
  EXPECT_THROW_MSG(
      eval::read_domains_json(scratch / "bad.json", "test"), InputError,
      (scratch / "bad.json").string() + ": domains[0] ('c'): key 'eval_dirs.test' must name a directory");
}

TEST(eval_results, csv_round_trips_every_double) {
  test::ScratchDir scratch("eval-csv");
  const std::vector<eval::EvalRow> rows{{"base", "c_headers", "in_distribution", 20163, 2.6924454076785986},
                                        {"base", "rst", "held_out", 3, 1.0 / 3.0},
                                        {"lora_x", "json", "in_distribution", 1, 0.1},
                                        {"lora_x", "tiny", "in_distribution", 7, 5e-324}};
  const fs::path path = scratch / "out.csv";
  eval::write_eval_csv(path, rows);
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "system,domain,split,n_bytes,bits_per_byte");
  const auto back = eval::read_eval_csv(path);
  ASSERT_EQ(back.size(), rows.size());
  for (std::size_t idx = 0; idx < rows.size(); ++idx) {
    EXPECT_EQ(back[idx].system, rows[idx].system);
    EXPECT_EQ(back[idx].domain, rows[idx].domain);
    EXPECT_EQ(back[idx].split, rows[idx].split);
    EXPECT_EQ(back[idx].n_bytes, rows[idx].n_bytes);
    EXPECT_EQ(back[idx].bits_per_byte, rows[idx].bits_per_byte) << "row " << idx;  // bit for bit
  }
  EXPECT_NE(eval::eval_csv_text(rows).find("base,c_headers,in_distribution,20163,2.6924454076785986\n"),
            std::string::npos);
  // Nothing but the final file is left behind.
  std::size_t n_entry = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(scratch.path())) ++n_entry;
  EXPECT_EQ(n_entry, 1u);
}

TEST(eval_results, reading_names_the_bad_line) {
  test::ScratchDir scratch("eval-csv");
  write_file(
      scratch / "bad.csv",
      "system,domain,split,n_bytes,bits_per_byte\nbase,a,in_distribution,10,1.5\nbase,b,held_out,x,2\n");
  EXPECT_THROW_MSG(eval::read_eval_csv(scratch / "bad.csv"), InputError,
                   "bad.csv: line 3: n_bytes 'x' is not a count");
  write_file(scratch / "header.csv", "model,mode\n");
  EXPECT_THROW_MSG(eval::read_eval_csv(scratch / "header.csv"), InputError,
                   "line 1 must start with the header");
}

TEST(eval_results, table_lists_domains_and_split_means) {
  const std::vector<eval::EvalRow> rows{{"base", "a", "in_distribution", 10, 1.0},
                                        {"base", "b", "in_distribution", 10, 2.0},
                                        {"base", "c", "held_out", 10, 4.0}};
  const std::string table = eval::eval_table(rows);
  EXPECT_NE(table.find("system base"), std::string::npos);
  EXPECT_NE(table.find("1.5000"), std::string::npos) << table;  // mean of in_distribution
  EXPECT_NE(table.find("4.0000"), std::string::npos) << table;
}

TEST(eval_system, pool_names_and_refuses_duplicates_and_adapters_as_model) {
  const fs::path tiny = test::data_dir() / "tiny";
  EXPECT_EQ(eval::expert_name("experts/lora/python/"), "python");
  EXPECT_EQ(eval::expert_name("experts/lora/python"), "python");
  const std::vector<fs::path> twice{tiny / "adapters" / "lora_a", tiny / "adapters" / "lora_a"};
  EXPECT_THROW_MSG(eval::load_expert_pool(tiny / "base", twice), ConfigError,
                   "two experts are named 'lora_a'");
  EXPECT_THROW_MSG(eval::load_expert_pool(tiny / "adapters" / "lora_a", {}), InputError,
                   "--model needs a HF model directory");
  const std::vector<fs::path> mixed{tiny / "adapters" / "lora_a", tiny / "full_bf16"};
  const auto pool = eval::load_expert_pool(tiny / "base", mixed);
  EXPECT_EQ(pool.lora.n_expert(), 1);
  ASSERT_EQ(pool.full.size(), 1u);
  EXPECT_EQ(pool.full[0].name, "full_bf16");
  EXPECT_EQ(pool.order, (std::vector<std::string>{"lora_a", "full_bf16"}));
}
