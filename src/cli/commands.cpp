// The command table (see commands.hpp).
#include "commands.hpp"

namespace moerge::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"eval", "bits per byte of a model, an expert or a routed system on directories of text", run_eval},
      {"generate", "continue byte-level prompts with a model or one expert (KV-cached decoding)", run_generate},
      {"infer", "generations for a JSONL file of prompts; routed systems run expert-parallel under mpirun",
       run_infer},
      {"library", "create, fill, inspect, verify and export an HDF5 expert library", run_library},
      {"merge", "merge models by a mergekit-style YAML recipe (distributed, streaming)", run_merge},
      {"methods", "list the merge methods with their parameters and taxonomy tags", run_methods},
      {"stats", "compute the routers' statistics of library experts and store them in the library", run_stats},
  };
  return table;
}

}  // namespace moerge::cli
