// `moerge eval`: bits per byte of a base, a merged model, one expert or a routed system on
// directories of text, as a printed per-domain table and a results CSV (design.md).
#include <fmt/core.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/eval/bpb.hpp"
#include "moerge/eval/results.hpp"
#include "moerge/eval/system.hpp"
#include "moerge/model/lora.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

struct RouterChoice {
  std::string name;
  int top_k = 0;  // 0: the router's default
};

struct EvalConfig {
  fs::path model;
  std::vector<fs::path> experts;
  std::optional<std::string> system_name;
  std::optional<RouterChoice> router;
  std::vector<eval::DomainSpec> domains;
  int context = 0;  // 0: the model's max_position_embeddings
  int n_window_batch = 16;
  std::optional<fs::path> output;
  bool quiet = false;
};

constexpr const char* kUsage =
    "eval --model DIR [--expert DIR]... [--router NAME [--top-k K]] (--domain NAME=DIR... | --domains-json "
    "FILE) "
    "[--split-label in_distribution|held_out] [--split test|validation] [--context L] [--batch N] "
    "[--system-name NAME] [--output FILE.csv] [--quiet]";

bool is_plain_name(std::string_view name) {
  return !name.empty() &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+") ==
             std::string_view::npos;
}

std::optional<EvalConfig> parse(const std::vector<std::string>& args, int rank) {
  EvalConfig config;
  std::string model;
  std::vector<std::string> experts;
  std::vector<std::string> domain_args;
  std::string split_label(eval::kInDistribution);
  std::string split = "test";
  po::options_description visible("options");
  visible.add_options()("help,h", "show this help")(
      "model", po::value(&model), "HF model directory: the base, a merge's output, any dense Llama model")(
      "expert", po::value(&experts),
      "expert directory (repeat): a PEFT adapter is applied unmerged on the model, a HF directory is a full "
      "fine-tune run as its own model; one expert without --router is evaluated alone")(
      "router", po::value<std::string>(), "route among the experts with this router (docs/methods.md)")(
      "top-k", po::value<int>(), "experts per token or sequence for --router")(
      "domain", po::value(&domain_args),
      "NAME=DIR (repeat): every file under DIR is one document (a file given as DIR is the only one)")(
      "domains-json", po::value<std::string>(), "the domains of a zoo domains.json (data/zoo/domains.json)")(
      "split", po::value(&split)->default_value("test"),
      "with --domains-json: which eval_dirs entry (test, validation)")(
      "split-label", po::value(&split_label)->default_value(std::string(eval::kInDistribution)),
      "split column of the --domain rows: in_distribution or held_out")(
      "context", po::value<int>(), "window length L in bytes (default: the model's max_position_embeddings)")(
      "batch", po::value(&config.n_window_batch)->default_value(16), "windows per forward pass")(
      "system-name", po::value<std::string>(),
      "system column of the results (default: the model directory's name, lora_<name> / full_<name> for one "
      "expert, "
      "the router's name)")("output,o", po::value<std::string>(), "write the rows to this CSV (atomically)")(
      "quiet,q", po::bool_switch(&config.quiet), "no progress output and no table");
  po::variables_map values;
  try {
    po::store(po::command_line_parser(args).options(visible).run(), values);
    if (values.count("help")) {
      if (rank == 0) {
        std::ostringstream text;
        text << visible;
        fmt::print(
            "usage: moerge {}\n\nBits per byte (methods.md) of a model, an expert or a routed system on "
            "directories of text: a table per domain and, with --output, the CSV "
            "system,domain,split,n_bytes,bits_per_byte. Runs alone or under mpirun / srun (windows are "
            "spread "
            "over the ranks; the figures do not depend on the rank count). See docs/runtime.md.\n\n{}",
            kUsage, text.str());
      }
      return std::nullopt;
    }
    po::notify(values);
  } catch (const po::error& error) {
    throw ConfigError(fmt::format("{} (usage: moerge {})", error.what(), kUsage));
  }
  if (model.empty()) throw ConfigError(fmt::format("--model is missing (usage: moerge {})", kUsage));
  config.model = model;
  for (const std::string& expert : experts) config.experts.emplace_back(expert);
  eval::check_split_label(split_label);
  if (split != "test" && split != "validation")
    throw ConfigError(fmt::format("--split '{}' is not one of test, validation", split));
  if (values.count("domains-json"))
    config.domains = eval::read_domains_json(values["domains-json"].as<std::string>(), split);
  for (const std::string& text : domain_args)
    config.domains.push_back(eval::parse_domain_arg(text, split_label));
  if (config.domains.empty())
    throw ConfigError(fmt::format(
        "no domain to evaluate: give --domain NAME=DIR or --domains-json FILE (usage: moerge {})", kUsage));
  std::set<std::string> seen;
  for (const eval::DomainSpec& domain : config.domains)
    if (!seen.insert(domain.name).second)
      throw ConfigError(fmt::format("domain '{}' is given twice", domain.name));
  if (values.count("context")) {
    config.context = values["context"].as<int>();
    if (config.context <= 0)
      throw ConfigError(fmt::format("--context {} must be a positive number of bytes", config.context));
  }
  if (config.n_window_batch <= 0)
    throw ConfigError(fmt::format("--batch {} must be a positive number of windows", config.n_window_batch));
  if (values.count("router")) {
    config.router = RouterChoice{.name = values["router"].as<std::string>()};
    if (values.count("top-k")) {
      config.router->top_k = values["top-k"].as<int>();
      if (config.router->top_k <= 0)
        throw ConfigError(fmt::format("--top-k {} must be positive", config.router->top_k));
    }
  } else if (values.count("top-k")) {
    throw ConfigError("--top-k needs --router");
  }
  if (config.router && config.experts.empty())
    throw ConfigError("--router needs experts to route among (--expert DIR)");
  if (!config.router && config.experts.size() > 1)
    throw ConfigError(
        fmt::format("{} experts given without --router: evaluate one expert at a time, or route among "
                    "them with --router NAME",
                    config.experts.size()));
  if (values.count("system-name")) {
    config.system_name = values["system-name"].as<std::string>();
    if (!is_plain_name(*config.system_name))
      throw ConfigError(fmt::format("--system-name '{}' must be letters, digits, '_', '-', '.' or '+'",
                                    *config.system_name));
  }
  if (values.count("output")) config.output = fs::path(values["output"].as<std::string>());
  return config;
}

/// The dispatch point of --router: the hook that routes among the pool's experts at every module
/// (token- and module-level routers), given to the base's forward pass with the pool's LoRA set.
/// The routers of docs/methods.md are implemented in src/route.
std::unique_ptr<model::ModuleHook> make_router(const RouterChoice& choice, const eval::ExpertPool& /*pool*/) {
  throw ConfigError(
      fmt::format("--router '{}': this build of moerge has no router of that name", choice.name));
}

std::string default_system_name(const EvalConfig& config, const eval::ExpertPool& pool) {
  if (config.router)
    return config.router->top_k > 0 ? fmt::format("{}_top{}", config.router->name, config.router->top_k)
                                    : config.router->name;
  if (!pool.full.empty()) return "full_" + pool.full.front().name;
  if (pool.lora.n_expert() == 1) return "lora_" + pool.lora.expert(0).name;
  return eval::expert_name(config.model);
}

}  // namespace

int run_eval(const std::vector<std::string>& args) {
  const comm::Comm comm = comm::Comm::world();
  const auto config = parse(args, comm.rank());
  if (!config) return 0;
  if (config->output && !config->output->parent_path().empty() &&
      !fs::is_directory(config->output->parent_path()))
    throw InputError(fmt::format("--output {}: the directory {} does not exist", config->output->string(),
                                 config->output->parent_path().string()));

  eval::ExpertPool pool = eval::load_expert_pool(config->model, config->experts);
  // Every domain's documents before any scoring, so a bad directory fails at once.
  std::vector<std::vector<eval::Document>> documents;
  for (const eval::DomainSpec& domain : config->domains)
    documents.push_back(eval::read_documents(domain.dir));

  model::SingleExpertHook single_expert(0);
  std::unique_ptr<model::ModuleHook> router;
  std::unique_ptr<eval::Scorer> scorer;
  if (config->router) {
    router = make_router(*config->router, pool);
    scorer = std::make_unique<eval::ModelScorer>(
        pool.base, model::ForwardOptions{.hook = router.get(), .experts = &pool.lora});
  } else if (!pool.full.empty()) {
    scorer = std::make_unique<eval::ModelScorer>(pool.full.front().model);
  } else if (pool.lora.n_expert() == 1) {
    scorer = std::make_unique<eval::ModelScorer>(
        pool.base, model::ForwardOptions{.hook = &single_expert, .experts = &pool.lora});
  } else {
    scorer = std::make_unique<eval::ModelScorer>(pool.base);
  }
  const std::string system = config->system_name.value_or(default_system_name(*config, pool));
  eval::EvalOptions options{.context = config->context > 0 ? config->context : scorer->n_ctx(),
                            .n_window_batch = config->n_window_batch,
                            .quiet = config->quiet};
  if (options.context > scorer->n_ctx() && comm.is_root())
    log::warn("--context {} is longer than the model's max_position_embeddings {}", options.context,
              scorer->n_ctx());

  std::vector<eval::EvalRow> rows;
  for (std::size_t domain_idx = 0; domain_idx < config->domains.size(); ++domain_idx) {
    const eval::DomainScore score =
        eval::score_domain(*scorer, config->domains[domain_idx], documents[domain_idx], options, comm);
    rows.push_back(eval::EvalRow{.system = system,
                                 .domain = score.domain,
                                 .split = score.split,
                                 .n_bytes = score.n_bytes,
                                 .bits_per_byte = score.bits_per_byte()});
  }
  if (!comm.is_root()) return 0;
  if (!config->quiet) fmt::print("{}", eval::eval_table(rows));
  if (config->output) {
    eval::write_eval_csv(*config->output, rows);
    if (!config->quiet) fmt::print("wrote {} rows to {}\n", rows.size(), config->output->string());
  }
  return 0;
}

}  // namespace moerge::cli
