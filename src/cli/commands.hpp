// The CLI's command table: each command parses its own options (Boost.Program_options) into a
// plain config struct and calls the library.
#pragma once
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

int run_eval(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_infer(const std::vector<std::string>& args);
int run_library(const std::vector<std::string>& args);
int run_merge(const std::vector<std::string>& args);
int run_methods(const std::vector<std::string>& args);
int run_stats(const std::vector<std::string>& args);

}  // namespace moerge::cli
