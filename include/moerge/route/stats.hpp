// The routers' per-expert statistics, computed in memory at load time: Arrow prototypes from the
// LoRA factors, PHATGOOSE gates from the adapter directory, and, from a sample of each expert's
// data, average module inputs (centroids) and sequence embeddings (docs/routing.md, "Statistics").
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/eval/bpb.hpp"
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

/// Windows of `documents` (as bits per byte cuts them) as a batch fed [BOS, b0 .. b(n-2)].
model::TokenBatch window_batch(std::span<const eval::Document> documents, std::span<const eval::Window> windows,
                               const model::ByteVocab& vocab);

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
SampleStats compute_sample_stats(const model::LlamaModel& base, const model::LoraSet& experts,
                                 std::span<const std::vector<eval::Document>> samples, int context,
                                 int n_window_batch = 16);

}  // namespace moerge::route
