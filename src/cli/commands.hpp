// The CLI's command table: each command parses its own options (Boost.Program_options) into a
// plain config struct and calls the library.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace moerge::cli {

struct Command {
  std::string_view name;
  std::string_view summary;
  /// `args` are the words after the command name; returns the exit code.
  int (*run)(const std::vector<std::string>& args);
};

/// Every command, in the order `moerge --help` lists them (defined in commands.cpp).
const std::vector<Command>& commands();

/// Parse a command's words into `values` (store + notify). With --help, rank 0 prints
/// "usage: moerge USAGE", SUMMARY and the options of `visible`, and false is returned (the command
/// returns 0). A bad or missing flag is a ConfigError "<prefix><what> (usage: moerge USAGE)".
/// `all` holds `visible` plus hidden positional options (or is `visible` itself).
bool parse_command_line(const std::vector<std::string>& args,
                        const boost::program_options::options_description& visible,
                        const boost::program_options::options_description& all,
                        const boost::program_options::positional_options_description& positional,
                        std::string_view usage, std::string_view summary, int rank,
                        boost::program_options::variables_map& values, std::string_view error_prefix = "");

int run_eval(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_infer(const std::vector<std::string>& args);
int run_library(const std::vector<std::string>& args);
int run_merge(const std::vector<std::string>& args);
int run_methods(const std::vector<std::string>& args);
int run_stats(const std::vector<std::string>& args);

}  // namespace moerge::cli
