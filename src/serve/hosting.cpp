// Loading hosted experts and gathering routing vectors (see include/moerge/serve/hosting.hpp).
#include "moerge/serve/hosting.hpp"

#include <fmt/format.h>

#include "moerge/core/error.hpp"
#include "moerge/io/library.hpp"
#include "moerge/route/stats.hpp"

namespace fs = std::filesystem;

namespace moerge::serve {

std::uint64_t adapter_bytes(const fs::path& dir) {
  std::error_code error;
  const std::uint64_t n_byte = fs::file_size(dir / "adapter_model.safetensors", error);
  if (error)
    throw InputError(fmt::format("{}: cannot read the size of adapter_model.safetensors: {}", dir.string(),
                                 error.message()));
  return n_byte;
}

model::LoraSet load_hosted_experts(const Placement& placement, int rank, std::span<const fs::path> dirs,
                                   const io::LlamaConfig& base_config, std::string_view base_label) {
  if (dirs.size() != static_cast<std::size_t>(placement.n_expert()))
    throw Error(fmt::format("load_hosted_experts: {} directories for {} experts", dirs.size(), placement.n_expert()));
  model::LoraSet set(model::ModelConfig::from_hf(base_config));
  for (const int expert_idx : placement.experts_of(rank)) {
    const auto slot = static_cast<std::size_t>(expert_idx);
    set.add(model::load_lora_expert(io::open_peft_adapter(dirs[slot]), base_config, base_label,
                                    placement.expert_names[slot]));
  }
  return set;
}

void check_router_layout(const ExpertDispatcher& dispatcher) {
  const std::vector<ExpertInfo>& experts = dispatcher.experts();
  if (experts.empty()) throw ConfigError("a router needs at least one LoRA expert");
  const ExpertInfo& first = experts.front();
  for (const ExpertInfo& other : experts)
    for (std::size_t index = 0; index < first.module_rank.size(); ++index)
      if (other.module_rank[index] != first.module_rank[index]) {
        const model::ModuleId module{.layer_idx = static_cast<int>(index) / model::n_module_kind,
                                     .kind = static_cast<model::ModuleKind>(static_cast<int>(index) % model::n_module_kind)};
        throw InputError(fmt::format(
            "expert '{}' has another rank layout than expert '{}': module {} has rank {} there and {} here "
            "(a router needs experts with the same adapted modules and ranks)",
            other.name, first.name, module.hf_path(), first.module_rank[index],
            other.module_rank[index] == 0 ? std::string("none (not adapted)") : std::to_string(other.module_rank[index])));
      }
}

std::vector<model::Matrix> gather_arrow_prototypes(const ExpertDispatcher& dispatcher) {
  return dispatcher.gather_module_vectors(route::arrow_prototypes(dispatcher.local()));
}

std::vector<model::Matrix> gather_phatgoose_gates(const ExpertDispatcher& dispatcher, const comm::Comm& comm,
                                                  std::span<const fs::path> dirs) {
  std::vector<fs::path> local_dirs;
  for (const int expert_idx : dispatcher.local_experts()) local_dirs.push_back(dirs[static_cast<std::size_t>(expert_idx)]);
  std::vector<model::Matrix> local;
  io::run_agreed(comm, [&] { local = route::read_phatgoose_gates(dispatcher.local(), local_dirs); });
  return dispatcher.gather_module_vectors(local);
}

}  // namespace moerge::serve
