// `moerge generate`: continue byte-level prompts with a model (or one expert): one batched prefill
// of every prompt into a KV cache, then one decode step per new byte for all prompts at once.
#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/eval/system.hpp"
#include "moerge/model/generate.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

struct GenerateConfig {
  fs::path model;
  std::vector<fs::path> experts;
  std::vector<std::string> prompts;
  int max_new_tokens = 64;
  double temperature = 0.0;  // 0: greedy
  int top_k = 0;             // 0: all tokens
  std::uint64_t seed = 0;
  int context = 0;  // 0: max_position_embeddings
};

constexpr const char* kUsage =
    "generate --model DIR [--expert DIR] (--prompt TEXT | --prompt-file FILE)... [--max-new-tokens N] "
    "[--temperature T] [--top-k K] [--seed S] [--context L]";

constexpr const char* kSummary =
    "Continue each prompt (bytes after BOS) until EOS, --max-new-tokens or the context is reached; prints "
    "each "
    "prompt with its continuation. See docs/runtime.md.";

std::string read_prompt_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open (--prompt-file)", path.string()));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::optional<GenerateConfig> parse(const std::vector<std::string>& args, int rank) {
  GenerateConfig config;
  std::string model;
  std::vector<std::string> experts;
  std::vector<std::string> prompt_files;
  po::options_description visible("options");
  visible.add_options()("help,h", "show this help")("model", po::value(&model), "HF model directory")(
      "expert", po::value(&experts), "one expert: a PEFT adapter (applied unmerged) or a full fine-tune")(
      "prompt", po::value(&config.prompts), "prompt text (repeat for a batch)")(
      "prompt-file", po::value(&prompt_files), "a file whose bytes are a prompt (repeat)")(
      "max-new-tokens", po::value(&config.max_new_tokens)->default_value(64),
      "bytes to generate per prompt at most")("temperature",
                                              po::value(&config.temperature)->default_value(0.0),
                                              "0: greedy; otherwise sample softmax(logits / T)")(
      "top-k", po::value(&config.top_k)->default_value(0), "sample among the k most likely bytes (0: all)")(
      "seed", po::value(&config.seed)->default_value(0), "seed of the sampler")(
      "context", po::value(&config.context)->default_value(0),
      "positions per sequence, prompt included (default: max_position_embeddings)");
  po::variables_map values;
  if (!parse_command_line(args, visible, visible, po::positional_options_description(), kUsage, kSummary,
                          rank, values))
    return std::nullopt;
  if (model.empty()) throw ConfigError(fmt::format("--model is missing (usage: moerge {})", kUsage));
  config.model = model;
  for (const std::string& expert : experts) config.experts.emplace_back(expert);
  if (config.experts.size() > 1)
    throw ConfigError(fmt::format("generate takes at most one --expert (got {})", config.experts.size()));
  for (const std::string& file : prompt_files) config.prompts.push_back(read_prompt_file(file));
  if (config.prompts.empty())
    throw ConfigError(fmt::format("no prompt: give --prompt TEXT or --prompt-file FILE"));
  if (config.max_new_tokens < 0)
    throw ConfigError(fmt::format("--max-new-tokens {} is negative", config.max_new_tokens));
  if (!(config.temperature >= 0.0) || !std::isfinite(config.temperature))
    throw ConfigError(fmt::format("--temperature {} must be a finite number >= 0", config.temperature));
  if (config.top_k < 0) throw ConfigError(fmt::format("--top-k {} is negative", config.top_k));
  if (config.context < 0) throw ConfigError(fmt::format("--context {} is negative", config.context));
  return config;
}

}  // namespace

int run_generate(const std::vector<std::string>& args) {
  const comm::Comm comm = comm::Comm::world();
  const auto config = parse(args, comm.rank());
  if (!config) return 0;
  eval::ExpertPool pool = eval::load_expert_pool(config->model, config->experts);
  model::SingleExpertHook single_expert(0);
  const model::LlamaModel& model = pool.full.empty() ? pool.base : pool.full.front().model;
  model::ForwardOptions options;
  if (pool.lora.n_expert() == 1) {
    options.hook = &single_expert;
    options.experts = &pool.lora;
  }
  const model::SamplingOptions sampling{.max_new_tokens = config->max_new_tokens,
                                        .temperature = config->temperature,
                                        .top_k = config->top_k,
                                        .seed = config->seed,
                                        .context = config->context};
  const std::vector<model::Generation> generated = model::generate(model, config->prompts, sampling, options);
  const auto n_prompt = static_cast<int>(config->prompts.size());
  if (!comm.is_root()) return 0;
  for (int prompt_idx = 0; prompt_idx < n_prompt; ++prompt_idx) {
    const auto index = static_cast<std::size_t>(prompt_idx);
    if (n_prompt > 1) fmt::print("=== prompt {} ===\n", prompt_idx + 1);
    const std::string text = config->prompts[index] + generated[index].text;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

}  // namespace moerge::cli
