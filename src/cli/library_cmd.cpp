// `moerge library init|import|list|show|verify|export|rm`: options to plain config structs, then
// the library (include/moerge/io/library.hpp). Works alone or under mpirun: import and verify split
// their work over the ranks, the other subcommands run on rank 0 while the others wait.
#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/core/progress.hpp"
#include "moerge/io/library.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace moerge::cli {

namespace {

struct InitConfig {
  fs::path library;
  fs::path base;
  std::vector<std::string> tags;
  bool force = false;
  bool quiet = false;
};

struct ImportConfig {
  fs::path library;
  std::vector<fs::path> dirs;
  std::optional<std::string> name;
  std::vector<std::string> tags;
  bool replace = false;
  bool quiet = false;
};

struct ListConfig {
  fs::path library;
  std::optional<io::ObjectKind> kind;
  bool quiet = false;
};

struct ObjectConfig {  // show, rm
  fs::path library;
  std::string name;
  bool quiet = false;
};

struct VerifyConfig {
  fs::path library;
  std::vector<std::string> names;
  bool quiet = false;
};

struct ExportConfig {
  fs::path library;
  std::string name;
  fs::path out_dir;
  bool quiet = false;
};

constexpr const char* kOverview =
    "usage: moerge library <subcommand> [options]   (moerge library <subcommand> --help)\n\n"
    "subcommands:\n"
    "  init LIB --base HF_DIR [--tag KEY=VALUE]... [--force]     create a library around a base model\n"
    "  import LIB DIR... [--name NAME] [--tag KEY=VALUE]... [--replace]\n"
    "                                                            add PEFT adapters / HF full fine-tunes\n"
    "  list LIB [--kind base|lora|full|merge]                    one line per object\n"
    "  show LIB NAME                                             attributes and datasets of an object\n"
    "  verify LIB [NAME...]                                      recompute every checksum and SHA-256\n"
    "  export LIB NAME OUT_DIR                                   write an object back as HF / PEFT files\n"
    "  rm LIB NAME                                               remove an object\n\n"
    "Every subcommand takes --quiet (no progress, warnings only) and --help.\n"
    "Under mpirun, import and verify split their work over the ranks.\n";

/// `text` broken into lines of at most `width` characters at spaces.
std::string wrap(std::string_view text, std::size_t width = 100) {
  std::string out, line;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    const std::string_view word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + std::string(word);
    start = end + 1;
  }
  return out + line;
}

/// One subcommand's parser: visible options, positional words, usage line.
struct Parser {
  std::string subcommand;
  std::string usage;
  std::string summary;
  po::options_description visible{"options"};
  po::options_description hidden;
  po::positional_options_description positional;

  Parser(std::string sub, std::string usage_line, std::string what)
      : subcommand(std::move(sub)), usage(std::move(usage_line)), summary(std::move(what)) {
    visible.add_options()("help,h", "show this help")("quiet,q",
                                                      "no progress output, warnings and errors only");
  }

  /// Parse; nullopt when --help was asked (and printed on rank 0).
  std::optional<po::variables_map> parse(const std::vector<std::string>& args, int rank) const {
    po::options_description all;
    all.add(visible).add(hidden);
    po::variables_map values;
    try {
      po::store(po::command_line_parser(args).options(all).positional(positional).run(), values);
      if (values.count("help")) {
        if (rank == 0) {
          std::ostringstream text;
          text << visible;
          fmt::print("usage: moerge library {}\n\n{}\n\n{}", usage, wrap(summary), text.str());
        }
        return std::nullopt;
      }
      po::notify(values);
    } catch (const po::error& error) {
      throw ConfigError(
          fmt::format("library {}: {} (usage: moerge library {})", subcommand, error.what(), usage));
    }
    return values;
  }

  [[noreturn]] void missing(std::string_view what) const {
    throw ConfigError(
        fmt::format("library {}: {} is missing (usage: moerge library {})", subcommand, what, usage));
  }
};

/// --tag values, a bad one being a usage error.
io::Tags parse_tag_flags(const std::vector<std::string>& items, std::string_view subcommand) {
  try {
    return io::parse_tags(items);
  } catch (const InputError& error) {
    throw ConfigError(fmt::format("library {}: --tag: {}", subcommand, error.what()));
  }
}

void apply_quiet(bool quiet) {
  if (quiet) spdlog::default_logger()->set_level(spdlog::level::warn);
}

/// Run `work` on rank 0 only; the others wait for its exit code. Errors are printed by rank 0.
int on_root(const comm::Comm& comm, const std::function<int()>& work) {
  int code = 0;
  if (comm.is_root()) {
    try {
      code = work();
    } catch (const ConfigError& error) {
      fmt::print(stderr, "moerge library: error: {}\n", error.what());
      code = 2;
    } catch (const std::exception& error) {
      if (comm.size() == 1) throw;
      fmt::print(stderr, "moerge library: error: {}\n", error.what());
      code = 1;
    }
  }
  if (comm.size() > 1) comm.bcast(std::span(&code, 1), 0);
  return code;
}

std::string format_count(std::uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.1f}B", static_cast<double>(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", static_cast<double>(n) / 1e3);
  return std::to_string(n);
}

std::string format_tags(const io::Tags& tags) {
  if (tags.empty()) return "-";
  std::string out;
  for (const auto& [key, value] : tags) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

std::string format_shape(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t dim = 0; dim < shape.size(); ++dim) out += (dim ? ", " : "") + std::to_string(shape[dim]);
  return out + "]";
}

/// Print rows as left-aligned columns separated by two spaces.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t col = 0; col < row.size(); ++col) widths[col] = std::max(widths[col], row[col].size());
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t col = 0; col < row.size(); ++col)
      line += col + 1 == row.size() ? row[col] : fmt::format("{:<{}}  ", row[col], widths[col]);
    fmt::print("{}\n", line);
  }
}

/// One attribute value on one line: JSON compacted, long values cut.
std::string attr_for_display(const std::string& value) {
  std::string text = value;
  if (text.find('\n') != std::string::npos) {
    try {
      text = nlohmann::json::parse(text).dump();
    } catch (const nlohmann::json::exception&) {
      std::replace(text.begin(), text.end(), '\n', ' ');
    }
  }
  constexpr std::size_t kMax = 160;
  if (text.size() > kMax) text = text.substr(0, kMax) + fmt::format("... ({} bytes)", value.size());
  return text;
}

// --- subcommands ---------------------------------------------------------------------------------

int run_init(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "init", "init LIB --base HF_DIR [--tag KEY=VALUE]... [--force] [--quiet]",
      "Create the library directory LIB holding the base model HF_DIR (config.json + model.safetensors or "
      "shards) as base.h5, and its index library.h5.");
  InitConfig config;
  parser.visible.add_options()("base", po::value<std::string>(),
                               "HF model directory of the base model (required)")(
      "tag", po::value<std::vector<std::string>>(&config.tags), "KEY=VALUE tag of the base (repeatable)")(
      "force", po::bool_switch(&config.force), "replace an existing non-empty LIB");
  parser.hidden.add_options()("library", po::value<std::string>());
  parser.positional.add("library", 1);
  const auto values = parser.parse(args, comm.rank());
  if (!values) return 0;
  if (!values->count("library")) parser.missing("LIB");
  if (!values->count("base")) parser.missing("--base HF_DIR");
  config.library = (*values)["library"].as<std::string>();
  config.base = (*values)["base"].as<std::string>();
  config.quiet = values->count("quiet") > 0;
  apply_quiet(config.quiet);
  io::ImportOptions options;
  options.tags = parse_tag_flags(config.tags, "init");
  return on_root(comm, [&] {
    const auto library =
        io::Library::create(config.library, config.base, options, config.force, config.quiet);
    if (!config.quiet)
      fmt::print("created {} (base from {})\n", library.dir().string(), library.entry("base").source);
    return 0;
  });
}

int run_import(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "import", "import LIB DIR... [--name NAME] [--tag KEY=VALUE]... [--replace] [--quiet]",
      "Import PEFT LoRA adapter directories (adapter_config.json + adapter_model.safetensors) and HF full "
      "fine-tune directories (config.json + model.safetensors) as experts, with their statistics files "
      "(phatgoose_gates.safetensors, fisher.safetensors). Each is checked against the base before anything "
      "is written. Under mpirun the directories are split over the ranks.");
  ImportConfig config;
  parser.visible.add_options()("name", po::value<std::string>(),
                               "object name (default: the directory's name; one DIR only)")(
      "tag", po::value<std::vector<std::string>>(&config.tags), "KEY=VALUE tag (repeatable)")(
      "replace", po::bool_switch(&config.replace), "replace objects of the same name");
  parser.hidden.add_options()("library", po::value<std::string>())("dirs",
                                                                   po::value<std::vector<std::string>>());
  parser.positional.add("library", 1).add("dirs", -1);
  const auto values = parser.parse(args, comm.rank());
  if (!values) return 0;
  if (!values->count("library")) parser.missing("LIB");
  if (!values->count("dirs")) parser.missing("DIR");
  config.library = (*values)["library"].as<std::string>();
  for (const auto& dir : (*values)["dirs"].as<std::vector<std::string>>()) config.dirs.emplace_back(dir);
  if (values->count("name")) config.name = (*values)["name"].as<std::string>();
  if (config.name && config.dirs.size() != 1)
    throw ConfigError(
        fmt::format("library import: --name needs exactly one DIR (got {})", config.dirs.size()));
  if (config.name) {
    try {
      io::check_object_name(*config.name);
    } catch (const InputError& error) {
      throw ConfigError(fmt::format("library import: --name: {}", error.what()));
    }
  }
  config.quiet = values->count("quiet") > 0;
  apply_quiet(config.quiet);

  io::ImportOptions options;
  options.name = config.name;
  options.replace = config.replace;
  options.tags = parse_tag_flags(config.tags, "import");
  std::optional<io::Library> library;
  io::run_agreed(comm, [&] { library = io::Library::open(config.library, config.quiet); });
  const auto added = library->import_experts(config.dirs, options, comm);
  if (comm.is_root() && !config.quiet)
    for (const auto& entry : added)
      fmt::print("imported {} '{}' from {} ({}, {} parameters{})\n", io::kind_name(entry.kind), entry.name,
                 entry.source, entry.dtypes, format_count(entry.n_param),
                 entry.r > 0 ? fmt::format(", r={}", entry.r) : "");
  return 0;
}

int run_list(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "list", "list LIB [--kind base|lora|full|merge] [--quiet]",
      "One line per object: name, kind, rank (LoRA) or parameter count, dtypes, file size, tags, creation "
      "time (UTC).");
  ListConfig config;
  parser.visible.add_options()("kind", po::value<std::string>(), "only objects of this kind");
  parser.hidden.add_options()("library", po::value<std::string>());
  parser.positional.add("library", 1);
  const auto values = parser.parse(args, comm.rank());
  if (!values) return 0;
  if (!values->count("library")) parser.missing("LIB");
  config.library = (*values)["library"].as<std::string>();
  if (values->count("kind")) {
    const std::string kind = (*values)["kind"].as<std::string>();
    config.kind = io::kind_from_name(kind);
    if (!config.kind)
      throw ConfigError(fmt::format("library list: --kind '{}' is not one of base, lora, full, merge", kind));
  }
  config.quiet = values->count("quiet") > 0;
  apply_quiet(config.quiet);
  return on_root(comm, [&] {
    const auto library = io::Library::open(config.library, config.quiet);
    std::vector<std::vector<std::string>> rows{
        {"name", "kind", "rank/params", "dtype", "size", "tags", "created"}};
    for (const auto& entry : library.catalogue()) {
      if (config.kind && entry.kind != *config.kind) continue;
      rows.push_back(
          {entry.name, std::string(io::kind_name(entry.kind)),
           entry.kind == io::ObjectKind::lora ? fmt::format("r={}", entry.r) : format_count(entry.n_param),
           entry.dtypes, progress::format_bytes(static_cast<double>(entry.size)), format_tags(entry.tags),
           entry.created});
    }
    print_table(rows);
    return 0;
  });
}

/// The `LIB NAME [--quiet]` arguments of show and rm; nullopt when --help was answered.
std::optional<ObjectConfig> parse_library_and_name(Parser& parser, const std::vector<std::string>& args,
                                                   const comm::Comm& comm) {
  ObjectConfig config;
  parser.hidden.add_options()("library", po::value<std::string>())("name", po::value<std::string>());
  parser.positional.add("library", 1).add("name", 1);
  const auto values = parser.parse(args, comm.rank());
  if (!values) return std::nullopt;
  if (!values->count("library")) parser.missing("LIB");
  if (!values->count("name")) parser.missing("NAME");
  config.library = (*values)["library"].as<std::string>();
  config.name = (*values)["name"].as<std::string>();
  config.quiet = values->count("quiet") > 0;
  apply_quiet(config.quiet);
  return config;
}

int run_show(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "show", "show LIB NAME [--quiet]",
      "The catalogue entry, root attributes and datasets (path, dtype, shape, checksum) of one object "
      "(NAME 'base' is the base model).");
  const auto parsed = parse_library_and_name(parser, args, comm);
  if (!parsed) return 0;
  const ObjectConfig& config = *parsed;
  return on_root(comm, [&] {
    const auto library = io::Library::open(config.library, config.quiet);
    const auto description = library.describe(config.name);
    const auto& entry = description.entry;
    fmt::print("{} ({})\n", entry.name, io::kind_name(entry.kind));
    print_table({{"  file", (library.dir() / entry.file).string()},
                 {"  size", fmt::format("{} ({} bytes)",
                                        progress::format_bytes(static_cast<double>(entry.size)), entry.size)},
                 {"  sha256", entry.sha256},
                 {"  created", entry.created},
                 {"  source", entry.source},
                 {"  tags", format_tags(entry.tags)}});
    fmt::print("attributes:\n");
    std::vector<std::vector<std::string>> attrs;
    for (const auto& [key, value] : description.attrs) attrs.push_back({"  " + key, attr_for_display(value)});
    print_table(attrs);
    fmt::print("datasets ({}):\n", description.datasets.size());
    std::vector<std::vector<std::string>> rows{{"  path", "dtype", "shape", "checksum"}};
    for (const auto& dataset : description.datasets)
      rows.push_back({"  " + dataset.path, std::string(dtype_name(dataset.dtype)),
                      format_shape(dataset.shape), dataset.checksum});
    print_table(rows);
    return 0;
  });
}

int run_verify(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "verify", "verify LIB [NAME...] [--quiet]",
      "Check every object (or the NAMEs): file size and SHA-256 as the index records them, the moerge "
      "format attributes, and every dataset's XXH3 checksum. Prints each mismatch (file, dataset, expected, "
      "actual) and exits 1 when there is any. Under mpirun the objects are split over the ranks.");
  VerifyConfig config;
  parser.hidden.add_options()("library", po::value<std::string>())("names",
                                                                   po::value<std::vector<std::string>>());
  parser.positional.add("library", 1).add("names", -1);
  const auto values = parser.parse(args, comm.rank());
  if (!values) return 0;
  if (!values->count("library")) parser.missing("LIB");
  config.library = (*values)["library"].as<std::string>();
  if (values->count("names")) config.names = (*values)["names"].as<std::vector<std::string>>();
  config.quiet = values->count("quiet") > 0;
  apply_quiet(config.quiet);
  std::optional<io::Library> library;
  io::run_agreed(comm, [&] { library = io::Library::open(config.library, config.quiet); });
  const auto report = library->verify(config.names, comm);
  if (comm.is_root()) {
    for (const auto& problem : report.problems)
      fmt::print("MISMATCH {}{}: {}: expected {}, actual {}\n", problem.file,
                 problem.dataset.empty() ? "" : ":" + problem.dataset, problem.what, problem.expected,
                 problem.actual);
    if (report.ok()) {
      if (!config.quiet)
        fmt::print("verified {} objects, {} datasets: all match\n", report.n_object, report.n_dataset);
    } else {
      fmt::print("verify FAILED: {} mismatches in {} objects, {} datasets\n", report.problems.size(),
                 report.n_object, report.n_dataset);
    }
  }
  return report.ok() ? 0 : 1;
}

int run_export(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "export", "export LIB NAME OUT_DIR [--quiet]",
      "Write an object back as files: a LoRA as a PEFT directory (adapter_config.json verbatim + "
      "adapter_model.safetensors), a base, full fine-tune or merge as a HF directory (config.json verbatim + "
      "model.safetensors, sharded past 5 GB), with its statistics files, original tensor names and bytes. "
      "OUT_DIR must not exist or be empty; it appears atomically.");
  ExportConfig config;
  parser.hidden.add_options()("library", po::value<std::string>())("name", po::value<std::string>())(
      "out", po::value<std::string>());
  parser.positional.add("library", 1).add("name", 1).add("out", 1);
  const auto values = parser.parse(args, comm.rank());
  if (!values) return 0;
  if (!values->count("library")) parser.missing("LIB");
  if (!values->count("name")) parser.missing("NAME");
  if (!values->count("out")) parser.missing("OUT_DIR");
  config.library = (*values)["library"].as<std::string>();
  config.name = (*values)["name"].as<std::string>();
  config.out_dir = (*values)["out"].as<std::string>();
  config.quiet = values->count("quiet") > 0;
  apply_quiet(config.quiet);
  return on_root(comm, [&] {
    const auto library = io::Library::open(config.library, config.quiet);
    library.export_object(config.name, config.out_dir);
    if (!config.quiet) fmt::print("exported '{}' to {}\n", config.name, config.out_dir.string());
    return 0;
  });
}

int run_rm(const std::vector<std::string>& args, const comm::Comm& comm) {
  Parser parser(
      "rm", "rm LIB NAME [--quiet]",
      "Remove an object: the index is rewritten without it, then its file is deleted. The base cannot be "
      "removed.");
  const auto parsed = parse_library_and_name(parser, args, comm);
  if (!parsed) return 0;
  const ObjectConfig& config = *parsed;
  return on_root(comm, [&] {
    auto library = io::Library::open(config.library, config.quiet);
    library.remove(config.name);
    if (!config.quiet) fmt::print("removed '{}'\n", config.name);
    return 0;
  });
}

}  // namespace

int run_library(const std::vector<std::string>& args) {
  const auto comm = comm::Comm::world();
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (comm.is_root()) fmt::print("{}", kOverview);
    return args.empty() ? 2 : 0;
  }
  using Run = int (*)(const std::vector<std::string>&, const comm::Comm&);
  const std::vector<std::pair<std::string_view, Run>> subcommands{
      {"init", run_init},     {"import", run_import}, {"list", run_list}, {"show", run_show},
      {"verify", run_verify}, {"export", run_export}, {"rm", run_rm}};
  const auto found = std::find_if(subcommands.begin(), subcommands.end(),
                                  [&](const auto& item) { return item.first == args[0]; });
  try {
    if (found == subcommands.end())
      throw ConfigError(
          fmt::format("library: unknown subcommand '{}' (one of init, import, list, show, verify, "
                      "export, rm; see moerge library --help)",
                      args[0]));
    return found->second(std::vector<std::string>(args.begin() + 1, args.end()), comm);
  } catch (const ConfigError& error) {
    // Flags are parsed the same on every rank: each rank returns, rank 0 says why.
    if (comm.is_root()) fmt::print(stderr, "moerge library: error: {}\n", error.what());
    return 2;
  } catch (const io::AgreedError& error) {
    if (comm.is_root()) fmt::print(stderr, "moerge library: error: {}\n", error.what());
    return 1;
  }
}

}  // namespace moerge::cli
