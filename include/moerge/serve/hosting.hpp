// What a rank does with the experts it hosts: load only those (PEFT adapter directories), and
// compute the routers' per-expert vectors where the experts are (Arrow prototypes, PHATGOOSE
// gates), gathered on the coordinator in the system's expert order.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/io/hf.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/serve/dispatch.hpp"
#include "moerge/serve/placement.hpp"

namespace moerge::serve {

/// Bytes of an adapter's weights (adapter_model.safetensors), the placement's measure.
std::uint64_t adapter_bytes(const std::filesystem::path& dir);

/// The experts `rank` hosts (placement.experts_of(rank)), loaded from `dirs` (one per expert, in
/// the system's order) and checked against the base known by its config.
model::LoraSet load_hosted_experts(const Placement& placement, int rank, std::span<const std::filesystem::path> dirs,
                                   const io::LlamaConfig& base_config, std::string_view base_label);

/// route::check_router_experts over every rank's experts: InputError unless every expert adapts
/// the same modules with the same rank as the first.
void check_router_layout(const ExpertDispatcher& dispatcher);

/// Arrow prototypes of every expert (route::arrow_prototypes), computed on the hosts; on the
/// coordinator, empty elsewhere. Collective.
std::vector<model::Matrix> gather_arrow_prototypes(const ExpertDispatcher& dispatcher);
/// PHATGOOSE gates (route::read_phatgoose_gates) read by the hosts from `dirs` (every expert's
/// adapter directory, in the system's order). Collective; errors on any rank reach every rank.
std::vector<model::Matrix> gather_phatgoose_gates(const ExpertDispatcher& dispatcher, const comm::Comm& comm,
                                                  std::span<const std::filesystem::path> dirs);

}  // namespace moerge::serve
