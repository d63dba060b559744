// The command table (see commands.hpp).
#include "commands.hpp"

#include <fmt/core.h>

#include <sstream>

#include "moerge/core/error.hpp"

namespace moerge::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"eval", "bits per byte of a model, an expert or a routed system on directories of text", run_eval},
      {"generate", "continue byte-level prompts with a model or one expert (KV-cached decoding)",
       run_generate},
      {"infer", "generations for a JSONL file of prompts; routed systems run expert-parallel under mpirun",
       run_infer},
      {"library", "create, fill, inspect, verify and export an HDF5 expert library", run_library},
      {"merge", "merge models by a mergekit-style YAML recipe (distributed, streaming)", run_merge},
      {"methods", "list the merge methods with their parameters and taxonomy tags", run_methods},
      {"stats", "compute the routers' statistics of library experts and store them in the library",
       run_stats},
  };
  return table;
}

bool parse_command_line(const std::vector<std::string>& args,
                        const boost::program_options::options_description& visible,
                        const boost::program_options::options_description& all,
                        const boost::program_options::positional_options_description& positional,
                        std::string_view usage, std::string_view summary, int rank,
                        boost::program_options::variables_map& values, std::string_view error_prefix) {
  namespace po = boost::program_options;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), values);
    if (values.count("help")) {
      if (rank == 0) {
        std::ostringstream text;
        text << visible;
        fmt::print("usage: moerge {}\n\n{}\n\n{}", usage, summary, text.str());
      }
      return false;
    }
    po::notify(values);
  } catch (const po::error& error) {
    throw ConfigError(fmt::format("{}{} (usage: moerge {})", error_prefix, error.what(), usage));
  }
  return true;
}

}  // namespace moerge::cli
