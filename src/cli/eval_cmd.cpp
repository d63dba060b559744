// `moerge eval`: bits per byte of a base, a merged model, one expert or a routed system on
// directories of text, as a printed per-domain table and a results CSV (design.md).
#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>
#include <limits>
#include <map>
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
#include "moerge/io/library.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/hooks.hpp"
#include "moerge/route/routers.hpp"
#include "moerge/route/sequence.hpp"
#include "moerge/route/stats.hpp"
#include "moerge/route/task.hpp"
#include "moerge/serve/dispatch.hpp"
#include "moerge/serve/hosting.hpp"
#include "moerge/serve/system.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

enum class Granularity : std::uint8_t { token, sequence, task };

struct RouterChoice {
  std::string name;
  int top_k = 0;  // 0: the router's default
  std::optional<Granularity> granularity;
  std::optional<route::Aggregation> aggregation;
};

struct EvalConfig {
  fs::path model;
  std::vector<fs::path> experts;
  std::optional<std::string> system_name;
  std::optional<RouterChoice> router;
  std::vector<eval::DomainSpec> domains;
  std::optional<fs::path> domains_json;
  std::map<std::string, fs::path> expert_data;  // --expert-data NAME=DIR
  std::map<std::string, fs::path> fewshot;      // --fewshot NAME=DIR
  int context = 0;                              // 0: the model's max_position_embeddings
  int n_window_batch = 16;
  std::optional<fs::path> output;
  bool quiet = false;
  // Expert-parallel runs (docs/serving.md).
  std::optional<fs::path> placement;
  serve::ServeOptions serve;
};

constexpr const char* kUsage =
    "eval --model DIR [--expert DIR]... [--router NAME [--top-k K] [--granularity token|sequence|task] "
    "[--aggregate output|parameter] [--expert-data NAME=DIR]... [--fewshot NAME=DIR]...] (--domain "
    "NAME=DIR... | "
    "--domains-json FILE) "
    "[--split-label in_distribution|held_out] [--split test|validation] [--context L] [--batch N] "
    "[--system-name NAME] [--output FILE.csv] [--placement FILE] [--reply-timeout S] [--quiet]";

constexpr const char* kSummary =
    "Bits per byte (methods.md) of a model, an expert or a routed system on directories of text: a table per "
    "domain and, with --output, the CSV system,domain,split,n_bytes,bits_per_byte. Runs alone or under "
    "mpirun / "
    "srun (routed LoRA experts expert-parallel, other systems' windows spread over the ranks; the figures do "
    "not "
    "depend on the rank count). See docs/runtime.md and docs/serving.md.";

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
  std::vector<std::string> expert_data_args;
  std::vector<std::string> fewshot_args;
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
      "granularity", po::value<std::string>(),
      "token, sequence or task: checked against the router's own granularity (docs/routing.md)")(
      "aggregate", po::value<std::string>(),
      "output (mix the experts' outputs) or parameter (average their parameters: retrieval, learned)")(
      "expert-data", po::value(&expert_data_args),
      "NAME=DIR (repeat): a sample of expert NAME's data for centroid, retrieval, cbtm and learned (default "
      "with --domains-json: the validation texts of the domain named like the expert)")(
      "fewshot", po::value(&fewshot_args),
      "NAME=DIR (repeat): the few-shot examples of domain NAME for lorahub (default with --domains-json: its "
      "fewshot texts)")(
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
      "placement", po::value<std::string>(),
      "expert-parallel runs: a YAML file pinning experts to ranks (NAME: RANK or NAME: [RANKS]; default: "
      "balanced by bytes; docs/serving.md)")("reply-timeout",
                                             po::value(&config.serve.reply_timeout_s)->default_value(120.0),
                                             "expert-parallel runs: seconds without results before the "
                                             "coordinator probes the expert ranks; a rank that "
                                             "does not answer ends the job")(
      "max-message-bytes",
      po::value(&config.serve.max_message_bytes)->default_value(config.serve.max_message_bytes),
      "expert-parallel runs: bytes one exchange may move to or from a rank (larger steps go in rounds)")(
      "quiet,q", po::bool_switch(&config.quiet), "no progress output and no table");
  po::variables_map values;
  if (!parse_command_line(args, visible, visible, po::positional_options_description(), kUsage, kSummary,
                          rank, values))
    return std::nullopt;
  if (model.empty()) throw ConfigError(fmt::format("--model is missing (usage: moerge {})", kUsage));
  config.model = model;
  for (const std::string& expert : experts) config.experts.emplace_back(expert);
  eval::check_split_label(split_label);
  if (split != "test" && split != "validation")
    throw ConfigError(fmt::format("--split '{}' is not one of test, validation", split));
  if (values.count("domains-json")) {
    config.domains_json = fs::path(values["domains-json"].as<std::string>());
    config.domains = eval::read_domains_json(*config.domains_json, split);
  }
  for (const auto& [args_of, target] :
       {std::pair{&expert_data_args, &config.expert_data}, std::pair{&fewshot_args, &config.fewshot}})
    for (const std::string& text : *args_of) {
      const eval::DomainSpec spec = eval::parse_domain_arg(text, eval::kInDistribution);
      if (!target->emplace(spec.name, spec.dir).second)
        throw ConfigError(fmt::format("'{}' is given twice ({})", spec.name, text));
    }
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
    config.router.emplace();
    config.router->name = values["router"].as<std::string>();
    if (values.count("top-k")) {
      config.router->top_k = values["top-k"].as<int>();
      if (config.router->top_k <= 0)
        throw ConfigError(fmt::format("--top-k {} must be positive", config.router->top_k));
    }
    if (values.count("granularity")) {
      const std::string text = values["granularity"].as<std::string>();
      if (text == "token")
        config.router->granularity = Granularity::token;
      else if (text == "sequence")
        config.router->granularity = Granularity::sequence;
      else if (text == "task")
        config.router->granularity = Granularity::task;
      else
        throw ConfigError(fmt::format("--granularity '{}' is not one of token, sequence, task", text));
    }
    if (values.count("aggregate")) {
      const std::string text = values["aggregate"].as<std::string>();
      if (text == "output")
        config.router->aggregation = route::Aggregation::output;
      else if (text == "parameter")
        config.router->aggregation = route::Aggregation::parameter;
      else
        throw ConfigError(fmt::format("--aggregate '{}' is not one of output, parameter", text));
    }
  } else {
    for (const char* name : {"top-k", "granularity", "aggregate", "expert-data", "fewshot"})
      if (values.count(name)) throw ConfigError(fmt::format("--{} needs --router", name));
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
  if (values.count("placement")) config.placement = fs::path(values["placement"].as<std::string>());
  if (!(config.serve.reply_timeout_s > 0))
    throw ConfigError(
        fmt::format("--reply-timeout {} must be a positive number of seconds", config.serve.reply_timeout_s));
  if (config.serve.max_message_bytes < 1024 ||
      config.serve.max_message_bytes > std::numeric_limits<int>::max())
    throw ConfigError(fmt::format("--max-message-bytes {} must be within 1024..{}",
                                  config.serve.max_message_bytes, std::numeric_limits<int>::max()));
  return config;
}

/// A router's place in the taxonomy the CLI checks: its granularity, its default aggregation and
/// top-k, and whether it also averages parameters.
struct RouterShape {
  Granularity granularity = Granularity::token;
  route::Aggregation aggregation = route::Aggregation::output;
  bool parameter_too = false;  // --aggregate parameter is also available
  int default_top_k = 0;       // 0: dense (or not applicable)
};

std::optional<RouterShape> router_shape(std::string_view name) {
  using route::Aggregation;
  if (name == "uniform_merge") return RouterShape{Granularity::task, Aggregation::parameter, false, 0};
  if (name == "oracle") return RouterShape{Granularity::task, Aggregation::output, true, 1};
  if (name == "lorahub") return RouterShape{Granularity::task, Aggregation::parameter, false, 0};
  if (name == "arrow") return RouterShape{Granularity::token, Aggregation::output, false, 4};
  if (name == "phatgoose") return RouterShape{Granularity::token, Aggregation::output, false, 2};
  if (name == "centroid") return RouterShape{Granularity::token, Aggregation::output, false, 0};
  if (name == "retrieval") return RouterShape{Granularity::sequence, Aggregation::output, true, 3};
  if (name == "cbtm") return RouterShape{Granularity::sequence, Aggregation::output, false, 2};
  if (name == "learned") return RouterShape{Granularity::sequence, Aggregation::output, true, 0};
  return std::nullopt;
}

std::string_view granularity_name(Granularity granularity) {
  switch (granularity) {
    case Granularity::token:
      return "token";
    case Granularity::sequence:
      return "sequence";
    case Granularity::task:
      return "task";
  }
  return "?";
}

/// What a routed system runs on: the base here and the experts either in this process
/// (data-parallel: every rank holds every expert, `factors` set) or on the ranks of a
/// serve::ParallelSystem (expert-parallel: `factors` null, routers' vectors gathered from the hosts).
struct SystemModels {
  const model::LlamaModel& base;
  const model::ExpertApplier& experts;      // decisions' expert_idx index these
  const model::LoraSet* factors = nullptr;  // every expert's factors, when they are in this process
  /// Arrow prototypes or PHATGOOSE gates of every expert (called once, for those routers).
  std::function<route::ModuleVectors(const std::string& router)> vectors;
};

/// A routed system: one scorer for every domain (token- and sequence-level routers, the uniform
/// merge) or one per domain (oracle: the domain's expert; lorahub: weights searched on the
/// domain's few-shot examples). Every input a router needs is checked at construction, before any
/// scoring.
class RoutedSystem {
 public:
  RoutedSystem(const EvalConfig& config, SystemModels models) : config_(config), models_(std::move(models)) {
    const RouterChoice& choice = *config.router;
    const auto shape = router_shape(choice.name);
    if (!shape || !route::router_info(choice.name)) {
      std::string known;
      for (const route::RouterInfo& info : route::router_table())
        known += fmt::format("{}{}", known.empty() ? "" : ", ", info.name);
      throw ConfigError(
          fmt::format("--router '{}': no router of that name (routers: {})", choice.name, known));
    }
    shape_ = *shape;
    if (choice.granularity && *choice.granularity != shape_.granularity)
      throw ConfigError(fmt::format("--router {} routes per {}: --granularity {} is not available for it",
                                    choice.name, granularity_name(shape_.granularity),
                                    granularity_name(*choice.granularity)));
    aggregation_ = choice.aggregation.value_or(shape_.aggregation);
    if (aggregation_ != shape_.aggregation && !shape_.parameter_too)
      throw ConfigError(
          fmt::format("--router {} aggregates by {} only", choice.name,
                      shape_.aggregation == route::Aggregation::output ? "output" : "parameter"));
    top_k_ = choice.top_k > 0 ? choice.top_k : shape_.default_top_k;
    if (choice.top_k > 0 &&
        (choice.name == "uniform_merge" || choice.name == "oracle" || choice.name == "lorahub"))
      throw ConfigError(
          fmt::format("--router {} uses every expert or one: --top-k does not apply", choice.name));
    const std::string& name = choice.name;
    if (name == "oracle") {
      for (const eval::DomainSpec& domain : config.domains)
        if (!expert_index(domain.name))
          throw InputError(
              fmt::format("--router oracle: domain '{}' has no expert of that name (the oracle evaluates "
                          "each domain with "
                          "the expert named like it; experts: {})",
                          domain.name, expert_list()));
    } else if (name == "phatgoose" || name == "arrow") {
      vectors_ = models_.vectors(name);
    } else if (name == "centroid" || name == "retrieval" || name == "cbtm" || name == "learned") {
      read_samples();
    } else if (name == "lorahub") {
      read_fewshot();
    }
  }

  /// Builds what depends on the evaluation's window length (statistics of the samples).
  void prepare(int context) {
    context_ = context;
    const std::string& name = config_.router->name;
    route::TokenRouterOptions token_options;
    token_options.top_k = top_k_;
    if (name == "uniform_merge") {
      const std::vector<float> weights(static_cast<std::size_t>(n_expert()),
                                       1.0f / static_cast<float>(n_expert()));
      merged_ = model::merge_dense(models_.base, factors(), weights);
      scorer_ = std::make_unique<eval::ModelScorer>(*merged_);
    } else if (name == "arrow" || name == "phatgoose") {
      hook_ = std::make_unique<route::TokenRouterHook>(
          name == "arrow" ? route::TokenRouterKind::arrow : route::TokenRouterKind::phatgoose,
          std::move(vectors_), token_options);
    } else if (name == "centroid" || name == "retrieval" || name == "cbtm" || name == "learned") {
      route::SampleStats stats = route::compute_sample_stats(models_.base, models_.experts, samples_, context,
                                                             config_.n_window_batch);
      if (name == "centroid") {
        hook_ = std::make_unique<route::TokenRouterHook>(route::TokenRouterKind::centroid,
                                                         std::move(stats.centroids), token_options);
      } else {
        std::optional<route::LinearRouter> router;
        if (name == "learned") router = route::train_linear_router(stats.features, stats.labels, n_expert());
        const route::SequenceRouterKind kind = name == "retrieval" ? route::SequenceRouterKind::retrieval
                                               : name == "cbtm"    ? route::SequenceRouterKind::cbtm
                                                                   : route::SequenceRouterKind::learned;
        scorer_ = std::make_unique<route::SequenceRoutedScorer>(
            models_.base, models_.experts, std::move(stats.embeddings), std::move(router),
            route::SequenceRouterOptions{
                .kind = kind, .top_k = top_k_, .aggregation = aggregation_, .context = context});
      }
    }
    if (hook_)
      scorer_ = std::make_unique<eval::ModelScorer>(
          models_.base, model::ForwardOptions{.hook = hook_.get(), .experts = &models_.experts});
  }

  eval::Scorer& scorer_for(const eval::DomainSpec& domain) {
    const std::string& name = config_.router->name;
    if (name == "oracle") {
      domain_hook_ = std::make_unique<model::SingleExpertHook>(*expert_index(domain.name));
      domain_scorer_ = std::make_unique<eval::ModelScorer>(
          models_.base, model::ForwardOptions{.hook = domain_hook_.get(), .experts = &models_.experts});
      return *domain_scorer_;
    }
    if (name == "lorahub") {
      const auto& examples = fewshot_.at(domain.name);
      route::LorahubTask task = route::lorahub_task(models_.base, factors(), examples, context_,
                                                    route::LorahubOptions{}, "lorahub_" + domain.name);
      std::string weights;
      for (Eigen::Index expert_idx = 0; expert_idx < task.search.weights.size(); ++expert_idx)
        weights += fmt::format(" {}={:.3f}", models_.experts.expert_name(static_cast<int>(expert_idx)),
                               task.search.weights(expert_idx));
      if (!config_.quiet)
        log::info("lorahub {}: {} evaluations, few-shot objective {:.4f} (bits per byte {:.4f}), weights{}",
                  domain.name, task.search.n_eval, task.search.objective, task.search.loss, weights);
      domain_set_ = std::make_unique<model::LoraSet>(models_.base.config());
      domain_set_->add(std::move(task.combined));
      domain_hook_ = std::make_unique<model::SingleExpertHook>(0);
      domain_scorer_ = std::make_unique<eval::ModelScorer>(
          models_.base, model::ForwardOptions{.hook = domain_hook_.get(), .experts = domain_set_.get()});
      return *domain_scorer_;
    }
    return *scorer_;
  }

  int top_k() const { return top_k_; }
  route::Aggregation aggregation() const { return aggregation_; }

 private:
  int n_expert() const { return models_.experts.n_expert(); }

  /// The experts' factors, for the routers that combine parameters (uniform_merge, lorahub):
  /// those run data-parallel, with every expert in this process.
  const model::LoraSet& factors() const {
    if (models_.factors == nullptr)
      throw Error(
          fmt::format("--router {} combines the experts' parameters: it needs every expert in this process",
                      config_.router->name));
    return *models_.factors;
  }

  std::optional<int> expert_index(const std::string& name) const {
    for (int expert_idx = 0; expert_idx < n_expert(); ++expert_idx)
      if (models_.experts.expert_name(expert_idx) == name) return expert_idx;
    return std::nullopt;
  }

  std::string expert_list() const {
    std::string out;
    for (int expert_idx = 0; expert_idx < n_expert(); ++expert_idx)
      out += fmt::format("{}{}", expert_idx == 0 ? "" : ", ", models_.experts.expert_name(expert_idx));
    return out;
  }

  /// The directory of `kind` ("validation", "fewshot") of domain `name` in --domains-json.
  std::optional<fs::path> domains_json_dir(const std::string& name, std::string_view kind) const {
    if (!config_.domains_json) return std::nullopt;
    for (const eval::DomainSpec& spec : eval::read_domains_json(*config_.domains_json, kind))
      if (spec.name == name) return spec.dir;
    return std::nullopt;
  }

  void read_samples() {
    for (int expert_idx = 0; expert_idx < n_expert(); ++expert_idx) {
      const std::string& expert = models_.experts.expert_name(expert_idx);
      std::optional<fs::path> dir;
      if (const auto given = config_.expert_data.find(expert); given != config_.expert_data.end())
        dir = given->second;
      else
        dir = domains_json_dir(expert, "validation");
      if (!dir)
        throw InputError(
            fmt::format("--router {}: no data sample for expert '{}' (its centroids and sequence embedding "
                        "are computed from "
                        "one): give --expert-data {}=DIR, or --domains-json with a domain named '{}' (its "
                        "validation texts "
                        "are used)",
                        config_.router->name, expert, expert, expert));
      samples_.push_back(eval::read_documents(*dir));
    }
  }

  void read_fewshot() {
    for (const eval::DomainSpec& domain : config_.domains) {
      std::optional<fs::path> dir;
      if (const auto given = config_.fewshot.find(domain.name); given != config_.fewshot.end())
        dir = given->second;
      else
        dir = domains_json_dir(domain.name, "fewshot");
      if (!dir)
        throw InputError(
            fmt::format("--router lorahub: no few-shot examples for domain '{}': give --fewshot {}=DIR, or "
                        "--domains-json "
                        "with an eval_dirs.fewshot entry for it",
                        domain.name, domain.name));
      fewshot_.emplace(domain.name, eval::read_documents(*dir));
    }
  }

  const EvalConfig& config_;
  SystemModels models_;
  RouterShape shape_;
  route::Aggregation aggregation_ = route::Aggregation::output;
  int top_k_ = 0;
  int context_ = 0;
  route::ModuleVectors vectors_;                      // arrow prototypes or phatgoose gates
  std::vector<std::vector<eval::Document>> samples_;  // per expert
  std::map<std::string, std::vector<eval::Document>> fewshot_;
  std::optional<model::LlamaModel> merged_;
  std::unique_ptr<model::ModuleHook> hook_;
  std::unique_ptr<eval::Scorer> scorer_;
  std::unique_ptr<model::SingleExpertHook> domain_hook_;
  std::unique_ptr<model::LoraSet> domain_set_;
  std::unique_ptr<eval::Scorer> domain_scorer_;
};

/// The dispatch point of --router (docs/routing.md).
/// The data-parallel routed system: every expert in this process.
std::unique_ptr<RoutedSystem> make_router(const EvalConfig& config, const eval::ExpertPool& pool) {
  if (!pool.full.empty())
    throw ConfigError(fmt::format("--router {}: '{}' is a full fine-tune; routers route among LoRA adapters",
                                  config.router->name, pool.full.front().name));
  route::check_router_experts(pool.lora);
  const auto vectors = [&config](const eval::ExpertPool& experts, const std::string& router) {
    if (router == "arrow") return route::arrow_prototypes(experts.lora);
    std::vector<serve::ModelSource> sources;
    for (const fs::path& expert : config.experts)
      sources.push_back(serve::ModelSource::parse(expert.string()));
    return serve::read_phatgoose_gates(experts.lora, sources);
  };
  return std::make_unique<RoutedSystem>(
      config,
      SystemModels{.base = pool.base,
                   .experts = pool.lora,
                   .factors = &pool.lora,
                   .vectors = [&pool, vectors](const std::string& router) { return vectors(pool, router); }});
}

/// The system column of a routed system: the router's name, arrow_topK, NAME_topK for a
/// non-default k, NAME_parameter / NAME_output for a non-default aggregation.
std::string router_system_name(const RouterChoice& choice) {
  {
    const auto shape = router_shape(choice.name);
    const int top_k = choice.top_k > 0 ? choice.top_k : (shape ? shape->default_top_k : 0);
    if (choice.name == "arrow") return fmt::format("arrow_top{}", top_k);
    std::string name = choice.name;
    if (choice.top_k > 0 && shape && choice.top_k != shape->default_top_k)
      name += fmt::format("_top{}", top_k);
    if (choice.aggregation && shape && *choice.aggregation != shape->aggregation)
      name += *choice.aggregation == route::Aggregation::parameter ? "_parameter" : "_output";
    return name;
  }
}

std::string default_system_name(const EvalConfig& config, const eval::ExpertPool& pool) {
  if (config.router) return router_system_name(*config.router);
  if (!pool.full.empty()) return "full_" + pool.full.front().name;
  if (pool.lora.n_expert() == 1) return "lora_" + pool.lora.expert(0).name;
  return eval::expert_name(config.model);
}

/// Score every domain with the routed system's scorer for it, or with `scorer`; rows on rank 0.
std::vector<eval::EvalRow> score_domains(const EvalConfig& config, const std::string& system, int n_ctx,
                                         RoutedSystem* routed, eval::Scorer* scorer,
                                         const std::vector<std::vector<eval::Document>>& documents,
                                         const comm::Comm& comm) {
  const eval::EvalOptions options{.context = config.context > 0 ? config.context : n_ctx,
                                  .n_window_batch = config.n_window_batch,
                                  .quiet = config.quiet};
  if (options.context > n_ctx && comm.is_root())
    log::warn("--context {} is longer than the model's max_position_embeddings {}", options.context, n_ctx);
  if (routed) routed->prepare(options.context);
  std::vector<eval::EvalRow> rows;
  for (std::size_t domain_idx = 0; domain_idx < config.domains.size(); ++domain_idx) {
    eval::Scorer& domain_scorer = routed ? routed->scorer_for(config.domains[domain_idx]) : *scorer;
    const eval::DomainScore score =
        eval::score_domain(domain_scorer, config.domains[domain_idx], documents[domain_idx], options, comm);
    rows.push_back(eval::EvalRow{.system = system,
                                 .domain = score.domain,
                                 .split = score.split,
                                 .n_bytes = score.n_bytes,
                                 .bits_per_byte = score.bits_per_byte()});
  }
  return rows;
}

/// Rank 0: the table, and the CSV with --output.
void write_rows(const EvalConfig& config, const std::vector<eval::EvalRow>& rows) {
  if (!config.quiet) fmt::print("{}", eval::eval_table(rows));
  if (config.output) {
    eval::write_eval_csv(*config.output, rows);
    if (!config.quiet) fmt::print("wrote {} rows to {}\n", rows.size(), config.output->string());
  }
}

/// Systems that run expert-parallel (docs/serving.md): a single LoRA expert and every router that
/// mixes the experts' outputs (oracle, arrow, phatgoose, centroid, retrieval, cbtm, learned), on
/// LoRA experts. Routers that combine parameters (uniform_merge, lorahub, --aggregate parameter)
/// run data-parallel, every rank holding every expert.
bool runs_expert_parallel(const EvalConfig& config) {
  if (config.experts.empty()) return false;
  for (const fs::path& dir : config.experts)
    if (!serve::ModelSource::parse(dir.string()).is_lora()) return false;
  if (!config.router) return config.experts.size() == 1;
  const std::string& name = config.router->name;
  const auto shape = router_shape(name);
  // Routers that combine the experts' parameters need every expert's factors in one process.
  const route::Aggregation aggregation =
      config.router->aggregation.value_or(shape ? shape->aggregation : route::Aggregation::output);
  return shape && aggregation == route::Aggregation::output && serve::router_runs_expert_parallel(name);
}

/// Rank 0 runs the base model and the router and scores every window; the other ranks host the
/// experts and answer the exchanges. Same figures at any rank count (tests/scripts/serve_eval.sh).
int run_eval_expert_parallel(const EvalConfig& config, const comm::Comm& comm) {
  const std::string router = config.router ? config.router->name : std::string();
  std::vector<std::string> experts;
  for (const fs::path& expert : config.experts) experts.push_back(expert.string());
  serve::ParallelSystem system(comm,
                               serve::ParallelSystemSpec{.model = config.model.string(),
                                                         .experts = experts,
                                                         .router = router,
                                                         .top_k = config.router ? config.router->top_k : 0,
                                                         .placement_file = config.placement,
                                                         .serve = config.serve,
                                                         .quiet = config.quiet});
  if (!system.is_coordinator()) {
    system.serve();
    return 0;
  }
  // The coordinator: everything below fails here alone; the expert ranks are released by the
  // system's destructor and the error is reported once.
  std::vector<std::vector<eval::Document>> documents;
  for (const eval::DomainSpec& domain : config.domains) documents.push_back(eval::read_documents(domain.dir));
  model::SingleExpertHook single_expert(0);
  std::unique_ptr<RoutedSystem> routed;
  std::unique_ptr<eval::Scorer> scorer;
  if (config.router) {
    routed = std::make_unique<RoutedSystem>(
        config, SystemModels{.base = system.base(),
                             .experts = system.dispatcher(),
                             .factors = nullptr,
                             .vectors = [&system](const std::string&) { return system.router_vectors(); }});
  } else {
    scorer = std::make_unique<eval::ModelScorer>(
        system.base(), model::ForwardOptions{.hook = &single_expert, .experts = &system.dispatcher()});
  }
  const std::string name = config.system_name.value_or(
      config.router ? router_system_name(*config.router) : "lora_" + system.expert_names().front());
  const std::vector<eval::EvalRow> rows =
      score_domains(config, name, system.base().config().n_ctx, routed.get(), scorer.get(), documents,
                    comm::Comm::self());  // the coordinator scores every window
  system.stop();
  write_rows(config, rows);
  return 0;
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

  if (runs_expert_parallel(*config)) return run_eval_expert_parallel(*config, comm);
  if (config->placement && comm.is_root())
    log::warn("--placement is not used: this system runs data-parallel (docs/serving.md)");

  eval::ExpertPool pool = eval::load_expert_pool(config->model, config->experts);
  // Every domain's documents before any scoring, so a bad directory fails at once.
  std::vector<std::vector<eval::Document>> documents;
  for (const eval::DomainSpec& domain : config->domains)
    documents.push_back(eval::read_documents(domain.dir));

  model::SingleExpertHook single_expert(0);
  std::unique_ptr<RoutedSystem> routed;
  std::unique_ptr<eval::Scorer> scorer;
  if (config->router) {
    routed = make_router(*config, pool);
  } else if (!pool.full.empty()) {
    scorer = std::make_unique<eval::ModelScorer>(pool.full.front().model);
  } else if (pool.lora.n_expert() == 1) {
    scorer = std::make_unique<eval::ModelScorer>(
        pool.base, model::ForwardOptions{.hook = &single_expert, .experts = &pool.lora});
  } else {
    scorer = std::make_unique<eval::ModelScorer>(pool.base);
  }
  const std::string system = config->system_name.value_or(default_system_name(*config, pool));
  const std::vector<eval::EvalRow> rows =
      score_domains(*config, system, pool.base.config().n_ctx, routed.get(), scorer.get(), documents, comm);
  if (comm.is_root()) write_rows(*config, rows);
  return 0;
}

}  // namespace moerge::cli
