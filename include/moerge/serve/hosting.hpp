// What a rank does with the experts it hosts: load only those (PEFT adapter directories or LoRA
// objects of an expert library), and compute the routers' per-expert vectors where the experts
// are (Arrow prototypes, PHATGOOSE gates), gathered on the coordinator in the system's order.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/io/hf.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/serve/dispatch.hpp"
#include "moerge/serve/placement.hpp"

namespace moerge::serve {

/// A model or expert as the command line names it: a directory, or `LIB/:OBJECT` (an object of
/// the expert library LIB, e.g. LIB/:base, LIB/:experts/python).
struct ModelSource {
  std::string text;                   // as given
  std::filesystem::path path;         // the directory, or the library
  std::optional<std::string> object;  // set for a library object
  std::string name;                   // the directory's or the object's base name

  static ModelSource parse(std::string_view text);
  bool is_library() const { return object.has_value(); }
  /// A PEFT adapter directory or a LoRA object (opens the directory's config or the library's index).
  bool is_lora() const;
};

/// Bytes of an expert's weights (adapter_model.safetensors, or the library object file): the
/// placement's measure.
std::uint64_t expert_bytes(const ModelSource& expert);

/// The architecture of the base: config.json of a directory or the object's config attribute.
io::LlamaConfig base_config(const ModelSource& base);
/// The base model itself (what the coordinator loads).
model::LlamaModel load_base(const ModelSource& base);

/// The experts `rank` hosts (placement.experts_of(rank)), loaded from `experts` (one per expert,
/// in the system's order) and checked against the base known by its config.
model::LoraSet load_hosted_experts(const Placement& placement, int rank, std::span<const ModelSource> experts,
                                   const io::LlamaConfig& base_config, std::string_view base_label);

/// route::check_router_experts over every rank's experts: InputError unless every expert adapts
/// the same modules with the same rank as the first.
void check_router_layout(const ExpertDispatcher& dispatcher);

/// Arrow prototypes of every expert (route::arrow_prototypes), computed on the hosts; on the
/// coordinator, empty elsewhere. Collective.
std::vector<model::Matrix> gather_arrow_prototypes(const ExpertDispatcher& dispatcher);
/// The PHATGOOSE gates of `experts` (sources[e] is where expert e came from): an adapter
/// directory's phatgoose_gates.safetensors (route::read_phatgoose_gates), a library object's
/// /stats/phatgoose (route::read_library_vectors); per module [n_expert, d_in].
std::vector<model::Matrix> read_phatgoose_gates(const model::LoraSet& experts,
                                                std::span<const ModelSource> sources);

/// PHATGOOSE gates read by the hosts (read_phatgoose_gates of their experts). Collective; errors
/// on any rank reach every rank.
std::vector<model::Matrix> gather_phatgoose_gates(const ExpertDispatcher& dispatcher, const comm::Comm& comm,
                                                  std::span<const ModelSource> experts);

}  // namespace moerge::serve
