// The command table (see commands.hpp).
#include "commands.hpp"

namespace moerge::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"library", "create, fill, inspect, verify and export an HDF5 expert library", run_library},
  };
  return table;
}

}  // namespace moerge::cli
