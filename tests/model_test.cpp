// Tests of the model runtime: logits against the independent torch reference
// (tools/reference/llama_ref.py) for the tiny GQA test model, its LoRA adapters and bf16 fine-tune,
// and the zoo's base, a LoRA expert, a full fine-tune and merged models; KV-cached decoding against
// prefill; grouped LoRA routing against per-row dense products; refusal of bad inputs.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/safetensors.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace moerge;
using model::Matrix;
using model::TokenId;

namespace {

fs::path tiny_dir() { return test::data_dir() / "tiny"; }

/// The zoo the tests use: data/zoo of the source tree (MOERGE_ZOO overrides it).
fs::path zoo_dir() {
  const char* override_dir = std::getenv("MOERGE_ZOO");
  return override_dir != nullptr ? fs::path(override_dir) : test::source_dir() / "data" / "zoo";
}

/// The zoo's first in-distribution domain that has both a LoRA and a full expert.
struct ZooDomain {
  std::string name;
  fs::path lora;
  fs::path full;
  fs::path test_dir;
};
ZooDomain zoo_domain(int skip = 0) {
  std::ifstream in(zoo_dir() / "domains.json");
  const auto root = nlohmann::json::parse(in);
  for (const auto& domain : root.at("domains")) {
    if (domain.value("held_out", false) || !domain.contains("full_expert") ||
        !domain["full_expert"].is_string() || !domain.contains("lora_expert") ||
        !domain["lora_expert"].is_string())
      continue;
    if (skip-- > 0) continue;
    return ZooDomain{.name = domain.at("name").get<std::string>(),
                     .lora = zoo_dir() / domain["lora_expert"].get<std::string>(),
                     .full = zoo_dir() / domain["full_expert"].get<std::string>(),
                     .test_dir = zoo_dir() / domain.at("eval_dirs").at("test").get<std::string>()};
  }
  throw std::runtime_error("the zoo has no domain with both a LoRA and a full expert");
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Token sequences [BOS, bytes...] cut from the files of `text_dir` with the given lengths.
std::vector<std::vector<TokenId>> text_sequences(const fs::path& text_dir, const std::vector<int>& lengths) {
  std::string text;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(text_dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) text += read_bytes(file);
  std::vector<std::vector<TokenId>> out;
  std::size_t offset = 0;
  for (const int length : lengths) {
    std::vector<TokenId> sequence{256};
    for (int idx = 1; idx < length; ++idx) sequence.push_back(static_cast<unsigned char>(text.at(offset++)));
    out.push_back(std::move(sequence));
  }
  return out;
}

model::TokenBatch make_batch(const std::vector<std::vector<TokenId>>& sequences) {
  model::TokenBatch batch;
  for (const auto& sequence : sequences) batch.add(sequence);
  return batch;
}

struct Reference {
  Matrix logits;
  Matrix hidden;
};

/// Run tools/reference/llama_ref.py logits on `sequences` (each alone, from position 0).
Reference run_reference(const test::ScratchDir& scratch, const fs::path& model_dir,
                        const std::vector<std::string>& loras,
                        const std::vector<std::vector<TokenId>>& sequences) {
  static int n_call = 0;
  const fs::path tokens = scratch / fmt::format("tokens{}.json", n_call);
  const fs::path out = scratch / fmt::format("ref{}.safetensors", n_call);
  ++n_call;
  std::ofstream(tokens) << nlohmann::json{{"sequences", sequences}}.dump();
  std::string command = fmt::format("/usr/bin/python3 {} logits --model {} --tokens {} --out {}",
                                    (test::source_dir() / "tools" / "reference" / "llama_ref.py").string(),
                                    model_dir.string(), tokens.string(), out.string());
  for (const std::string& lora : loras) command += " --lora " + lora;
  const int status = std::system(command.c_str());
  if (status != 0) throw std::runtime_error("reference failed: " + command);
  const auto file = io::SafetensorsFile::open(out);
  const auto to_matrix = [&](const char* name) {
    const TensorView view = file.view(name);
    Matrix matrix(view.shape.at(0), view.shape.at(1));
    convert_to_f32(view.dtype, view.data,
                   std::span<float>(matrix.data(), static_cast<std::size_t>(matrix.size())));
    return matrix;
  };
  return Reference{.logits = to_matrix("logits"), .hidden = to_matrix("hidden")};
}

/// max |actual - expected| / max |expected|: the error relative to the largest magnitude.
double relative_error(const Matrix& actual, const Matrix& expected) {
  EXPECT_EQ(actual.rows(), expected.rows());
  EXPECT_EQ(actual.cols(), expected.cols());
  if (actual.rows() != expected.rows() || actual.cols() != expected.cols()) return INFINITY;
  return (actual - expected).cwiseAbs().maxCoeff() / expected.cwiseAbs().maxCoeff();
}

// Logits vs the torch reference: both compute in f32 with different summation orders (Eigen
// blocked GEMM vs OpenBLAS), so they differ by float rounding, far below 1e-4 of the largest logit.
constexpr double kReferenceTolerance = 1e-4;

/// A hook giving every row of sequence s the mixture mix[s] = {(expert, weight), ...}.
class SequenceMixHook : public model::ModuleHook {
 public:
  explicit SequenceMixHook(std::vector<std::vector<std::pair<int, float>>> mix) : mix_(std::move(mix)) {}
  void at_module(const model::ModuleId&, const Matrix& input, const model::BatchLayout& layout,
                 model::RoutingDecision& decision) override {
    decision.clear();
    for (Eigen::Index row_idx = 0; row_idx < input.rows(); ++row_idx) {
      for (const auto& [expert_idx, weight] :
           mix_.at(static_cast<std::size_t>(layout.seq_of_row[static_cast<std::size_t>(row_idx)]))) {
        decision.expert_idx.push_back(expert_idx);
        decision.weight.push_back(weight);
      }
      decision.row_offsets.push_back(static_cast<std::int32_t>(decision.expert_idx.size()));
    }
  }

 private:
  std::vector<std::vector<std::pair<int, float>>> mix_;
};

}  // namespace

TEST(model_module, hf_path_round_trips_through_parse) {
  for (int layer_idx = 0; layer_idx < 3; ++layer_idx)
    for (int kind_idx = 0; kind_idx < model::n_module_kind; ++kind_idx) {
      const model::ModuleId module{.layer_idx = layer_idx, .kind = static_cast<model::ModuleKind>(kind_idx)};
      const auto parsed = model::parse_module_path(module.hf_path(), 3);
      ASSERT_TRUE(parsed.has_value()) << module.hf_path();
      EXPECT_EQ(parsed->index(), module.index());
    }
  EXPECT_EQ((model::ModuleId{.layer_idx = 3, .kind = model::ModuleKind::up_proj}.hf_path()),
            "model.layers.3.mlp.up_proj");
  EXPECT_EQ((model::ModuleId{.layer_idx = 0, .kind = model::ModuleKind::k_proj}.hf_path()),
            "model.layers.0.self_attn.k_proj");
  EXPECT_FALSE(model::parse_module_path("model.layers.3.mlp.up_proj", 3));   // layer beyond the model
  EXPECT_FALSE(model::parse_module_path("model.layers.01.mlp.up_proj", 3));  // not HF's spelling
  EXPECT_FALSE(model::parse_module_path("lm_head", 3));
  EXPECT_FALSE(model::parse_module_path("model.layers.1.self_attn.rotary_emb", 3));
}

TEST(model_reference, tiny_gqa_base_matches_torch) {
  test::ScratchDir scratch("model-ref");
  const auto model = model::LlamaModel::load_dir(tiny_dir() / "base");
  EXPECT_EQ(model.config().n_head_kv, 2);  // grouped-query attention: 4 heads share 2 key/value heads
  // Lengths 1 and 100 (past max_position_embeddings 64: RoPE tables beyond the precomputed ones).
  const auto sequences = text_sequences(test::source_dir() / "tools" / "zoo", {17, 1, 64, 100});
  Matrix hidden;
  const Matrix logits = model.forward(make_batch(sequences), {.final_hidden = &hidden});
  const Reference reference = run_reference(scratch, tiny_dir() / "base", {}, sequences);
  EXPECT_LT(relative_error(logits, reference.logits), kReferenceTolerance);
  EXPECT_LT(relative_error(hidden, reference.hidden), kReferenceTolerance);
}

TEST(model_reference, tiny_lora_adapters_unmerged_match_torch) {
  test::ScratchDir scratch("model-ref");
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  model::LoraSet experts(base.config());
  const fs::path lora_a = tiny_dir() / "adapters" / "lora_a";  // q, v; r 4; f32
  const fs::path lora_b = tiny_dir() / "adapters" / "lora_b";  // all seven; r 2; bf16; rsLoRA
  experts.add(model::load_lora_expert_dir(lora_a, base, "lora_a"));
  experts.add(model::load_lora_expert_dir(lora_b, base, "lora_b"));
  EXPECT_NEAR(experts.expert(1).scale, 4.0 / std::sqrt(2.0), 1e-6);
  const auto sequences = text_sequences(test::source_dir() / "tools" / "zoo", {33, 64, 5});
  const model::TokenBatch batch = make_batch(sequences);
  for (int expert_idx = 0; expert_idx < 2; ++expert_idx) {
    model::SingleExpertHook hook(expert_idx);
    const Matrix logits = base.forward(batch, {.hook = &hook, .experts = &experts});
    const Reference reference = run_reference(scratch, tiny_dir() / "base",
                                              {(expert_idx == 0 ? lora_a : lora_b).string()}, sequences);
    EXPECT_LT(relative_error(logits, reference.logits), kReferenceTolerance) << "expert " << expert_idx;
    // The adapter changes the logits far beyond the tolerance, so the comparison can fail.
    EXPECT_GT(relative_error(base.forward(batch), reference.logits), 100 * kReferenceTolerance);
  }
  // Both at once with weights 0.3 and 0.7 on every row.
  SequenceMixHook mix({{{0, 0.3f}, {1, 0.7f}}, {{0, 0.3f}, {1, 0.7f}}, {{0, 0.3f}, {1, 0.7f}}});
  const Matrix mixed = base.forward(batch, {.hook = &mix, .experts = &experts});
  const Reference reference = run_reference(scratch, tiny_dir() / "base",
                                            {lora_a.string() + "=0.3", lora_b.string() + "=0.7"}, sequences);
  EXPECT_LT(relative_error(mixed, reference.logits), kReferenceTolerance);
}

TEST(model_reference, tiny_bf16_full_finetune_matches_torch) {
  test::ScratchDir scratch("model-ref");
  const auto model = model::LlamaModel::load_dir(tiny_dir() / "full_bf16");
  const auto sequences = text_sequences(test::source_dir() / "tools" / "zoo", {40, 64});
  const Matrix logits = model.forward(make_batch(sequences));
  const Reference reference = run_reference(scratch, tiny_dir() / "full_bf16", {}, sequences);
  EXPECT_LT(relative_error(logits, reference.logits), kReferenceTolerance);
}

TEST(model_reference, zoo_base_lora_and_full_expert_match_torch) {
  test::ScratchDir scratch("model-ref");
  const ZooDomain domain = zoo_domain();
  const auto base = model::LlamaModel::load_dir(zoo_dir() / "base");
  const int n_ctx = base.config().n_ctx;
  const auto sequences = text_sequences(domain.test_dir, {n_ctx, 1, n_ctx / 2 + 3, n_ctx, 9});
  const model::TokenBatch batch = make_batch(sequences);

  Matrix hidden;
  const Matrix base_logits = base.forward(batch, {.final_hidden = &hidden});
  const Reference base_reference = run_reference(scratch, zoo_dir() / "base", {}, sequences);
  EXPECT_LT(relative_error(base_logits, base_reference.logits), kReferenceTolerance);
  EXPECT_LT(relative_error(hidden, base_reference.hidden), kReferenceTolerance);

  model::LoraSet experts(base.config());
  experts.add(model::load_lora_expert_dir(domain.lora, base, domain.name));
  model::SingleExpertHook hook(0);
  const Matrix lora_logits = base.forward(batch, {.hook = &hook, .experts = &experts});
  const Reference lora_reference =
      run_reference(scratch, zoo_dir() / "base", {domain.lora.string()}, sequences);
  EXPECT_LT(relative_error(lora_logits, lora_reference.logits), kReferenceTolerance) << domain.lora;
  EXPECT_GT(relative_error(base_logits, lora_reference.logits), 100 * kReferenceTolerance);

  const auto full = model::LlamaModel::load_dir(domain.full);  // bf16 weights
  const Matrix full_logits = full.forward(batch);
  const Reference full_reference = run_reference(scratch, domain.full, {}, sequences);
  EXPECT_LT(relative_error(full_logits, full_reference.logits), kReferenceTolerance) << domain.full;
}

TEST(model_reference, zoo_merged_models_match_torch) {
  test::ScratchDir scratch("model-ref");
  const ZooDomain first = zoo_domain(0);
  const ZooDomain second = zoo_domain(1);
  const auto base = model::LlamaModel::load_dir(zoo_dir() / "base");
  const auto sequences = text_sequences(first.test_dir, {base.config().n_ctx, 20});
  const model::TokenBatch batch = make_batch(sequences);
  const std::vector<std::string> loras{first.lora.string() + "=0.5", second.lora.string() + "=0.5"};

  // A dense merge W0 + sum 0.5 s B A written by the reference, run by moerge as a plain model.
  const fs::path merged_dir = scratch / "merged";
  const std::string command =
      fmt::format("/usr/bin/python3 {} merge-lora --model {} --lora {} --lora {} --out {}",
                  (test::source_dir() / "tools" / "reference" / "llama_ref.py").string(),
                  (zoo_dir() / "base").string(), loras[0], loras[1], merged_dir.string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto merged = model::LlamaModel::load_dir(merged_dir);
  const Reference merged_reference = run_reference(scratch, merged_dir, {}, sequences);
  EXPECT_LT(relative_error(merged.forward(batch), merged_reference.logits), kReferenceTolerance);

  // moerge's own dense merge against the reference applying both adapters unmerged.
  model::LoraSet experts(base.config());
  experts.add(model::load_lora_expert_dir(first.lora, base, first.name));
  experts.add(model::load_lora_expert_dir(second.lora, base, second.name));
  const std::vector<float> weights{0.5f, 0.5f};
  const auto dense = model::merge_dense(base, experts, weights);
  const Reference unmerged_reference = run_reference(scratch, zoo_dir() / "base", loras, sequences);
  EXPECT_LT(relative_error(dense.forward(batch), unmerged_reference.logits), kReferenceTolerance);
}

TEST(model_kv_cache, decoding_token_by_token_equals_prefill) {
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  model::LoraSet experts(base.config());
  experts.add(model::load_lora_expert_dir(tiny_dir() / "adapters" / "lora_b", base, "lora_b"));
  model::SingleExpertHook hook(0);
  const auto sequences = text_sequences(test::source_dir() / "tools" / "zoo", {20, 33, 64});
  for (const bool with_lora : {false, true}) {
    model::ForwardOptions options;
    if (with_lora) options = {.hook = &hook, .experts = &experts};
    const Matrix prefill = base.forward(make_batch(sequences), options);

    // A first chunk of a different length per sequence, then one token per step; finished
    // sequences take part as empty sequences so that slot s stays sequence s.
    model::KvCache cache(base.config(), 3, base.config().n_ctx);
    options.cache = &cache;
    const std::vector<int> first_chunk{5, 1, 10};
    std::vector<Matrix> rows(3);
    for (int seq_idx = 0; seq_idx < 3; ++seq_idx)
      rows[static_cast<std::size_t>(seq_idx)].resize(0, base.config().n_vocab);
    model::TokenBatch batch;
    for (int seq_idx = 0; seq_idx < 3; ++seq_idx)
      batch.add(std::span(sequences[static_cast<std::size_t>(seq_idx)])
                    .first(static_cast<std::size_t>(first_chunk[static_cast<std::size_t>(seq_idx)])));
    while (batch.n_row() > 0) {
      const Matrix logits = base.forward(batch, options);
      model::TokenBatch next;
      for (int seq_idx = 0; seq_idx < 3; ++seq_idx) {
        auto& collected = rows[static_cast<std::size_t>(seq_idx)];
        const int n_new = batch.length(seq_idx);
        collected.conservativeResize(collected.rows() + n_new, Eigen::NoChange);
        collected.bottomRows(n_new) =
            logits.middleRows(batch.seq_offsets[static_cast<std::size_t>(seq_idx)], n_new);
        const auto& sequence = sequences[static_cast<std::size_t>(seq_idx)];
        const auto done = static_cast<std::size_t>(cache.length(seq_idx));
        next.add(std::span(sequence).subspan(done, done < sequence.size() ? 1 : 0));
      }
      batch = next;
    }
    Matrix decoded(prefill.rows(), prefill.cols());
    Eigen::Index offset = 0;
    for (const Matrix& part : rows) {
      decoded.middleRows(offset, part.rows()) = part;
      offset += part.rows();
    }
    ASSERT_EQ(offset, prefill.rows());
    // Same arithmetic on the same rows except the attention's key count per product: rounding only.
    EXPECT_LT(relative_error(decoded, prefill), 1e-5) << (with_lora ? "with LoRA" : "base");
    EXPECT_EQ(cache.length(1), 33);
  }
}

TEST(model_kv_cache, refuses_overflow) {
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  model::KvCache cache(base.config(), 1, 8);
  const std::vector<TokenId> tokens(9, 65);
  model::TokenBatch batch;
  batch.add(tokens);
  EXPECT_THROW_MSG(base.forward(batch, {.cache = &cache}), ConfigError, "beyond the KV cache's capacity 8");
}

TEST(model_lora, grouped_rows_equal_per_row_dense_products) {
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  model::LoraSet experts(base.config());
  experts.add(model::load_lora_expert_dir(tiny_dir() / "adapters" / "lora_a", base, "lora_a"));
  experts.add(model::load_lora_expert_dir(tiny_dir() / "adapters" / "lora_b", base, "lora_b"));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (const auto kind :
       {model::ModuleKind::q_proj, model::ModuleKind::k_proj, model::ModuleKind::down_proj}) {
    const model::ModuleId module{.layer_idx = 1, .kind = kind};
    const int d_in = base.config().d_in(kind);
    const int d_out = base.config().d_out(kind);
    const int n_row = 23;
    Matrix input(n_row, d_in);
    for (Eigen::Index idx = 0; idx < input.size(); ++idx) input.data()[idx] = normal(rng);
    // Rows: none / expert 0 / expert 1 / both / expert 1 twice, with different weights.
    model::RoutingDecision decision;
    decision.clear();
    for (int row_idx = 0; row_idx < n_row; ++row_idx) {
      const float weight = 0.25f + 0.1f * static_cast<float>(row_idx);
      switch (row_idx % 5) {
        case 0:
          break;
        case 1:
          decision.expert_idx.push_back(0), decision.weight.push_back(weight);
          break;
        case 2:
          decision.expert_idx.push_back(1), decision.weight.push_back(-weight);
          break;
        case 3:
          decision.expert_idx.insert(decision.expert_idx.end(), {1, 0});
          decision.weight.insert(decision.weight.end(), {weight, 1.0f - weight});
          break;
        default:
          decision.expert_idx.insert(decision.expert_idx.end(), {1, 1});
          decision.weight.insert(decision.weight.end(), {0.5f, weight});
      }
      decision.row_offsets.push_back(static_cast<std::int32_t>(decision.expert_idx.size()));
    }
    Matrix grouped = Matrix::Zero(n_row, d_out);
    experts.apply(module, input, decision, grouped);

    Matrix dense = Matrix::Zero(n_row, d_out);
    for (int row_idx = 0; row_idx < n_row; ++row_idx)
      for (int entry = decision.row_offsets[static_cast<std::size_t>(row_idx)];
           entry < decision.row_offsets[static_cast<std::size_t>(row_idx) + 1]; ++entry) {
        const auto& expert = experts.expert(decision.expert_idx[static_cast<std::size_t>(entry)]);
        const model::LoraFactors* factors = expert.find(module);
        if (factors == nullptr) continue;                               // lora_a adapts q and v only
        const Matrix delta_w = expert.scale * factors->b * factors->a;  // [d_out, d_in]
        dense.row(row_idx) += decision.weight[static_cast<std::size_t>(entry)] *
                              (delta_w * input.row(row_idx).transpose()).transpose();
      }
    ASSERT_GT(dense.cwiseAbs().maxCoeff(), 0.0f);
    EXPECT_LT(relative_error(grouped, dense), 1e-5) << module.hf_path();
    EXPECT_TRUE(grouped.row(0).isZero(0.0f)) << "a row with no entries gets no delta";
  }
}

TEST(model_lora, routed_batch_equals_dense_merge_per_sequence) {
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  model::LoraSet experts(base.config());
  experts.add(model::load_lora_expert_dir(tiny_dir() / "adapters" / "lora_a", base, "lora_a"));
  experts.add(model::load_lora_expert_dir(tiny_dir() / "adapters" / "lora_b", base, "lora_b"));
  const std::vector<std::vector<std::pair<int, float>>> mix{
      {{0, 1.0f}}, {}, {{1, 0.6f}, {0, 0.4f}}, {{1, 2.0f}}};
  const auto sequences = text_sequences(test::source_dir() / "tools" / "zoo", {30, 12, 64, 7});
  SequenceMixHook hook(mix);
  const model::TokenBatch batch = make_batch(sequences);
  const Matrix routed = base.forward(batch, {.hook = &hook, .experts = &experts});
  for (std::size_t seq_idx = 0; seq_idx < sequences.size(); ++seq_idx) {
    std::vector<float> weights(2, 0.0f);
    for (const auto& [expert_idx, weight] : mix[seq_idx])
      weights[static_cast<std::size_t>(expert_idx)] += weight;
    const auto dense = model::merge_dense(base, experts, weights);
    const Matrix expected = dense.forward(make_batch({sequences[seq_idx]}));
    const Matrix actual =
        routed.middleRows(batch.seq_offsets[seq_idx], batch.length(static_cast<int>(seq_idx)));
    // W0 x + s B (A x) vs (W0 + s B A) x: equal up to f32 rounding.
    EXPECT_LT(relative_error(actual, expected), 1e-4) << "sequence " << seq_idx;
  }
}

TEST(model_lora, refuses_an_adapter_of_another_base) {
  const auto tiny = model::LlamaModel::load_dir(tiny_dir() / "base");
  const ZooDomain domain = zoo_domain();
  // The zoo's adapters are for d_model 128, the tiny base has 32.
  EXPECT_THROW_MSG(
      model::load_lora_expert_dir(domain.lora, tiny, "x"), InputError,
      fmt::format("adapter {} does not fit base {}", domain.lora.string(), (tiny_dir() / "base").string()));
  EXPECT_THROW_MSG(model::load_lora_expert_dir(domain.lora, tiny, "x"), InputError, "expected [8, 32]");
}

TEST(model_lora, refuses_an_adapter_on_lm_head) {
  test::ScratchDir scratch("model-lora");
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  const fs::path dir = scratch / "lm_head_lora";
  fs::create_directories(dir);
  auto config = nlohmann::json::parse(read_bytes(tiny_dir() / "adapters" / "lora_a" / "adapter_config.json"));
  config["target_modules"] = {"lm_head"};
  std::ofstream(dir / "adapter_config.json") << config.dump();
  const std::vector<float> a(4 * 32, 0.01f);
  const std::vector<float> b(258 * 4, 0.01f);
  io::write_safetensors(dir / "adapter_model.safetensors", {{.name = "base_model.model.lm_head.lora_A.weight",
                                                             .dtype = DType::F32,
                                                             .shape = {4, 32},
                                                             .data = std::as_bytes(std::span(a))},
                                                            {.name = "base_model.model.lm_head.lora_B.weight",
                                                             .dtype = DType::F32,
                                                             .shape = {258, 4},
                                                             .data = std::as_bytes(std::span(b))}});
  EXPECT_THROW_MSG(model::load_lora_expert_dir(dir, base, "x"), InputError,
                   "module 'lm_head' is not one of the linear layers moerge adapts");
}

TEST(model_load, refuses_missing_config_and_non_finite_weights) {
  test::ScratchDir scratch("model-load");
  const fs::path no_config = scratch / "no_config";
  fs::create_directories(no_config);
  fs::copy_file(tiny_dir() / "base" / "model.safetensors", no_config / "model.safetensors");
  EXPECT_THROW_MSG(model::LlamaModel::load_dir(no_config), InputError, (no_config / "config.json").string());

  const fs::path with_nan = scratch / "with_nan";
  fs::create_directories(with_nan);
  fs::copy_file(tiny_dir() / "base" / "config.json", with_nan / "config.json");
  const auto set = io::TensorSet::open_dir(tiny_dir() / "base");
  std::vector<float> norm(32, 1.0f);
  norm[5] = std::nanf("");
  std::vector<io::TensorToWrite> tensors;
  for (const auto& name : set.names()) {
    const TensorView view = set.view(name);
    tensors.push_back({.name = name, .dtype = view.dtype, .shape = view.shape, .data = view.data});
    if (name == "model.norm.weight") tensors.back().data = std::as_bytes(std::span(norm));
  }
  io::write_safetensors(with_nan / "model.safetensors", std::move(tensors));
  EXPECT_THROW_MSG(model::LlamaModel::load_dir(with_nan), InputError,
                   "tensor 'model.norm.weight' holds a non-finite value (nan at flat index 5)");
}

TEST(model_forward, refuses_token_ids_outside_the_vocabulary) {
  const auto base = model::LlamaModel::load_dir(tiny_dir() / "base");
  model::TokenBatch batch;
  const std::vector<TokenId> tokens{256, 65, 258};
  batch.add(tokens);
  EXPECT_THROW_MSG(base.forward(batch), InputError, "token id 258 (row 2) is outside the vocabulary 0..257");
  const model::ByteVocab vocab = base.byte_vocab();
  EXPECT_EQ(vocab.bos, 256);
  EXPECT_EQ(vocab.eos, 257);
}
