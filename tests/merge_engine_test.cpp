// Recipes, plans and the streaming merge engine (serial, Comm::self()): every method against the
// numpy/torch reference (tools/reference/merge_ref.py merge), bad recipes and inputs.
#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/io/safetensors.hpp"
#include "moerge/merge/engine.hpp"
#include "moerge/merge/plan.hpp"
#include "moerge/merge/recipe.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace moerge;

namespace {

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};
using Model = std::map<std::string, Tensor>;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

Model load(const fs::path& file) {
  const auto set = io::TensorSet::open_file(file);
  Model out;
  for (const auto& name : set.names()) {
    const TensorView view = set.view(name);
    Tensor tensor{view.shape, std::vector<float>(static_cast<std::size_t>(view.numel()))};
    convert_to_f32(view.dtype, view.data, tensor.values);
    out[name] = tensor;
  }
  return out;
}

void save(const fs::path& file, const Model& model) {
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, tensor] : model)
    tensors.push_back({name, DType::F32, tensor.shape,
                       std::as_bytes(std::span<const float>(tensor.values.data(), tensor.values.size()))});
  io::write_safetensors(file, tensors);
}

/// A fine-tune of the tiny base: base + N(0, sigma^2) noise, with a positive Fisher.
void write_finetune(const fs::path& dir, const Model& base, unsigned seed, const std::string& config) {
  fs::create_directories(dir);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::uniform_real_distribution<float> positive(0.01f, 2.0f);
  Model model = base, fisher = base;
  for (auto& [name, tensor] : model)
    for (auto& value : tensor.values) value += noise(rng);
  for (auto& [name, tensor] : fisher)
    for (auto& value : tensor.values) value = positive(rng);
  save(dir / "model.safetensors", model);
  save(dir / "fisher.safetensors", fisher);
  // RegMean inputs: G = X^T X / n of each projection's input, X random [n, d_in] (positive definite).
  Model grams;
  for (const auto& [name, tensor] : base) {
    if (tensor.shape.size() != 2 || name.find("_proj.weight") == std::string::npos) continue;
    const auto d_in = static_cast<std::size_t>(tensor.shape[1]);
    const std::size_t n_sample = 2 * d_in;
    std::vector<float> x(n_sample * d_in);
    for (auto& value : x) value = noise(rng) * 50.0f;
    Tensor gram;
    gram.shape = {tensor.shape[1], tensor.shape[1]};
    gram.values.assign(d_in * d_in, 0.0f);
    for (std::size_t row = 0; row < d_in; ++row)
      for (std::size_t col = 0; col < d_in; ++col) {
        double sum = 0;
        for (std::size_t sample = 0; sample < n_sample; ++sample)
          sum += static_cast<double>(x[sample * d_in + row]) * x[sample * d_in + col];
        gram.values[row * d_in + col] = static_cast<float>(sum / static_cast<double>(n_sample));
      }
    grams.emplace(name, std::move(gram));
  }
  save(dir / "regmean_gram.safetensors", grams);
  write_text(dir / "config.json", config);
}

class MergeEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    base_dir_ = test::data_dir() / "tiny" / "base";
    base_ = load(base_dir_ / "model.safetensors");
    config_ = read_text(base_dir_ / "config.json");
    for (unsigned idx = 0; idx < 3; ++idx)
      write_finetune(scratch_ / fmt::format("ft{}", idx), base_, 100 + idx, config_);
  }

  fs::path model(int idx) const { return scratch_ / fmt::format("ft{}", idx); }

  fs::path write_recipe(const std::string& name, const std::string& text) const {
    const fs::path path = scratch_ / (name + ".yml");
    write_text(path, text);
    return path;
  }

  /// Merge a recipe with the engine (serial) into scratch/<name>.out.
  fs::path merge(const fs::path& recipe, std::uint64_t memory_limit = 256u << 20) const {
    const fs::path out = scratch_ / (recipe.stem().string() + ".out");
    merge::EngineOptions options;
    options.quiet = true;
    options.memory_limit_bytes = memory_limit;
    const auto plan = merge::make_plan(merge::parse_recipe(recipe), 1u << 30);
    merge::run_merge(plan, out, options, comm::Comm::self());
    return out;
  }

  /// The reference's output for a recipe.
  Model reference(const fs::path& recipe) const {
    const fs::path out = scratch_ / (recipe.stem().string() + ".ref.safetensors");
    const std::string command = fmt::format("/usr/bin/python3 {} merge {} {}",
                                            (test::source_dir() / "tools" / "reference" / "merge_ref.py").string(),
                                            recipe.string(), out.string());
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return load(out);
  }

  /// Every tensor within `tolerance` x the tensor's largest magnitude (0: bitwise equal).
  static void expect_close(const Model& actual, const Model& expected, double tolerance, const std::string& what) {
    ASSERT_EQ(actual.size(), expected.size()) << what;
    for (const auto& [name, tensor] : expected) {
      const auto found = actual.find(name);
      ASSERT_NE(found, actual.end()) << what << ": " << name;
      ASSERT_EQ(found->second.shape, tensor.shape) << what << ": " << name;
      double scale = 0;
      for (const float value : tensor.values) scale = std::max(scale, std::abs(static_cast<double>(value)));
      for (std::size_t idx = 0; idx < tensor.values.size(); ++idx) {
        const double diff = std::abs(static_cast<double>(found->second.values[idx]) - tensor.values[idx]);
        ASSERT_LE(diff, tolerance * scale) << what << ": " << name << "[" << idx << "] " << found->second.values[idx]
                                           << " vs " << tensor.values[idx];
      }
    }
  }

  std::string models_yaml(const std::string& params0, const std::string& params1, const std::string& params2) const {
    return fmt::format(
        "models:\n  - model: {}\n    parameters: {}\n  - model: {}\n    parameters: {}\n  - model: {}\n"
        "    parameters: {}\n",
        model(0).string(), params0, model(1).string(), params1, model(2).string(), params2);
  }

  test::ScratchDir scratch_{"merge-engine"};
  fs::path base_dir_;
  Model base_;
  std::string config_;
};

}  // namespace

TEST(merge_recipe, evaluates_gradients_and_filters_as_mergekit) {
  const auto recipe = merge::parse_recipe_text(
      "models:\n  - model: a\n    parameters:\n      weight: [0.0, 1.0]\n      density:\n"
      "        - filter: mlp\n          value: 0.3\n        - value: 0.9\n  - model: b\n"
      "merge_method: ties\nbase_model: c\nparameters:\n  density: 0.5\n",
      "r.yml");
  EXPECT_DOUBLE_EQ(*recipe.parameter("weight", 0, "x", 0.5), 0.5);
  EXPECT_DOUBLE_EQ(*recipe.parameter("weight", 0, "x", 1.0), 1.0);
  EXPECT_DOUBLE_EQ(*recipe.parameter("density", 0, "model.layers.0.mlp.up_proj.weight", 0), 0.3);
  EXPECT_DOUBLE_EQ(*recipe.parameter("density", 0, "model.layers.0.self_attn.q_proj.weight", 0), 0.9);
  EXPECT_DOUBLE_EQ(*recipe.parameter("density", 1, "x", 0), 0.5);  // global fallback
  EXPECT_FALSE(recipe.parameter("gamma", 1, "x", 0).has_value());
  EXPECT_DOUBLE_EQ(merge::layer_position("model.layers.3.mlp.up_proj.weight", 4), 1.0);
  EXPECT_DOUBLE_EQ(merge::layer_position("model.layers.1.mlp.up_proj.weight", 5), 0.25);
  EXPECT_DOUBLE_EQ(merge::layer_position("model.embed_tokens.weight", 5), 0.0);
  EXPECT_DOUBLE_EQ(merge::layer_position("lm_head.weight", 5), 1.0);
}

TEST(merge_recipe, bad_recipes_name_the_key_and_value) {
  const std::string two = "models:\n  - model: a\n  - model: b\n";
  EXPECT_THROW_MSG(merge::parse_recipe_text(two + "merge_method: tiess\nbase_model: a\n", "r.yml"), ConfigError,
                   "r.yml: merge_method: unknown method 'tiess'");
  EXPECT_THROW_MSG(merge::parse_recipe_text(two + "merge_method: ties\nbase_model: a\nfoo: 1\n", "r.yml"), ConfigError,
                   "r.yml: foo: unknown key");
  EXPECT_THROW_MSG(merge::parse_recipe_text(two + "merge_method: ties\nbase_model: a\nparameters: {density: 1.5}\n",
                                            "r.yml"),
                   ConfigError, "r.yml: parameters.density: 1.5 is outside [0, 1]");
  EXPECT_THROW_MSG(
      merge::parse_recipe_text(two + "  - model: c\nmerge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\n", "r.yml"),
      ConfigError, "slerp needs exactly two models");
  EXPECT_THROW_MSG(merge::parse_recipe_text(two + "merge_method: ties\n", "r.yml"), ConfigError,
                   "r.yml: base_model: is required by ties");
  EXPECT_THROW_MSG(merge::parse_recipe_text(two + "merge_method: ties\nbase_model: a\nparameters: {densty: 0.5}\n",
                                            "r.yml"),
                   ConfigError, "parameters.densty: unknown parameter");
}

TEST_F(MergeEngine, every_method_matches_the_reference) {
  const std::string base = base_dir_.string();
  struct Case {
    std::string name;
    std::string text;
    double tolerance;  // relative to the tensor's largest magnitude; 0 = bitwise
  };
  const std::string dense = models_yaml("{weight: 0.5}", "{weight: 0.3}", "{weight: 0.2}");
  const std::string sparse = models_yaml("{weight: 0.5, density: 0.4}", "{weight: 0.3, density: 0.6}",
                                         "{weight: 0.2, density: 0.5}");
  const std::vector<Case> cases{
      {"linear", dense + "merge_method: linear\n", 1e-6},
      {"task_arithmetic", dense + fmt::format("merge_method: task_arithmetic\nbase_model: {}\nparameters: {{lambda: 0.8}}\n", base), 1e-6},
      {"ties", sparse + fmt::format("merge_method: ties\nbase_model: {}\n", base), 1e-6},
      {"ties_global", sparse + fmt::format("merge_method: ties\nbase_model: {}\nties_scope: global\n", base), 1e-6},
      {"dare_linear", sparse + fmt::format("merge_method: dare_linear\nbase_model: {}\nseed: 7\nrescale_mode: inverse_density\n", base), 0},
      {"dare_ties", sparse + fmt::format("merge_method: dare_ties\nbase_model: {}\nseed: 7\nrescale_mode: inverse_density\n", base), 0},
      {"dare_ties_l1", sparse + fmt::format("merge_method: dare_ties\nbase_model: {}\nseed: 3\n", base), 1e-6},
      {"breadcrumbs", sparse + fmt::format("merge_method: breadcrumbs\nbase_model: {}\nparameters: {{gamma: 0.05}}\n", base), 1e-6},
      {"breadcrumbs_ties", sparse + fmt::format("merge_method: breadcrumbs_ties\nbase_model: {}\n", base), 1e-6},
      {"della", sparse + fmt::format("merge_method: della\nbase_model: {}\nseed: 11\nrescale_mode: inverse_density\nparameters: {{epsilon: 0.1}}\n", base), 0},
      {"della_linear", sparse + fmt::format("merge_method: della_linear\nbase_model: {}\nseed: 11\nparameters: {{epsilon: 0.1}}\n", base), 1e-6},
      {"slerp", fmt::format("models:\n  - model: {}\n  - model: {}\nmerge_method: slerp\nbase_model: {}\nparameters: {{t: 0.3}}\n", base, model(0).string(), base), 1e-6},
      {"model_stock", dense + fmt::format("merge_method: model_stock\nbase_model: {}\n", base), 1e-6},
      {"model_stock_rows", dense + fmt::format("merge_method: model_stock\nbase_model: {}\nparameters: {{filter_wise: true}}\n", base), 1e-6},
      {"fisher", dense + "merge_method: fisher\n", 1e-6},
      {"fisher_normalized", dense + "merge_method: fisher\nparameters: {normalize: true}\n", 1e-6},
      {"regmean", dense + "merge_method: regmean\nparameters: {alpha: 0.9}\n", 1e-6},
      {"regmean_plain", dense + "merge_method: regmean\n", 1e-6},
      {"passthrough", fmt::format("models:\n  - model: {}\n    parameters: {{scale: 0.5}}\nmerge_method: passthrough\n", model(1).string()), 0},
  };
  for (const auto& test_case : cases) {
    const fs::path recipe = write_recipe(test_case.name, test_case.text);
    // A small memory limit forces several row chunks per tensor: the result must not change.
    const fs::path out = merge(recipe, test_case.name == "ties" || test_case.name == "dare_ties_l1" || test_case.name == "regmean" ? 4096 : 256u << 20);
    EXPECT_TRUE(fs::exists(out / "config.json"));
    EXPECT_EQ(read_text(out / "moerge_recipe.yml"), test_case.text);
    expect_close(load(out / "model.safetensors"), reference(recipe), test_case.tolerance, test_case.name);
  }
}

TEST_F(MergeEngine, shards_past_the_limit_and_resumes_to_the_same_bytes) {
  const fs::path recipe =
      write_recipe("ta", models_yaml("{weight: 1}", "{weight: 1}", "{weight: 1}") +
                             fmt::format("merge_method: task_arithmetic\nbase_model: {}\n", base_dir_.string()));
  merge::EngineOptions options;
  options.quiet = true;
  const auto plan = merge::make_plan(merge::parse_recipe(recipe), 40000);
  ASSERT_GT(plan.shards.size(), 1u);
  const fs::path out = scratch_ / "sharded";
  merge::run_merge(plan, out, options, comm::Comm::self());
  EXPECT_TRUE(fs::exists(out / "model.safetensors.index.json"));
  const auto set = io::TensorSet::open_dir(out);
  EXPECT_EQ(set.names().size(), plan.tensors.size());
  EXPECT_THROW_MSG(merge::run_merge(plan, out, options, comm::Comm::self()), ConfigError, "already exists");
}

TEST_F(MergeEngine, bad_inputs_fail_before_work_with_every_problem_and_no_output) {
  const std::string base = base_dir_.string();
  // Shape mismatch: a model with another intermediate size.
  {
    std::string config = config_;
    config.replace(config.find("\"intermediate_size\": 64"), 23, "\"intermediate_size\": 48");
    Model model = base_;
    for (auto& [name, tensor] : model) {
      if (name.find("mlp") == std::string::npos) continue;
      for (auto& dim : tensor.shape)
        if (dim == 64) dim = 48;
      tensor.values.resize(static_cast<std::size_t>(tensor.shape[0] * tensor.shape[1]));
    }
    fs::create_directories(scratch_ / "narrow");
    save(scratch_ / "narrow" / "model.safetensors", model);
    write_text(scratch_ / "narrow" / "config.json", config);
  }
  // Vocabulary mismatch: 300 tokens.
  {
    std::string config = config_;
    config.replace(config.find("\"vocab_size\": 258"), 17, "\"vocab_size\": 300");
    Model model = base_;
    for (const char* name : {"model.embed_tokens.weight", "lm_head.weight"}) {
      model[name].shape[0] = 300;
      model[name].values.resize(300 * 32, 0.5f);
    }
    fs::create_directories(scratch_ / "vocab");
    save(scratch_ / "vocab" / "model.safetensors", model);
    write_text(scratch_ / "vocab" / "config.json", config);
  }
  // Missing tensor: tied embeddings, no lm_head.
  {
    std::string config = config_;
    config.replace(config.find("\"tie_word_embeddings\": false"), 28, "\"tie_word_embeddings\": true");
    Model model = base_;
    model.erase("lm_head.weight");
    fs::create_directories(scratch_ / "tied");
    save(scratch_ / "tied" / "model.safetensors", model);
    write_text(scratch_ / "tied" / "config.json", config);
  }
  const fs::path recipe = write_recipe(
      "bad", fmt::format("models:\n  - model: {}\n  - model: {}\n  - model: {}\nmerge_method: task_arithmetic\n"
                         "base_model: {}\n",
                         (scratch_ / "narrow").string(), (scratch_ / "vocab").string(), (scratch_ / "tied").string(), base));
  try {
    merge::make_plan(merge::parse_recipe(recipe), 1u << 30);
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("bad.yml: cannot merge"), std::string::npos) << text;
    EXPECT_NE(text.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << text;  // shape
    EXPECT_NE(text.find("vocab_size 300 differs from 258"), std::string::npos) << text;
    EXPECT_NE(text.find("lm_head.weight"), std::string::npos) << text;  // missing
  }

  // NaN input: found while merging; nothing appears under the final name.
  Model poisoned = load(model(2) / "model.safetensors");
  poisoned["model.layers.1.self_attn.v_proj.weight"].values[5] = std::nanf("");
  fs::create_directories(scratch_ / "nan");
  save(scratch_ / "nan" / "model.safetensors", poisoned);
  write_text(scratch_ / "nan" / "config.json", config_);
  const fs::path nan_recipe = write_recipe(
      "nan", fmt::format("models:\n  - model: {}\nmerge_method: task_arithmetic\nbase_model: {}\n",
                         (scratch_ / "nan").string(), base));
  EXPECT_THROW_MSG(merge(nan_recipe), InputError, "tensor 'model.layers.1.self_attn.v_proj.weight' holds a non-finite value (nan) at element 5");
  EXPECT_FALSE(fs::exists(scratch_ / "nan.out"));
}

TEST_F(MergeEngine, merges_peft_adapters_row_block_by_row_block) {
  const std::string base = base_dir_.string();
  const auto adapters = test::data_dir() / "tiny" / "adapters";
  const fs::path recipe = write_recipe(
      "lora", fmt::format("models:\n  - model: {}\n    parameters: {{weight: 0.5}}\n  - model: {}\n"
                          "    parameters: {{weight: 0.5}}\nmerge_method: task_arithmetic\nbase_model: {}\n",
                          (adapters / "lora_a").string(), (adapters / "lora_b").string(), base));
  const Model whole = load(merge(recipe) / "model.safetensors");
  const fs::path recipe_small = write_recipe("lora_small", read_text(recipe));
  const Model chunked = load(merge(recipe_small, 2048) / "model.safetensors");
  expect_close(chunked, whole, 0, "chunked lora");
  // An adapted module differs from the base; an untouched one is the base exactly.
  EXPECT_NE(whole.at("model.layers.0.self_attn.q_proj.weight").values, base_.at("model.layers.0.self_attn.q_proj.weight").values);
  EXPECT_EQ(whole.at("model.norm.weight").values, base_.at("model.norm.weight").values);
}

TEST_F(MergeEngine, a_failed_merge_is_refused_without_resume_and_resumes_to_the_same_bytes) {
  // "flaky" first holds a NaN in one tensor: the merge stops there, with the tensors sorted before
  // it journalled in the partial directory. Then the input is repaired and the merge resumed.
  const std::string poisoned_name = "model.layers.1.self_attn.v_proj.weight";
  const fs::path flaky = scratch_ / "flaky";
  fs::create_directories(flaky);
  write_text(flaky / "config.json", config_);
  Model poisoned = load(model(2) / "model.safetensors");
  poisoned[poisoned_name].values[7] = std::nanf("");
  save(flaky / "model.safetensors", poisoned);
  const std::string text = fmt::format(
      "models:\n  - model: {}\n    parameters: {{weight: 0.7, density: 0.5}}\n  - model: {}\n"
      "    parameters: {{weight: 0.3, density: 0.5}}\nmerge_method: ties\nbase_model: {}\n",
      model(0).string(), flaky.string(), base_dir_.string());
  const fs::path recipe = write_recipe("flaky", text);
  const fs::path out = scratch_ / "flaky.out";
  const fs::path partial = merge::partial_dir(out);
  EXPECT_EQ(partial, scratch_ / ".flaky.out.moerge-partial");
  EXPECT_THROW_MSG(merge(recipe), InputError, "non-finite value (nan) at element 7");
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(partial / "moerge_journal.txt"));

  const auto plan = merge::make_plan(merge::parse_recipe(recipe), 1u << 30);
  std::size_t n_before = 0;
  for (const auto& task : plan.tensors) n_before += task.name < poisoned_name ? 1 : 0;
  ASSERT_GT(n_before, 0u);
  merge::EngineOptions options;
  options.quiet = true;
  EXPECT_THROW_MSG(merge::run_merge(plan, out, options, comm::Comm::self()), ConfigError,
                   "a partial merge into " + out.string() + " is there (interrupted, or still running); rerun with "
                   "--resume to continue it");
  EXPECT_TRUE(fs::exists(partial / "moerge_journal.txt"));

  // Repair the input (a new file: the plan above still maps the poisoned one) and plan again.
  fs::remove(flaky / "model.safetensors");
  save(flaky / "model.safetensors", load(model(2) / "model.safetensors"));
  options.resume = true;
  const auto summary =
      merge::run_merge(merge::make_plan(merge::parse_recipe(recipe), 1u << 30), out, options, comm::Comm::self());
  EXPECT_EQ(summary.n_tensor_resumed, n_before);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(out / "moerge_journal.txt"));
  // The same recipe text merged in one go (and --resume with no partial directory just starts).
  const fs::path straight = scratch_ / "straight.out";
  const auto straight_summary =
      merge::run_merge(merge::make_plan(merge::parse_recipe(write_recipe("straight", text)), 1u << 30), straight,
                       options, comm::Comm::self());
  EXPECT_EQ(straight_summary.n_tensor_resumed, 0u);
  EXPECT_EQ(read_text(out / "model.safetensors"), read_text(straight / "model.safetensors"));
  EXPECT_EQ(read_text(out / "config.json"), read_text(straight / "config.json"));
}
