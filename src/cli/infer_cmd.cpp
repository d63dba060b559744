// `moerge infer`: generations for a JSONL file of prompts, by a model, one expert or a routed
// system, as JSONL. Under mpirun / srun a routed system runs expert-parallel: rank 0 runs the base
// model and the router, the other ranks host the experts (docs/serving.md).
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/eval/system.hpp"
#include "moerge/io/atomic.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/io/library.hpp"
#include "moerge/model/generate.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/serve/hosting.hpp"
#include "moerge/serve/system.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

struct Prompt {
  nlohmann::json id;
  std::string text;
  std::optional<std::string> domain;
};

struct InferConfig {
  fs::path model;
  std::vector<fs::path> experts;
  std::string router;  // "": none
  int top_k = 0;
  fs::path prompts;
  std::optional<fs::path> output;
  model::SamplingOptions sampling;
  int n_prompt_batch = 16;
  std::optional<std::string> system_name;
  std::optional<fs::path> placement;
  serve::ServeOptions serve;
  bool quiet = false;
};

constexpr const char* kUsage =
    "infer --model DIR [--expert DIR]... [--router oracle|arrow|phatgoose [--top-k K]] --prompts FILE.jsonl "
    "[--output FILE.jsonl] [--max-new-tokens N] [--temperature T] [--sample-top-k K] [--seed S] [--context "
    "L] "
    "[--batch N] [--placement FILE] [--reply-timeout S] [--quiet]";

constexpr const char* kSummary =
    "Continue every prompt of a JSONL file (bytes after BOS) until EOS, --max-new-tokens or the context; "
    "writes "
    "one JSON line per prompt: id, system, prompt, generation, stop. Under mpirun / srun the experts are "
    "hosted "
    "by ranks 1..N-1 and rank 0 routes (docs/serving.md); the output does not depend on the rank count.";

std::optional<InferConfig> parse(const std::vector<std::string>& args, int rank) {
  InferConfig config;
  std::string model;
  std::vector<std::string> experts;
  std::string prompts;
  po::options_description visible("options");
  visible.add_options()("help,h", "show this help")("model", po::value(&model),
                                                    "HF model directory (the base)")(
      "expert", po::value(&experts),
      "PEFT adapter directory (repeat); one expert without --router is applied to every prompt; a HF "
      "directory "
      "is a full fine-tune run as its own model")(
      "router", po::value(&config.router),
      "route among the experts: oracle (each prompt's \"domain\" names its expert), arrow, phatgoose")(
      "top-k", po::value(&config.top_k)->default_value(0),
      "experts per token for arrow / phatgoose (0: default)")(
      "prompts", po::value(&prompts),
      "JSONL file: one object per line with \"prompt\" (text), optional \"id\" and \"domain\"")(
      "output,o", po::value<std::string>(),
      "write the generations here as JSONL (atomically; default: stdout)")(
      "max-new-tokens", po::value(&config.sampling.max_new_tokens)->default_value(64),
      "bytes per prompt at most")("temperature", po::value(&config.sampling.temperature)->default_value(0.0),
                                  "0: greedy; otherwise sample softmax(logits / T)")(
      "sample-top-k", po::value(&config.sampling.top_k)->default_value(0),
      "sample among the k most likely bytes (0: all)")("seed",
                                                       po::value(&config.sampling.seed)->default_value(0),
                                                       "seed of the sampler (one stream per batch)")(
      "context", po::value(&config.sampling.context)->default_value(0),
      "positions per sequence, prompt included (default: max_position_embeddings)")(
      "batch", po::value(&config.n_prompt_batch)->default_value(16), "prompts decoded together")(
      "system-name", po::value<std::string>(),
      "the \"system\" field of every line (default from the router)")(
      "placement", po::value<std::string>(), "YAML file pinning experts to ranks (docs/serving.md)")(
      "reply-timeout", po::value(&config.serve.reply_timeout_s)->default_value(120.0),
      "seconds without results before the coordinator probes the expert ranks")(
      "quiet,q", po::bool_switch(&config.quiet), "no progress lines");
  po::variables_map values;
  if (!parse_command_line(args, visible, visible, po::positional_options_description(), kUsage, kSummary,
                          rank, values))
    return std::nullopt;
  if (model.empty()) throw ConfigError(fmt::format("--model is missing (usage: moerge {})", kUsage));
  if (prompts.empty()) throw ConfigError(fmt::format("--prompts is missing (usage: moerge {})", kUsage));
  config.model = model;
  config.prompts = prompts;
  for (const std::string& expert : experts) config.experts.emplace_back(expert);
  if (values.count("output")) config.output = fs::path(values["output"].as<std::string>());
  if (values.count("system-name")) config.system_name = values["system-name"].as<std::string>();
  if (values.count("placement")) config.placement = fs::path(values["placement"].as<std::string>());
  if (!config.router.empty() && !serve::router_runs_expert_parallel(config.router))
    throw ConfigError(
        fmt::format("--router '{}': infer routes with oracle, arrow or phatgoose (the other routers "
                    "are evaluated with `moerge eval`)",
                    config.router));
  if (!config.router.empty() && config.experts.empty())
    throw ConfigError(fmt::format("--router {} needs experts to route among (--expert DIR)", config.router));
  if (config.router.empty() && config.experts.size() > 1)
    throw ConfigError(fmt::format("{} experts given without --router: give one, or route with --router NAME",
                                  config.experts.size()));
  if (config.top_k < 0 || (config.top_k > 0 && config.router != "arrow" && config.router != "phatgoose"))
    throw ConfigError(fmt::format(
        "--top-k {} applies to --router arrow or phatgoose only, as a positive number", config.top_k));
  if (config.sampling.max_new_tokens < 0)
    throw ConfigError(fmt::format("--max-new-tokens {} is negative", config.sampling.max_new_tokens));
  if (!(config.sampling.temperature >= 0.0) || !std::isfinite(config.sampling.temperature))
    throw ConfigError(
        fmt::format("--temperature {} must be a finite number >= 0", config.sampling.temperature));
  if (config.sampling.top_k < 0)
    throw ConfigError(fmt::format("--sample-top-k {} is negative", config.sampling.top_k));
  if (config.sampling.context < 0)
    throw ConfigError(fmt::format("--context {} is negative", config.sampling.context));
  if (config.n_prompt_batch <= 0)
    throw ConfigError(fmt::format("--batch {} must be positive", config.n_prompt_batch));
  if (!(config.serve.reply_timeout_s > 0))
    throw ConfigError(
        fmt::format("--reply-timeout {} must be a positive number of seconds", config.serve.reply_timeout_s));
  if (config.output && !config.output->parent_path().empty() &&
      !fs::is_directory(config.output->parent_path()))
    throw InputError(fmt::format("--output {}: the directory {} does not exist", config.output->string(),
                                 config.output->parent_path().string()));
  return config;
}

/// The prompts of a JSONL file: InputError naming the file, the line and the problem.
std::vector<Prompt> read_prompts(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open (--prompts)", file.string()));
  std::vector<Prompt> prompts;
  std::string line;
  for (std::size_t line_idx = 1; std::getline(in, line); ++line_idx) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& error) {
      throw InputError(fmt::format("{}:{}: not JSON: {}", file.string(), line_idx, error.what()));
    }
    if (!object.is_object() || !object.contains("prompt") || !object["prompt"].is_string())
      throw InputError(
          fmt::format("{}:{}: each line is an object with a \"prompt\" string", file.string(), line_idx));
    Prompt prompt{.id = object.contains("id") ? object["id"] : nlohmann::json(prompts.size()),
                  .text = object["prompt"].get<std::string>(),
                  .domain = std::nullopt};
    if (object.contains("domain")) {
      if (!object["domain"].is_string())
        throw InputError(fmt::format("{}:{}: \"domain\" must be a string", file.string(), line_idx));
      prompt.domain = object["domain"].get<std::string>();
    }
    prompts.push_back(std::move(prompt));
  }
  if (prompts.empty()) throw InputError(fmt::format("{}: no prompt in the file", file.string()));
  return prompts;
}

/// Generate batch after batch; `before_batch` sets what depends on the batch's prompts (called
/// before every forward of the batch: a sequence hook expands its decision per forward).
std::vector<model::Generation> generate_all(
    const model::LlamaModel& model, const std::vector<Prompt>& prompts, const InferConfig& config,
    const model::ForwardOptions& options, const std::function<void(std::size_t, std::size_t)>& before_batch) {
  std::vector<model::Generation> out;
  const auto n_batch = static_cast<std::size_t>(config.n_prompt_batch);
  for (std::size_t first = 0; first < prompts.size(); first += n_batch) {
    const std::size_t last = std::min(prompts.size(), first + n_batch);
    std::vector<std::string> texts;
    for (std::size_t idx = first; idx < last; ++idx) texts.push_back(prompts[idx].text);
    model::SamplingOptions sampling = config.sampling;
    sampling.seed = config.sampling.seed + first;  // one stream per batch, as any rank count sees them
    std::vector<model::Generation> batch =
        model::generate(model, texts, sampling, options, [&](const model::TokenBatch&) {
          if (before_batch) before_batch(first, last);
        });
    out.insert(out.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
    if (!config.quiet) log::info("infer: {}/{} prompts", last, prompts.size());
  }
  return out;
}

void write_generations(const InferConfig& config, const std::string& system,
                       const std::vector<Prompt>& prompts,
                       const std::vector<model::Generation>& generations) {
  std::string text;
  for (std::size_t idx = 0; idx < prompts.size(); ++idx) {
    const nlohmann::ordered_json line{{"id", prompts[idx].id},
                                      {"system", system},
                                      {"prompt", prompts[idx].text},
                                      {"generation", generations[idx].text},
                                      {"stop", model::stop_reason_name(generations[idx].stop)}};
    // Bytes that are not UTF-8 become U+FFFD in the JSON text.
    text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (!config.output) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  io::AtomicPath atomic(*config.output, true);
  {
    std::ofstream out(atomic.temp(), std::ios::binary);
    if (!out) throw IoError(fmt::format("{}: cannot create", atomic.temp().string()));
    out << text;
    out.close();
    if (!out) throw IoError(fmt::format("{}: write failed", atomic.temp().string()));
  }
  io::fsync_path(atomic.temp());
  atomic.commit();
  if (!config.quiet) log::info("wrote {} generations to {}", prompts.size(), config.output->string());
}

}  // namespace

int run_infer(const std::vector<std::string>& args) {
  const comm::Comm comm = comm::Comm::world();
  const auto config = parse(args, comm.rank());
  if (!config) return 0;

  const bool lora_only = !config->experts.empty() &&
                         std::all_of(config->experts.begin(), config->experts.end(), [](const fs::path& dir) {
                           return serve::ModelSource::parse(dir.string()).is_lora();
                         });
  if (!lora_only) {
    // The base alone, a merged model or one full fine-tune: rank 0 runs it.
    if (!config->router.empty())
      throw ConfigError(
          fmt::format("--router {}: every --expert must be a PEFT adapter directory", config->router));
    if (comm.size() > 1 && comm.is_root())
      log::warn("infer: a dense model runs on rank 0 only; ranks 1..{} have no experts to host",
                comm.size() - 1);
    std::vector<Prompt> prompts;
    std::vector<model::Generation> generations;
    std::string system;
    io::run_agreed(comm, [&] {
      if (!comm.is_root()) return;
      prompts = read_prompts(config->prompts);
      eval::ExpertPool pool = eval::load_expert_pool(config->model, config->experts);
      const model::LlamaModel& model = pool.full.empty() ? pool.base : pool.full.front().model;
      system = config->system_name.value_or(pool.full.empty() ? eval::expert_name(config->model)
                                                              : "full_" + pool.full.front().name);
      generations = generate_all(model, prompts, *config, {}, {});
    });
    if (comm.is_root()) write_generations(*config, system, prompts, generations);
    return 0;
  }

  std::vector<std::string> experts;
  for (const fs::path& expert : config->experts) experts.push_back(expert.string());
  serve::ParallelSystem system(comm, serve::ParallelSystemSpec{.model = config->model.string(),
                                                               .experts = experts,
                                                               .router = config->router,
                                                               .top_k = config->top_k,
                                                               .placement_file = config->placement,
                                                               .serve = config->serve,
                                                               .quiet = config->quiet});
  std::vector<Prompt> prompts;
  std::vector<int> expert_of_prompt;
  io::run_agreed(comm, [&] {
    if (!system.is_coordinator()) return;
    prompts = read_prompts(config->prompts);
    if (config->router == "oracle")
      for (const Prompt& prompt : prompts) {
        const std::optional<int> expert_idx =
            prompt.domain ? system.expert_index(*prompt.domain) : std::nullopt;
        if (!expert_idx)
          throw InputError(fmt::format(
              "{}: prompt {}: --router oracle needs a \"domain\" naming one of the experts ({}); found {}",
              config->prompts.string(), prompt.id.dump(), fmt::join(system.expert_names(), ", "),
              prompt.domain ? "'" + *prompt.domain + "'" : std::string("none")));
        expert_of_prompt.push_back(*expert_idx);
      }
  });
  if (!system.is_coordinator()) {
    system.serve();
    return 0;
  }
  std::string name = config->router.empty() ? "lora_" + system.expert_names().front() : config->router;
  if (config->router == "arrow") name = fmt::format("arrow_top{}", system.top_k());
  const std::vector<model::Generation> generations = generate_all(
      system.base(), prompts, *config, system.forward_options(), [&](std::size_t first, std::size_t last) {
        if (config->router == "oracle")
          system.set_sequence_experts(
              std::vector<int>(expert_of_prompt.begin() + static_cast<std::ptrdiff_t>(first),
                               expert_of_prompt.begin() + static_cast<std::ptrdiff_t>(last)));
      });
  system.stop();
  write_generations(*config, config->system_name.value_or(name), prompts, generations);
  return 0;
}

}  // namespace moerge::cli
