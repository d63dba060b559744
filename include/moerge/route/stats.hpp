// The routers' per-expert statistics: Arrow prototypes from the LoRA factors, PHATGOOSE gates from
// the adapter directory, and, from a sample of each expert's data, average module inputs
// (centroids), sequence embeddings and RegMean Gram matrices; computed in memory, or read back from
// the expert library where `moerge stats` stored them (docs/routing.md, "Statistics").
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/eval/bpb.hpp"
#include "moerge/io/library.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/math.hpp"

namespace moerge::route {

/// The file of an adapter directory that holds its PHATGOOSE gates
/// (keys "base_model.model.<module path>.gate", shape [d_in]).
inline constexpr std::string_view kPhatgooseGatesFile = "phatgoose_gates.safetensors";

/// Refuses expert sets a router cannot share one base with: every expert must adapt the same
/// modules with the same rank as the first one (InputError naming both experts, the module and
/// the ranks). Experts of another base are refused earlier, by load_lora_expert.
void check_router_experts(const model::LoraSet& experts);

/// Per module (index ModuleId::index()), the experts' vectors stacked [n_expert, d_in]; a module
/// no expert adapts has an empty matrix. An expert that does not adapt a module has a zero row.
using ModuleVectors = std::vector<Matrix>;

/// Arrow prototypes (arrow_prototype of each expert's s B A) for every module.
ModuleVectors arrow_prototypes(const model::LoraSet& experts);

/// PHATGOOSE gates read from `<adapter_dirs[e]>/phatgoose_gates.safetensors` (one directory per
/// expert, in the set's order). InputError naming the expert and the file when the file is
/// missing, or a gate of an adapted module is missing, has the wrong shape or a non-finite value.
ModuleVectors read_phatgoose_gates(const model::LoraSet& experts,
                                   std::span<const std::filesystem::path> adapter_dirs);

/// The gates of one expert read from a safetensors file (keys as in phatgoose_gates.safetensors)
/// into row `expert_idx` of `out` (sized for a model of `config`, modules [n_expert, d_in] created as
/// needed); the same checks and messages as read_phatgoose_gates.
void read_phatgoose_gates_file(const model::LoraExpert& expert, const model::ModelConfig& config,
                               const std::filesystem::path& path, int expert_idx, int n_expert,
                               ModuleVectors& out);

/// Windows of `documents` (as bits per byte cuts them) as a batch fed [BOS, b0 .. b(n-2)].
model::TokenBatch window_batch(std::span<const eval::Document> documents,
                               std::span<const eval::Window> windows, const model::ByteVocab& vocab);

/// Each sequence's mean final hidden state (after the final norm) under the base model,
/// [batch.n_seq(), d_model]: the sequence embedding of retrieval, c-BTM and the learned router.
Matrix sequence_embeddings(const model::LlamaModel& base, const model::TokenBatch& batch);

/// What a sample of the experts' data gives.
struct SampleStats {
  ModuleVectors centroids;  // per module [n_expert, d_in]: mean input of the module, expert applied
  Matrix embeddings;        // [n_expert, d_model]: mean over the expert's windows of sequence_embeddings
  Matrix features;          // [n_window, d_model]: every sample window's sequence embedding
  std::vector<std::int32_t> labels;  // [n_window]: the expert whose sample the window is from
};

/// The sample statistics of every expert; samples[e] are expert e's documents (cut into windows
/// of `context` bytes, n_window_batch windows per forward). Centroids are the mean input rows of
/// each module over the expert's windows with that expert applied (SingleExpertHook), so they
/// describe the activations the expert produces and sees.
SampleStats compute_sample_stats(const model::LlamaModel& base, const model::ExpertApplier& experts,
                                 std::span<const std::vector<eval::Document>> samples, int context,
                                 int n_window_batch = 16);

/// What a sample of one expert's data gives (compute_sample_stats's row of that expert).
struct ExpertSampleStats {
  std::vector<Vector> centroids;  // per module index [d_in]: mean input of the module
  Vector embedding;               // [d_model]: mean of `features` rows
  Matrix features;                // [n_window, d_model]: each window's sequence embedding
  std::vector<Matrix> grams;      // per module index [d_in, d_in]: X^T X / n_row (empty unless asked)
  std::int64_t n_row = 0;         // rows (tokens) seen by each module
};

/// The sample statistics of one expert. Module inputs (centroids, Gram matrices) come from the
/// forward pass of `activations`, with expert `expert_idx` of `experts` applied on every row when
/// `experts` is given (a LoRA expert on its base), alone otherwise (a full fine-tune); sequence
/// embeddings always from `base`, so that they compare with the base's query embeddings. Sums in
/// double. InputError naming `expert` when the sample holds no byte.
ExpertSampleStats compute_expert_sample_stats(const model::LlamaModel& base,
                                              const model::LlamaModel& activations,
                                              const model::ExpertApplier* experts, int expert_idx,
                                              std::span<const eval::Document> documents, int context,
                                              int n_window_batch, bool with_gram, std::string_view expert);

// ============================================================================================
// Statistics stored in the expert library (`moerge stats`, docs/library.md)
// ============================================================================================

/// The statistics `moerge stats` computes, each stored under /stats/<name> of an expert's file.
enum class StatsKind : std::uint8_t { arrow, phatgoose, centroid, embedding, gram };
inline constexpr StatsKind kAllStatsKinds[] = {StatsKind::arrow, StatsKind::phatgoose, StatsKind::centroid,
                                               StatsKind::embedding, StatsKind::gram};
std::string_view stats_kind_name(StatsKind kind);
std::optional<StatsKind> stats_kind_from_name(std::string_view name);

/// The Arrow prototypes (v), PHATGOOSE gates or centroids stored for the library experts `names`
/// (in that order; all must exist in the library), as ModuleVectors for a model of `config`: module
/// m is [n_expert, d_in] (zero row for an expert that does not adapt m; empty when no expert has
/// it). Arrow and PHATGOOSE cover the modules an expert adapts, centroids every module. InputError
/// "expert 'NAME' has no <kind> statistics in FILE: run `moerge stats LIB --expert NAME --kind
/// <kind> ...`" when /stats/<kind> is absent, or naming the file, module and shape when a module's
/// vector is missing or does not fit. `kind` must be arrow, phatgoose or centroid.
ModuleVectors read_library_vectors(const io::Library& library, std::span<const std::string> names,
                                   const model::ModelConfig& config, StatsKind kind);

/// The stored sequence embeddings of the library experts `names`, [n_expert, d_model]; InputError
/// as read_library_vectors when an expert has none.
Matrix read_library_embeddings(const io::Library& library, std::span<const std::string> names,
                               const model::ModelConfig& config);

/// What to compute for one library expert.
struct StatsRequest {
  std::string name;                                 // the expert (lora or full)
  std::vector<StatsKind> kinds;                     // arrow and phatgoose for LoRA experts only
  std::optional<std::filesystem::path> data;        // sample for centroid, embedding, gram
  std::optional<std::filesystem::path> gates_file;  // phatgoose: gates to store; none: check the stored ones
  int context = 0;                                  // bytes per window; 0: the base's n_ctx
  int n_window_batch = 16;                          // windows per forward pass
  std::string created;                              // stamp of the new statistics (ISO 8601 UTC)
};

/// The statistics of one expert of `library` (whose base is `base`), as the update of its file
/// (io::store_stats writes it), reading only that expert's file, the gates file and the sample:
///   /stats/arrow/<module>/v [d_in] f32, /stats/arrow/<module>/sigma2 [] f64   (arrow_prototype)
///   /stats/phatgoose/<module>/gate [d_in] f32, key base_model.model.<module>.gate
///   /stats/centroid/<module> [d_in] f32, /stats/embedding [d_model] f32,
///   /stats/gram/<module>/G [d_in, d_in] f32 = X^T X / n, key <module>.weight, /stats/gram/<module>/n [] i64
///                                                           (compute_expert_sample_stats)
/// with provenance attributes on /stats/<kind>. Phatgoose without a file checks the stored gates
/// (InputError naming the fix when absent) and leaves them as they are. `summary` receives one line.
io::StatsUpdate compute_library_stats(const io::Library& library, const model::LlamaModel& base,
                                      const StatsRequest& request, std::string& summary);

/// The command that computes `kind` for expert `name` of the library at `library_dir` (for messages).
std::string stats_command_hint(const std::filesystem::path& library_dir, std::string_view name,
                               StatsKind kind);

}  // namespace moerge::route
