// Tests of HF model / PEFT adapter import: the tiny test data loads with the right config, shapes
// and scales; every case of the malformed corpus is refused with its expected message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/safetensors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using moerge::DType;
using moerge::InputError;
using namespace moerge::io;

namespace {

fs::path tiny_dir() { return moerge::test::data_dir() / "tiny"; }
fs::path malformed_dir() { return moerge::test::data_dir() / "malformed" / "hf"; }

std::vector<float> to_f32(const moerge::TensorView& view) {
  std::vector<float> out(static_cast<std::size_t>(view.numel()));
  moerge::convert_to_f32(view.dtype, view.data, out);
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// Copy every tensor of a set into a new safetensors file, plus `extra` tensors.
void copy_tensors(const TensorSet& set, const fs::path& file, std::vector<TensorToWrite> extra = {},
                  const std::set<std::string>& skip = {}) {
  for (const std::string& name : set.names()) {
    if (skip.contains(name)) continue;
    const moerge::TensorView view = set.view(name);
    extra.push_back(TensorToWrite{.name = name, .dtype = view.dtype, .shape = view.shape, .data = view.data});
  }
  write_safetensors(file, std::move(extra));
}

/// Import a directory the way `moerge library import` does: detect, open, check against the base.
void import_against_base(const fs::path& dir, const ShapeMap& base_shapes) {
  switch (detect_source(dir)) {
    case SourceKind::hf_model: {
      const HfModel model = open_hf_model(dir);
      check_model_against_base(model, base_shapes, dir.string(), "tests/data/tiny/base");
      break;
    }
    case SourceKind::peft_adapter: {
      const PeftAdapter adapter = open_peft_adapter(dir);
      check_adapter_against_base(adapter, base_shapes, dir.string(), "tests/data/tiny/base");
      break;
    }
  }
}

}  // namespace

TEST(io_hf, tiny_base_config_fields) {
  const LlamaConfig config = parse_llama_config(tiny_dir() / "base" / "config.json");
  EXPECT_EQ(config.hidden_size, 32);
  EXPECT_EQ(config.intermediate_size, 64);
  EXPECT_EQ(config.num_hidden_layers, 2);
  EXPECT_EQ(config.num_attention_heads, 4);
  EXPECT_EQ(config.num_key_value_heads, 2);
  EXPECT_EQ(config.vocab_size, 258);
  EXPECT_EQ(config.max_position_embeddings, 64);
  EXPECT_DOUBLE_EQ(config.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(config.rope_theta, 10000.0);
  EXPECT_FALSE(config.tie_word_embeddings);
  EXPECT_EQ(config.raw.at("bos_token_id"), 256);
  EXPECT_EQ(config.raw.at("eos_token_id"), 257);
}

TEST(io_hf, tiny_base_tensor_shapes) {
  const HfModel model = open_hf_model(tiny_dir() / "base");
  EXPECT_EQ(model.config_text, read_text(tiny_dir() / "base" / "config.json"));
  const ShapeMap shapes = llama_tensor_shapes(model.config);
  // embeddings, 9 per layer x 2, final norm, lm_head
  EXPECT_EQ(shapes.size(), 21u);
  EXPECT_EQ(model.tensors.names().size(), 21u);
  const std::map<std::string, std::vector<std::int64_t>> expected{
      {"model.embed_tokens.weight", {258, 32}},
      {"model.layers.1.self_attn.q_proj.weight", {32, 32}},
      {"model.layers.1.self_attn.k_proj.weight", {16, 32}},  // 2 kv heads x 8
      {"model.layers.1.self_attn.v_proj.weight", {16, 32}},
      {"model.layers.1.self_attn.o_proj.weight", {32, 32}},
      {"model.layers.0.mlp.gate_proj.weight", {64, 32}},
      {"model.layers.0.mlp.up_proj.weight", {64, 32}},
      {"model.layers.0.mlp.down_proj.weight", {32, 64}},
      {"model.layers.0.input_layernorm.weight", {32}},
      {"model.layers.0.post_attention_layernorm.weight", {32}},
      {"model.norm.weight", {32}},
      {"lm_head.weight", {258, 32}},
  };
  for (const auto& [name, shape] : expected) {
    EXPECT_EQ(shapes.at(name), shape) << name;
    EXPECT_EQ(model.tensors.entry(name).shape, shape) << name;
    EXPECT_EQ(model.tensors.entry(name).dtype, DType::F32) << name;
  }
  EXPECT_EQ(detect_source(tiny_dir() / "base"), SourceKind::hf_model);
}

TEST(io_hf, sharded_base_has_the_same_bytes) {
  const HfModel single = open_hf_model(tiny_dir() / "base");
  const HfModel sharded = open_hf_model(tiny_dir() / "base_sharded");
  ASSERT_EQ(single.tensors.names(), sharded.tensors.names());
  std::set<fs::path> shard_files;
  for (const std::string& name : single.tensors.names()) {
    const moerge::TensorView a = single.tensors.view(name);
    const moerge::TensorView b = sharded.tensors.view(name);
    EXPECT_EQ(a.dtype, b.dtype) << name;
    EXPECT_EQ(a.shape, b.shape) << name;
    ASSERT_EQ(a.data.size(), b.data.size()) << name;
    EXPECT_EQ(std::memcmp(a.data.data(), b.data.data(), a.data.size()), 0) << name;
    shard_files.insert(sharded.tensors.file_of(name).filename());
  }
  EXPECT_EQ(shard_files,
            (std::set<fs::path>{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
  check_model_against_base(sharded, llama_tensor_shapes(single.config), "base_sharded", "base");
}

TEST(io_hf, full_bf16_is_base_plus_small_noise) {
  const HfModel base = open_hf_model(tiny_dir() / "base");
  const HfModel full = open_hf_model(tiny_dir() / "full_bf16");
  check_model_against_base(full, llama_tensor_shapes(base.config), "full_bf16", "base");
  double sum_abs = 0;
  std::int64_t n_element = 0;
  for (const std::string& name : base.tensors.names()) {
    ASSERT_EQ(full.tensors.entry(name).dtype, DType::BF16) << name;
    const std::vector<float> base_values = to_f32(base.tensors.view(name));
    const std::vector<float> full_values = to_f32(full.tensors.view(name));
    for (std::size_t idx = 0; idx < base_values.size(); ++idx) {
      const double diff = std::abs(double{full_values[idx]} - base_values[idx]);
      // noise N(0, 0.01^2) stays below 7 sigma; bf16 rounding adds at most 2^-8 relative.
      ASSERT_LT(diff, 0.07 + std::abs(base_values[idx]) / 256.0) << name << "[" << idx << "]";
      sum_abs += diff;
    }
    n_element += static_cast<std::int64_t>(base_values.size());
  }
  // E|N(0, 0.01^2)| = 0.01 sqrt(2/pi) = 0.00798; bf16 rounding of O(1) weights adds about 0.001.
  const double mean_abs = sum_abs / static_cast<double>(n_element);
  EXPECT_GT(mean_abs, 0.007);
  EXPECT_LT(mean_abs, 0.0105);

  const TensorSet fisher = TensorSet::open_file(tiny_dir() / "full_bf16" / "fisher.safetensors");
  ASSERT_EQ(fisher.names(), base.tensors.names());
  for (const std::string& name : fisher.names()) {
    EXPECT_EQ(fisher.entry(name).shape, base.tensors.entry(name).shape) << name;
    ASSERT_EQ(fisher.entry(name).dtype, DType::F32) << name;
    for (const float value : to_f32(fisher.view(name))) ASSERT_GT(value, 0.0f) << name;
  }
}

TEST(io_hf, lora_a_loads_with_scale_alpha_over_r) {
  const PeftAdapter adapter = open_peft_adapter(tiny_dir() / "adapters" / "lora_a");
  EXPECT_EQ(adapter.r, 4);
  EXPECT_DOUBLE_EQ(adapter.lora_alpha, 8.0);
  EXPECT_FALSE(adapter.use_rslora);
  EXPECT_DOUBLE_EQ(adapter.scale(), 2.0);
  EXPECT_EQ(adapter.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(adapter.base_model_name_or_path, "moerge/tiny-llama-base");
  ASSERT_EQ(adapter.modules.size(), 4u);
  const std::vector<std::string> expected_modules{
      "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj",
      "model.layers.1.self_attn.v_proj"};
  for (std::size_t idx = 0; idx < expected_modules.size(); ++idx) {
    const LoraModule& lora = adapter.modules[idx];
    EXPECT_EQ(lora.module, expected_modules[idx]);
    EXPECT_EQ(lora.a_key, "base_model.model." + lora.module + ".lora_A.weight");
    EXPECT_EQ(lora.b_key, "base_model.model." + lora.module + ".lora_B.weight");
    EXPECT_EQ(lora.r, 4);
    EXPECT_EQ(lora.d_in, 32);
    EXPECT_EQ(lora.d_out, lora.module.ends_with("q_proj") ? 32 : 16);
    // A trained adapter: B is not PEFT's zero init.
    const std::vector<float> b_values = to_f32(adapter.tensors.view(lora.b_key));
    EXPECT_TRUE(std::any_of(b_values.begin(), b_values.end(), [](float value) { return value != 0.0f; }));
  }
  const HfModel base = open_hf_model(tiny_dir() / "base");
  check_adapter_against_base(adapter, llama_tensor_shapes(base.config), "lora_a", "base");
  EXPECT_EQ(detect_source(tiny_dir() / "adapters" / "lora_a"), SourceKind::peft_adapter);

  // The PHATGOOSE gates shipped beside it: one [d_in] vector per adapted module.
  const TensorSet gates =
      TensorSet::open_file(tiny_dir() / "adapters" / "lora_a" / "phatgoose_gates.safetensors");
  std::vector<std::string> gate_names;
  for (const std::string& module : expected_modules)
    gate_names.push_back("base_model.model." + module + ".gate");
  EXPECT_EQ(gates.names(), gate_names);
  for (const std::string& name : gate_names)
    EXPECT_EQ(gates.entry(name).shape, (std::vector<std::int64_t>{32}));
}

TEST(io_hf, lora_b_rslora_scale_is_alpha_over_sqrt_r) {
  const PeftAdapter adapter = open_peft_adapter(tiny_dir() / "adapters" / "lora_b");
  EXPECT_EQ(adapter.r, 2);
  EXPECT_TRUE(adapter.use_rslora);
  EXPECT_DOUBLE_EQ(adapter.scale(), 4.0 / std::sqrt(2.0));
  EXPECT_EQ(adapter.target_modules.size(), 7u);
  ASSERT_EQ(adapter.modules.size(), 14u);  // 7 projections x 2 layers
  for (const LoraModule& lora : adapter.modules) {
    EXPECT_EQ(adapter.tensors.entry(lora.a_key).dtype, DType::BF16) << lora.module;
    if (lora.module.ends_with("down_proj")) {
      EXPECT_EQ(lora.d_in, 64);
      EXPECT_EQ(lora.d_out, 32);
    }
  }
  const HfModel base = open_hf_model(tiny_dir() / "base");
  check_adapter_against_base(adapter, llama_tensor_shapes(base.config), "lora_b", "base");
}

TEST(io_hf, config_defaults_follow_transformers) {
  moerge::test::ScratchDir scratch("io_hf");
  nlohmann::json config = nlohmann::json::parse(read_text(tiny_dir() / "base" / "config.json"));
  config.erase("num_key_value_heads");
  config.erase("rope_theta");
  config["tie_word_embeddings"] = true;
  write_text(scratch / "config.json", config.dump(2));
  const LlamaConfig parsed = parse_llama_config(scratch / "config.json");
  EXPECT_EQ(parsed.num_key_value_heads, 4);  // one kv head per attention head
  EXPECT_DOUBLE_EQ(parsed.rope_theta, 10000.0);
  const ShapeMap shapes = llama_tensor_shapes(parsed);
  EXPECT_FALSE(shapes.contains("lm_head.weight"));
  EXPECT_EQ(shapes.at("model.layers.0.self_attn.k_proj.weight"), (std::vector<std::int64_t>{32, 32}));
  EXPECT_EQ(shapes.size(), 20u);
}

TEST(io_hf, tied_model_without_lm_head_loads) {
  moerge::test::ScratchDir scratch("io_hf");
  nlohmann::json config = nlohmann::json::parse(read_text(tiny_dir() / "base" / "config.json"));
  config["tie_word_embeddings"] = true;
  write_text(scratch / "config.json", config.dump(2));
  const TensorSet base = TensorSet::open_dir(tiny_dir() / "base");
  copy_tensors(base, scratch / "model.safetensors", {}, {"lm_head.weight"});
  const HfModel model = open_hf_model(scratch.path());
  EXPECT_FALSE(model.tensors.contains("lm_head.weight"));
  EXPECT_TRUE(model.config.tie_word_embeddings);
}

TEST(io_hf, rotary_inv_freq_is_ignored) {
  moerge::test::ScratchDir scratch("io_hf");
  fs::copy_file(tiny_dir() / "base" / "config.json", scratch / "config.json");
  const TensorSet base = TensorSet::open_dir(tiny_dir() / "base");
  const std::vector<float> inv_freq{1.0f, 0.1f, 0.01f, 0.001f};
  const auto bytes = std::as_bytes(std::span<const float>(inv_freq));
  copy_tensors(
      base, scratch / "model.safetensors",
      {TensorToWrite{.name = "model.layers.0.self_attn.rotary_emb.inv_freq", .shape = {4}, .data = bytes},
       TensorToWrite{.name = "model.layers.1.self_attn.rotary_emb.inv_freq", .shape = {4}, .data = bytes}});
  const HfModel model = open_hf_model(scratch.path());
  check_model_against_base(model, llama_tensor_shapes(model.config), "with_inv_freq", "base");
  EXPECT_EQ(model.tensors.names().size(), 23u);
}

TEST(io_hf, every_malformed_case_is_refused_with_its_message) {
  const ShapeMap base_shapes = llama_tensor_shapes(parse_llama_config(tiny_dir() / "base" / "config.json"));
  std::ifstream expected_file(malformed_dir() / "EXPECTED.tsv");
  ASSERT_TRUE(expected_file) << "missing " << (malformed_dir() / "EXPECTED.tsv");
  std::set<std::string> listed;
  std::string line;
  while (std::getline(expected_file, line)) {
    if (line.empty() || line.front() == '#') continue;
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const std::string name = line.substr(0, tab);
    const std::string expected = line.substr(tab + 1);
    listed.insert(name);
    const fs::path dir = malformed_dir() / name;
    SCOPED_TRACE(name);
    bool caught = false;
    try {
      import_against_base(dir, base_shapes);
    } catch (const InputError& error) {
      caught = true;
      const std::string message = error.what();
      EXPECT_NE(message.find(expected), std::string::npos) << "expected '" << expected << "' in: " << message;
      EXPECT_NE(message.find(dir.string()), std::string::npos)
          << "the message must name the dir: " << message;
    }
    EXPECT_TRUE(caught) << "import of " << dir << " did not throw InputError";
  }
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(malformed_dir()))
    if (entry.is_directory()) present.insert(entry.path().filename().string());
  EXPECT_EQ(listed, present) << "every case dir needs a line in EXPECTED.tsv and vice versa";
  EXPECT_GE(listed.size(), 12u);
}

TEST(io_hf, adapter_against_base_lists_every_problem) {
  const PeftAdapter adapter = open_peft_adapter(tiny_dir() / "adapters" / "lora_a");
  ShapeMap base_shapes = llama_tensor_shapes(parse_llama_config(tiny_dir() / "base" / "config.json"));
  base_shapes.erase("model.layers.1.self_attn.q_proj.weight");
  base_shapes["model.layers.0.self_attn.v_proj.weight"] = {24, 32};  // d_out 24 instead of 16
  base_shapes["model.layers.1.self_attn.v_proj.weight"] = {16, 48};  // d_in 48 instead of 32
  try {
    check_adapter_against_base(adapter, base_shapes, "experts/lora_a", "lib/base");
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("adapter experts/lora_a does not fit base lib/base: 3 problems"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("module 'model.layers.1.self_attn.q_proj': the base has no tensor "
                           "'model.layers.1.self_attn.q_proj.weight'"),
              std::string::npos)
        << message;
    EXPECT_NE(
        message.find("module 'model.layers.0.self_attn.v_proj': lora_B has shape [16, 4], expected [24, 4]"),
        std::string::npos)
        << message;
    EXPECT_NE(
        message.find("module 'model.layers.1.self_attn.v_proj': lora_A has shape [4, 32], expected [4, 48]"),
        std::string::npos)
        << message;
    EXPECT_EQ(message.find("layers.0.self_attn.q_proj"), std::string::npos)
        << "a fitting module was reported";
  }
}

TEST(io_hf, model_against_base_lists_every_problem) {
  const HfModel full = open_hf_model(tiny_dir() / "full_bf16");
  ShapeMap base_shapes = llama_tensor_shapes(full.config);
  base_shapes.erase("lm_head.weight");
  base_shapes["model.norm.weight"] = {33};
  base_shapes["model.layers.2.input_layernorm.weight"] = {32};
  EXPECT_THROW_MSG(check_model_against_base(full, base_shapes, "full_bf16", "base"), InputError,
                   "model full_bf16 does not fit base base: 3 problems:\n"
                   "  - tensor 'model.layers.2.input_layernorm.weight' is missing (base shape [32])\n"
                   "  - tensor 'model.norm.weight' has shape [32], base has [33]\n"
                   "  - tensor 'lm_head.weight' (shape [258, 32]) is not in the base");
}

TEST(io_hf, detect_source_refuses_what_it_cannot_name) {
  moerge::test::ScratchDir scratch("io_hf");
  EXPECT_THROW_MSG(detect_source(scratch.path()), InputError,
                   scratch.path().string() + ": holds neither adapter_config.json");
  EXPECT_THROW_MSG(detect_source(scratch / "absent"), InputError, "absent: no such directory");
  write_text(scratch / "adapter_model.bin", std::string("PK\x03\x04", 4) + std::string(60, '\0'));
  EXPECT_THROW_MSG(detect_source(scratch.path()), InputError,
                   "adapter_model.bin: is a PyTorch pickle checkpoint");
}

TEST(io_hf, config_errors_name_file_key_and_value) {
  moerge::test::ScratchDir scratch("io_hf");
  const fs::path path = scratch / "config.json";
  nlohmann::json config = nlohmann::json::parse(read_text(tiny_dir() / "base" / "config.json"));
  const auto expect_refusal = [&](const nlohmann::json& document, const std::string& text) {
    fs::remove(path);
    write_text(path, document.dump());
    EXPECT_THROW_MSG(parse_llama_config(path), InputError, path.string() + ": " + text);
  };
  nlohmann::json bad = config;
  bad["num_hidden_layers"] = 2.5;
  expect_refusal(bad, "key 'num_hidden_layers' must be a positive integer (found number 2.5)");
  bad = config;
  bad["rms_norm_eps"] = "tiny";
  expect_refusal(bad, "key 'rms_norm_eps' must be a positive number (found string \"tiny\")");
  bad = config;
  bad["tie_word_embeddings"] = 1;
  expect_refusal(bad, "key 'tie_word_embeddings' must be true or false (found number 1)");
  bad = config;
  bad["vocab_size"] = 1LL << 40;
  expect_refusal(bad, "key 'vocab_size' is 1099511627776, above the limit of 16777216");
  bad = config;
  bad["hidden_act"] = "gelu";
  expect_refusal(bad, "key 'hidden_act' is \"gelu\"");
  bad = config;
  bad["architectures"] = {"GPT2LMHeadModel"};
  expect_refusal(bad, "key 'architectures' is [\"GPT2LMHeadModel\"]");
  expect_refusal(nlohmann::json::array({1, 2}), "config is not a JSON object");
  EXPECT_THROW_MSG(parse_llama_config(scratch / "absent.json"), InputError, "absent.json: no config.json");
}
