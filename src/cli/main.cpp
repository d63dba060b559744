// `moerge <command> [options]`: MPI set-up, logging, and one clear error line on failure.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "commands.hpp"
#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/core/version.hpp"

namespace {

void print_usage() {
  fmt::print("moerge {}: recycle expert models by merging and routing them\n\n", moerge::kVersion);
  fmt::print("usage: moerge <command> [options]   (moerge <command> --help for its options)\n\ncommands:\n");
  for (const auto& command : moerge::cli::commands()) fmt::print("  {:<10} {}\n", command.name, command.summary);
  fmt::print("\nRuns alone, or under mpirun -np N / srun for the distributed commands.\n");
}

}  // namespace

int main(int argc, char** argv) {
  moerge::comm::MpiSession mpi(&argc, &argv);
  const int rank = mpi.world_rank();
  const int n_rank = mpi.world_size();
  moerge::log::init(moerge::log::Level::info, rank, n_rank);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (rank == 0) print_usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    if (rank == 0) fmt::print("moerge {}\n", moerge::kVersion);
    return 0;
  }
  const moerge::cli::Command* chosen = nullptr;
  for (const auto& command : moerge::cli::commands())
    if (command.name == args[0]) chosen = &command;
  if (chosen == nullptr) {
    if (rank == 0) fmt::print(stderr, "moerge: error: unknown command '{}' (see moerge --help)\n", args[0]);
    return 2;
  }
  try {
    return chosen->run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const moerge::ConfigError& error) {
    fmt::print(stderr, "moerge {}: error: {}\n", chosen->name, error.what());
    if (n_rank > 1) MPI_Abort(MPI_COMM_WORLD, 2);
    return 2;
  } catch (const std::exception& error) {
    // One rank failing must end the job: peers may be waiting in a collective.
    if (n_rank > 1) {
      fmt::print(stderr, "[rank {}] moerge {}: error: {}\n", rank, chosen->name, error.what());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    fmt::print(stderr, "moerge {}: error: {}\n", chosen->name, error.what());
    return 1;
  }
}
