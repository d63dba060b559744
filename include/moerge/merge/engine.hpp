// The distributed streaming merge: every rank takes a contiguous row block of each tensor, reads
// that block of every input (zero-copy from the memory-mapped safetensors of a directory, or with a
// collective HDF5 read from a library object; see source.hpp), runs the method's
// statistics passes, reduces them as integers across ranks, applies the method, and writes its own
// slab into the pre-sized output shard (pwrite at an offset fixed by the plan). The output HF
// directory appears under its final name only when complete. Bitwise identical for any rank count.
#pragma once
#include <cstdint>
#include <filesystem>

#include "moerge/comm/comm.hpp"
#include "moerge/merge/plan.hpp"

namespace moerge::merge {

/// What to do with a non-finite value in a merged tensor: stop (nothing is published), or write
/// it and report the count.
enum class NonfinitePolicy { error, report };

struct EngineOptions {
  std::uint64_t memory_limit_bytes = std::uint64_t{256} << 20;  // working buffers per rank
  NonfinitePolicy nonfinite = NonfinitePolicy::error;
  bool resume = false;  // continue a killed merge from the journal in the partial directory
  bool quiet = false;
};

struct MergeSummary {
  std::size_t n_tensor = 0;
  std::size_t n_tensor_resumed = 0;  // skipped because the journal had them
  std::uint64_t n_byte_in = 0;
  std::uint64_t n_byte_out = 0;
  std::uint64_t n_nonfinite = 0;  // with NonfinitePolicy::report
  double seconds = 0;
};

/// The directory a merge into `out_dir` writes before publishing (deterministic, so that
/// --resume finds it): "<parent>/.<name>.moerge-partial".
std::filesystem::path partial_dir(const std::filesystem::path& out_dir);

/// Run the plan. Collective over `comm`: every rank calls it with the same plan and options.
/// Throws ConfigError when out_dir exists; InputError for a non-finite input (naming the model,
/// tensor and element) or output (NonfinitePolicy::error). A rank that throws leaves its peers in
/// a collective: callers under MPI end the job (the CLI calls MPI_Abort).
MergeSummary run_merge(const MergePlan& plan, const std::filesystem::path& out_dir, const EngineOptions& options,
                       const comm::Comm& comm);

}  // namespace moerge::merge
