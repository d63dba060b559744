// `moerge merge RECIPE.yml OUT_DIR`: options to a plain config, the plan on every rank (agreeing on
// failure so no rank waits), then the distributed engine (include/moerge/merge/engine.hpp).
#include <fmt/chrono.h>
#include <fmt/core.h>

#include <boost/program_options.hpp>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/core/progress.hpp"
#include "moerge/core/version.hpp"
#include "moerge/io/atomic.hpp"
#include "moerge/io/h5.hpp"
#include "moerge/io/library.hpp"
#include "moerge/io/safetensors.hpp"
#include "moerge/merge/adapter_merge.hpp"
#include "moerge/merge/engine.hpp"
#include "moerge/merge/plan.hpp"
#include "moerge/merge/recipe.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

struct MergeConfig {
  fs::path recipe;
  fs::path out_dir;
  std::uint64_t memory_limit_mb = 256;
  std::uint64_t max_shard_size_mb = 5000;
  merge::NonfinitePolicy nonfinite = merge::NonfinitePolicy::error;
  bool resume = false;
  bool quiet = false;
  std::optional<fs::path> library;  // also write LIB/merges/<OUT_DIR name>.h5 and catalogue it
};

constexpr const char* kUsage =
    "merge RECIPE.yml OUT_DIR [--memory-limit MB] [--max-shard-size MB] [--nonfinite error|report] "
    "[--resume] "
    "[--library LIB] [--quiet]";

constexpr const char* kSummary =
    "Merge the models of a mergekit-style YAML recipe into the HF directory OUT_DIR (config.json, "
    "model.safetensors or shards + index, moerge_recipe.yml). Runs alone or under mpirun / srun; the output "
    "bytes "
    "are the same for any rank count. See docs/merge.md and `moerge methods`.";

std::optional<MergeConfig> parse(const std::vector<std::string>& args, int rank) {
  MergeConfig config;
  po::options_description visible("options");
  std::string nonfinite = "error";
  visible.add_options()("help,h", "show this help")("quiet,q", po::bool_switch(&config.quiet),
                                                    "no progress output, warnings and errors only")(
      "memory-limit", po::value(&config.memory_limit_mb)->default_value(256),
      "working memory per rank in MB (row chunks are sized to fit)")(
      "max-shard-size", po::value(&config.max_shard_size_mb)->default_value(5000),
      "largest output shard in MB (model-0000k-of-0000n.safetensors + index past it)")(
      "nonfinite", po::value(&nonfinite)->default_value("error"),
      "a NaN/inf in a merged tensor: error (publish nothing) or report (write and count)")(
      "resume", po::bool_switch(&config.resume), "continue a killed merge of the same recipe into OUT_DIR")(
      "library", po::value<std::string>(),
      "also store the result in the library LIB as merges/<OUT_DIR name>.h5");
  po::options_description hidden;
  hidden.add_options()("recipe", po::value<std::string>())("out", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("recipe", 1).add("out", 1);
  po::options_description all;
  all.add(visible).add(hidden);
  po::variables_map values;
  if (!parse_command_line(args, visible, all, positional, kUsage, kSummary, rank, values))
    return std::nullopt;
  if (!values.count("recipe"))
    throw ConfigError(fmt::format("RECIPE.yml is missing (usage: moerge {})", kUsage));
  if (!values.count("out")) throw ConfigError(fmt::format("OUT_DIR is missing (usage: moerge {})", kUsage));
  config.recipe = values["recipe"].as<std::string>();
  config.out_dir = values["out"].as<std::string>();
  if (values.count("library")) config.library = fs::path(values["library"].as<std::string>());
  if (nonfinite == "report")
    config.nonfinite = merge::NonfinitePolicy::report;
  else if (nonfinite != "error")
    throw ConfigError(fmt::format("--nonfinite '{}' is not one of error, report", nonfinite));
  if (config.memory_limit_mb == 0) throw ConfigError("--memory-limit must be positive (MB)");
  if (config.max_shard_size_mb == 0) throw ConfigError("--max-shard-size must be positive (MB)");
  return config;
}

/// The library object name of a merge into `out_dir`: its basename.
std::string object_name(const fs::path& out_dir) {
  return (out_dir.filename().empty() ? out_dir.parent_path() : out_dir).filename().string();
}

/// Before any work: the library opens, the name is free and valid, and every merged tensor has the
/// library base's shape.
void check_library_target(const fs::path& library_dir, const fs::path& out_dir,
                          const merge::MergePlan& plan) {
  const auto library = io::Library::open(library_dir, true);
  const std::string name = object_name(out_dir);
  io::check_object_name(name);
  if (library.find(name))
    throw ConfigError(fmt::format("{}: already holds an object named '{}' (the name of OUT_DIR {})",
                                  library_dir.string(), name, out_dir.string()));
  const auto shapes = library.base_shapes();
  std::vector<std::string> problems;
  for (const auto& task : plan.tensors) {
    const auto found = shapes.find(task.name);
    if (found == shapes.end())
      problems.push_back(fmt::format("tensor '{}' is not in the library's base", task.name));
    else if (found->second != task.shape)
      problems.push_back(fmt::format("tensor '{}' has another shape in the library's base", task.name));
  }
  if (!problems.empty()) {
    std::string text = fmt::format("{}: the merge does not fit the library's base:", library_dir.string());
    for (const auto& problem : problems) text += "\n  " + problem;
    throw InputError(text);
  }
}

/// Store the published merge in OUT_DIR as LIB/merges/<name>.h5 (written to a temporary, then
/// renamed) and catalogue it. Rank 0 only.
void store_in_library(const fs::path& library_dir, const fs::path& out_dir, const merge::MergePlan& plan) {
  auto library = io::Library::open(library_dir, true);
  const std::string name = object_name(out_dir);
  const fs::path target = library_dir / "merges" / (name + ".h5");
  fs::create_directories(target.parent_path());
  {
    io::AtomicPath atomic(target);
    const io::TensorSet set = io::TensorSet::open_dir(out_dir);
    auto file = io::h5::create_file(atomic.temp());
    io::h5::write_attr(file, "moerge_format", io::kLibraryFormat);
    io::h5::write_attr(file, "moerge_version", kVersion);
    io::h5::write_attr(file, "name", name);
    io::h5::write_attr(file, "kind", io::kind_name(io::ObjectKind::merge));
    io::h5::write_attr(file, "tags", "{}");
    io::h5::write_attr(file, "source", fs::absolute(out_dir).lexically_normal().string());
    io::h5::write_attr(file, "created",
                       fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr))));
    io::h5::write_attr(file, "config", plan.config_text);
    io::h5::write_attr(file, "recipe", plan.recipe.text);
    io::h5::write_attr(file, "merge_method", plan.recipe.info().name);
    auto params = io::h5::create_group(file, "/params");
    io::h5::write_attr(params, "safetensors_metadata", R"({"format": "pt"})");
    params.close();
    for (const auto& key : set.names()) {
      const TensorView view = set.view(key);
      auto dataset = io::h5::write_dataset(file, "/params/" + key, view.dtype, view.shape, view.data);
      io::h5::write_attr(dataset, "key", key);
      dataset.close();
      set.release(key);
    }
    file.close();
    io::fsync_path(atomic.temp());
    atomic.commit();
  }
  const auto entry = library.register_object(name, io::ObjectKind::merge, {},
                                             fs::absolute(out_dir).lexically_normal().string());
  log::info("stored the merge in {} as {} ({})", library_dir.string(), entry.file,
            progress::format_bytes(static_cast<double>(entry.size)));
}

/// The recipe when its method merges LoRA adapters into one (lora_cat, lora_svd); nullopt
/// otherwise or when it does not parse (the plan path reports that).
std::optional<merge::Recipe> adapter_merge_recipe(const fs::path& recipe_file) {
  std::optional<merge::Recipe> recipe;
  try {
    recipe = merge::parse_recipe(recipe_file);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!merge::is_adapter_method(recipe->method)) return std::nullopt;
  return recipe;
}

/// lora_cat / lora_svd: a PEFT adapter out, written by rank 0 (adapters are small).
int run_adapter(const MergeConfig& config, const merge::Recipe& recipe, const comm::Comm& comm) {
  const std::string name(recipe.info().name);
  if (config.library)
    throw ConfigError(
        fmt::format("--library: {} writes a PEFT adapter; import it with `moerge library import {} {}`", name,
                    config.library->string(), config.out_dir.string()));
  if (config.resume && comm.is_root())
    log::info("--resume: {} is written in one step; nothing to resume", name);
  try {
    const auto summary = merge::run_adapter_merge(recipe, config.out_dir, comm);
    if (comm.is_root() && !config.quiet)
      fmt::print("merged {} adapters with {} on {} rank{} into {}: {} modules, rank up to {}, {:.2f} s\n",
                 recipe.models.size(), name, comm.size(), comm.size() == 1 ? "" : "s",
                 config.out_dir.string(), summary.n_module, summary.rank_max, summary.seconds);
  } catch (const io::AgreedError& error) {
    if (comm.is_root()) fmt::print(stderr, "moerge merge: error: {}\n", error.what());
    return 1;
  }
  return 0;
}

}  // namespace

int run_merge(const std::vector<std::string>& args) {
  const comm::Comm comm = comm::Comm::world();
  const auto config = parse(args, comm.rank());
  if (!config) return 0;
  if (config->quiet) spdlog::default_logger()->set_level(spdlog::level::warn);

  if (auto adapter_recipe = adapter_merge_recipe(config->recipe))
    return run_adapter(*config, *adapter_recipe, comm);

  // Plan on every rank (each maps the inputs); a failure anywhere stops every rank together.
  std::optional<merge::MergePlan> plan;
  std::string error;
  int code = 0;
  try {
    auto recipe = merge::parse_recipe(config->recipe);
    plan = merge::make_plan(std::move(recipe), config->max_shard_size_mb << 20);
    std::error_code exists_error;
    if (fs::exists(config->out_dir, exists_error))
      throw ConfigError(fmt::format("{}: already exists (refusing to overwrite)", config->out_dir.string()));
    if (config->library) check_library_target(*config->library, config->out_dir, *plan);
    const fs::path partial = merge::partial_dir(config->out_dir);
    if (!config->resume && fs::exists(partial, exists_error))
      throw ConfigError(
          fmt::format("{}: a partial merge into {} is there (interrupted, or still running); rerun with "
                      "--resume to continue it, or remove it to start afresh",
                      partial.string(), config->out_dir.string()));
  } catch (const ConfigError& caught) {
    error = caught.what();
    code = 2;
  } catch (const Error& caught) {
    error = caught.what();
    code = 1;
  }
  if (comm.size() == 1 && code == 2) throw ConfigError(error);
  if (comm.size() == 1 && code == 1) throw InputError(error);
  if (comm.any(code != 0)) {
    const auto messages = comm.allgather(error);
    code = comm.allreduce(code, comm::Op::max);
    if (comm.is_root()) {
      std::string text;
      for (const auto& message : messages)
        if (!message.empty() && text.find(message) == std::string::npos)
          text += (text.empty() ? "" : "\n") + message;
      fmt::print(stderr, "moerge merge: error: {}\n", text);
    }
    return code;
  }
  if (comm.is_root())
    for (const auto& note : plan->recipe.notes) log::warn("{}", note);

  merge::EngineOptions options;
  options.memory_limit_bytes = config->memory_limit_mb << 20;
  options.nonfinite = config->nonfinite;
  options.resume = config->resume;
  options.quiet = config->quiet;
  const auto summary = merge::run_merge(*plan, config->out_dir, options, comm);
  if (comm.is_root() && !config->quiet) {
    fmt::print(
        "merged {} tensors ({}{}) with {} on {} rank{} into {}: {} read in {:.2f} s ({}/s)\n",
        summary.n_tensor, progress::format_bytes(static_cast<double>(summary.n_byte_out)),
        summary.n_tensor_resumed ? fmt::format(", {} resumed", summary.n_tensor_resumed) : "",
        plan->recipe.info().name, comm.size(), comm.size() == 1 ? "" : "s", config->out_dir.string(),
        progress::format_bytes(static_cast<double>(summary.n_byte_in)), summary.seconds,
        progress::format_bytes(static_cast<double>(summary.n_byte_in) / std::max(summary.seconds, 1e-9)));
  }
  if (comm.is_root() && config->library) store_in_library(*config->library, config->out_dir, *plan);
  if (comm.is_root() && summary.n_nonfinite > 0)
    log::warn("{} non-finite values were written (--nonfinite report)", summary.n_nonfinite);
  return 0;
}

}  // namespace moerge::cli
