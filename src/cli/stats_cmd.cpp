// `moerge stats LIB`: the routers' offline statistics of library experts (Arrow prototypes,
// PHATGOOSE gates, centroids, sequence embeddings, RegMean Gram matrices) computed and stored in
// each expert's file (docs/routing.md "Statistics", docs/library.md). Under mpirun the experts are
// split over the ranks; each rank rewrites its experts' files, rank 0 the index.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/core/progress.hpp"
#include "moerge/eval/bpb.hpp"
#include "moerge/io/library.hpp"
#include "moerge/model/library_load.hpp"
#include "moerge/route/stats.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

using route::StatsKind;

struct StatsConfig {
  fs::path library;
  std::vector<std::string> experts;       // empty: every expert of the library
  std::vector<StatsKind> kinds;           // empty: the defaults (see kUsage)
  std::map<std::string, fs::path> data;   // --data NAME=DIR
  std::map<std::string, fs::path> gates;  // --phatgoose-gates NAME=FILE
  std::optional<int> context;             // bytes per window; default the base's n_ctx
  int n_window_batch = 16;
  bool quiet = false;
};

constexpr const char* kUsage =
    "stats LIB [--expert NAME]... [--kind arrow|phatgoose|centroid|embedding|gram]... [--data NAME=DIR]... "
    "[--phatgoose-gates NAME=FILE]... [--context N] [--batch N] [--quiet]";

constexpr const char* kSummary =
    "Compute the routers' statistics of the experts of the library LIB (default: every expert) and store "
    "them in each expert's file under /stats/<kind>: arrow (top right singular vector and sigma^2 of s B A "
    "per LoRA module), phatgoose (gates from --phatgoose-gates NAME=FILE; without it, the gates imported "
    "with the adapter are checked), centroid (mean input of every linear module), embedding (mean final "
    "hidden state of the base) and gram (X^T X / n of every linear module's input) from a sample of the "
    "expert's data given by --data NAME=DIR (every file under DIR is a document). Without --kind: arrow "
    "for LoRA experts, phatgoose where --phatgoose-gates names a file, centroid, embedding and gram where "
    "--data names a sample. Each file is rewritten atomically and the index updated; other statistics are "
    "kept. Under mpirun the experts are split over the ranks.";

/// "NAME=VALUE" items of `flag` as a map; ConfigError naming the item when malformed or repeated.
std::map<std::string, fs::path> parse_pairs(const std::vector<std::string>& items, std::string_view flag) {
  std::map<std::string, fs::path> out;
  for (const auto& item : items) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == item.size())
      throw ConfigError(fmt::format("stats: {} '{}' is not NAME={} (both non-empty)", flag, item,
                                    flag == "--data" ? "DIR" : "FILE"));
    const std::string name = item.substr(0, equals);
    if (out.contains(name)) throw ConfigError(fmt::format("stats: {} names expert '{}' twice", flag, name));
    out[name] = fs::path(item.substr(equals + 1));
  }
  return out;
}

std::optional<StatsConfig> parse_config(const std::vector<std::string>& args, int rank) {
  StatsConfig config;
  std::vector<std::string> kinds, data, gates;
  po::options_description visible("options");
  visible.add_options()("help,h", "show this help")("quiet,q",
                                                    "no progress output, warnings and errors only")(
      "expert", po::value<std::vector<std::string>>(&config.experts),
      "an expert of LIB (repeatable; default: every expert)")(
      "kind", po::value<std::vector<std::string>>(&kinds),
      "arrow, phatgoose, centroid, embedding or gram (repeatable; default: see above)")(
      "data", po::value<std::vector<std::string>>(&data),
      "NAME=DIR: a sample of expert NAME's data (repeatable)")(
      "phatgoose-gates", po::value<std::vector<std::string>>(&gates),
      "NAME=FILE: PHATGOOSE gates of expert NAME (safetensors, keys base_model.model.<module>.gate)")(
      "context", po::value<int>(), "window length in bytes (default: the base's max_position_embeddings)")(
      "batch", po::value(&config.n_window_batch)->default_value(16), "windows per forward pass");
  po::options_description hidden;
  hidden.add_options()("library", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("library", 1);
  po::options_description all;
  all.add(visible).add(hidden);
  po::variables_map values;
  if (!parse_command_line(args, visible, all, positional, kUsage, kSummary, rank, values, "stats: "))
    return std::nullopt;
  if (!values.count("library"))
    throw ConfigError(fmt::format("stats: LIB is missing (usage: moerge {})", kUsage));
  config.library = values["library"].as<std::string>();
  config.quiet = values.count("quiet") > 0;
  for (const auto& text : kinds) {
    const auto kind = route::stats_kind_from_name(text);
    if (!kind)
      throw ConfigError(
          fmt::format("stats: --kind '{}' is not one of arrow, phatgoose, centroid, embedding, gram", text));
    if (std::find(config.kinds.begin(), config.kinds.end(), *kind) == config.kinds.end())
      config.kinds.push_back(*kind);
  }
  for (std::size_t expert_idx = 0; expert_idx < config.experts.size(); ++expert_idx)
    if (std::find(config.experts.begin(), config.experts.begin() + static_cast<std::ptrdiff_t>(expert_idx),
                  config.experts[expert_idx]) !=
        config.experts.begin() + static_cast<std::ptrdiff_t>(expert_idx))
      throw ConfigError(fmt::format("stats: --expert '{}' is given twice", config.experts[expert_idx]));
  config.data = parse_pairs(data, "--data");
  config.gates = parse_pairs(gates, "--phatgoose-gates");
  if (values.count("context")) {
    config.context = values["context"].as<int>();
    if (*config.context <= 0)
      throw ConfigError(
          fmt::format("stats: --context {} must be a positive number of bytes", *config.context));
  }
  if (config.n_window_batch <= 0)
    throw ConfigError(
        fmt::format("stats: --batch {} must be a positive number of windows", config.n_window_batch));
  return config;
}

/// What to compute for one expert.
struct Job {
  std::string name;
  io::ObjectKind kind = io::ObjectKind::lora;
  std::vector<StatsKind> kinds;
};

bool has_kind(const std::vector<StatsKind>& kinds, StatsKind kind) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

bool needs_sample(StatsKind kind) {
  return kind == StatsKind::centroid || kind == StatsKind::embedding || kind == StatsKind::gram;
}

/// The jobs of the command line, checked against the library before any work: every expert
/// exists and is a LoRA or full expert, LoRA-only kinds are asked of LoRA experts, every sample
/// kind has its --data, and --data / --phatgoose-gates name experts that are processed.
std::vector<Job> plan_jobs(const io::Library& library, const StatsConfig& config) {
  std::vector<std::string> names = config.experts;
  if (names.empty())
    for (const auto& entry : library.catalogue())
      if (entry.kind == io::ObjectKind::lora || entry.kind == io::ObjectKind::full)
        names.push_back(entry.name);
  if (names.empty()) throw InputError(fmt::format("{}: the library holds no expert", library.dir().string()));
  std::vector<Job> jobs;
  for (const auto& name : names) {
    const io::CatalogueEntry& entry = library.entry(name);
    if (entry.kind != io::ObjectKind::lora && entry.kind != io::ObjectKind::full)
      throw InputError(
          fmt::format("{}: '{}' is a {} object; statistics are computed for experts (lora, full)",
                      library.dir().string(), name, io::kind_name(entry.kind)));
    Job job{.name = name, .kind = entry.kind, .kinds = config.kinds};
    const bool lora = entry.kind == io::ObjectKind::lora;
    if (job.kinds.empty()) {
      if (lora) job.kinds.push_back(StatsKind::arrow);
      if (lora && config.gates.contains(name)) job.kinds.push_back(StatsKind::phatgoose);
      if (config.data.contains(name))
        for (const StatsKind kind : {StatsKind::centroid, StatsKind::embedding, StatsKind::gram})
          job.kinds.push_back(kind);
      if (job.kinds.empty())
        throw InputError(
            fmt::format("expert '{}' is a full fine-tune: its statistics (centroid, embedding, gram) need a "
                        "sample of its "
                        "data: give --data {}=DIR",
                        name, name));
    }
    for (const StatsKind kind : job.kinds) {
      if (!lora && (kind == StatsKind::arrow || kind == StatsKind::phatgoose))
        throw InputError(fmt::format("expert '{}' is a full fine-tune: {} statistics need LoRA factors", name,
                                     route::stats_kind_name(kind)));
      if (needs_sample(kind) && !config.data.contains(name))
        throw InputError(fmt::format("expert '{}': --kind {} needs a sample of its data: give --data {}=DIR",
                                     name, route::stats_kind_name(kind), name));
    }
    jobs.push_back(std::move(job));
  }
  // Paths are checked before any work, so that a typo does not surface after the other experts' passes.
  for (const auto& [name, dir] : config.data) {
    std::error_code error;
    if (!fs::exists(dir, error))
      throw InputError(fmt::format("--data {}={}: {} does not exist (a directory of text files, or one file)",
                                   name, dir.string(), dir.string()));
  }
  for (const auto& [name, file] : config.gates) {
    std::error_code error;
    if (!fs::is_regular_file(file, error))
      throw InputError(fmt::format("--phatgoose-gates {}={}: {} is not a file (a safetensors file of gates)",
                                   name, file.string(), file.string()));
  }
  for (const auto* pairs : {&config.data, &config.gates})
    for (const auto& [name, path] : *pairs) {
      const auto found =
          std::find_if(jobs.begin(), jobs.end(), [&](const Job& job) { return job.name == name; });
      const bool used =
          found != jobs.end() &&
          (pairs == &config.data ? std::any_of(found->kinds.begin(), found->kinds.end(), needs_sample)
                                 : has_kind(found->kinds, StatsKind::phatgoose));
      if (!used)
        throw ConfigError(fmt::format("stats: {} {}={}: expert '{}' gets no {} statistics in this run",
                                      pairs == &config.data ? "--data" : "--phatgoose-gates", name,
                                      path.string(), name,
                                      pairs == &config.data ? "centroid, embedding or gram" : "phatgoose"));
    }
  return jobs;
}

std::string now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

int run(const StatsConfig& config, const comm::Comm& comm) {
  std::optional<io::Library> library;
  std::vector<Job> jobs;
  io::run_agreed(comm, [&] {
    library = io::Library::open(config.library, config.quiet);
    jobs = plan_jobs(*library, config);
  });
  std::vector<std::size_t> mine;
  for (std::size_t job_idx = 0; job_idx < jobs.size(); ++job_idx)
    if (static_cast<int>(job_idx % static_cast<std::size_t>(comm.size())) == comm.rank())
      mine.push_back(job_idx);
  std::vector<io::StatsUpdate> updates;
  std::vector<std::string> summaries;
  io::run_agreed(comm, [&] {
    if (mine.empty()) return;
    const model::LlamaModel base = model::load_library_model(*library, "base");
    progress::Progress progress("stats", "experts", mine.size(), 0,
                                progress::options_for(config.quiet, comm.rank()));
    const std::string created = now_iso8601();
    for (const std::size_t job_idx : mine) {
      const Job& job = jobs[job_idx];
      route::StatsRequest request{.name = job.name,
                                  .kinds = job.kinds,
                                  .data = std::nullopt,
                                  .gates_file = std::nullopt,
                                  .context = config.context.value_or(0),
                                  .n_window_batch = config.n_window_batch,
                                  .created = created};
      if (const auto found = config.data.find(job.name); found != config.data.end())
        request.data = found->second;
      if (const auto found = config.gates.find(job.name); found != config.gates.end())
        request.gates_file = found->second;
      summaries.emplace_back();
      updates.push_back(route::compute_library_stats(*library, base, request, summaries.back()));
      progress.advance(1);
    }
    progress.finish();
  });
  const auto changed = io::store_stats(*library, updates, comm);
  std::string mine_text;
  for (const auto& line : summaries) mine_text += line + "\n";
  const auto all = comm.allgather(mine_text);
  if (comm.is_root() && !config.quiet) {
    for (const auto& text : all) fmt::print("{}", text);
    fmt::print("stored statistics of {} expert{} in {} ({} file{} rewritten)\n", jobs.size(),
               jobs.size() == 1 ? "" : "s", library->dir().string(), changed.size(),
               changed.size() == 1 ? "" : "s");
  }
  return 0;
}

}  // namespace

int run_stats(const std::vector<std::string>& args) {
  const auto comm = comm::Comm::world();
  try {
    const auto config = parse_config(args, comm.rank());
    if (!config) return 0;
    if (config->quiet) spdlog::default_logger()->set_level(spdlog::level::warn);
    return run(*config, comm);
  } catch (const ConfigError& error) {
    // Flags are parsed the same on every rank: each rank returns, rank 0 says why.
    if (comm.is_root()) fmt::print(stderr, "moerge stats: error: {}\n", error.what());
    return 2;
  } catch (const io::AgreedError& error) {
    if (comm.is_root()) fmt::print(stderr, "moerge stats: error: {}\n", error.what());
    return 1;
  }
}

}  // namespace moerge::cli
