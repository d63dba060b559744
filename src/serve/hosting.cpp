// Loading hosted experts and gathering routing vectors (see include/moerge/serve/hosting.hpp).
#include "moerge/serve/hosting.hpp"

#include <fmt/format.h>

#include "moerge/core/error.hpp"
#include "moerge/io/library.hpp"
#include "moerge/merge/recipe.hpp"
#include "moerge/model/library_load.hpp"
#include "moerge/route/stats.hpp"

namespace fs = std::filesystem;

namespace moerge::serve {

ModelSource ModelSource::parse(std::string_view text) {
  const merge::ModelRef ref = merge::parse_model_ref(text);  // the reference syntax recipes use
  ModelSource source{.text = ref.text, .path = ref.dir, .object = std::nullopt, .name = {}};
  if (ref.library) {
    source.path = *ref.library;
    source.object = ref.object;
    const auto slash = ref.object.rfind('/');
    source.name = slash == std::string::npos ? ref.object : ref.object.substr(slash + 1);
  } else {
    const fs::path normal = ref.dir.lexically_normal();
    source.name = (normal.has_filename() ? normal.filename() : normal.parent_path().filename()).string();
  }
  return source;
}

bool ModelSource::is_lora() const {
  if (!is_library()) return io::detect_source(path) == io::SourceKind::peft_adapter;
  return io::entry_at(io::Library::open(path, true), *object).kind == io::ObjectKind::lora;
}

std::uint64_t expert_bytes(const ModelSource& expert) {
  if (expert.is_library()) return io::entry_at(io::Library::open(expert.path, true), *expert.object).size;
  std::error_code error;
  const std::uint64_t n_byte = fs::file_size(expert.path / "adapter_model.safetensors", error);
  if (error)
    throw InputError(fmt::format("{}: cannot read the size of adapter_model.safetensors: {}",
                                 expert.path.string(), error.message()));
  return n_byte;
}

io::LlamaConfig base_config(const ModelSource& base) {
  if (base.is_library()) {
    const io::Library library = io::Library::open(base.path, true);
    return model::library_model_config(library, io::entry_at(library, *base.object).name);
  }
  return io::parse_llama_config(base.path / "config.json");
}

model::LlamaModel load_base(const ModelSource& base) {
  if (base.is_library()) {
    const io::Library library = io::Library::open(base.path, true);
    return model::load_library_model(library, io::entry_at(library, *base.object).name);
  }
  return model::LlamaModel::load_dir(base.path);
}

model::LoraSet load_hosted_experts(const Placement& placement, int rank, std::span<const ModelSource> experts,
                                   const io::LlamaConfig& base_config, std::string_view base_label) {
  if (experts.size() != static_cast<std::size_t>(placement.n_expert()))
    throw Error(fmt::format("load_hosted_experts: {} experts for a placement of {}", experts.size(),
                            placement.n_expert()));
  const model::ModelConfig config = model::ModelConfig::from_hf(base_config);
  model::LoraSet set(config);
  for (const int expert_idx : placement.experts_of(rank)) {
    const ModelSource& expert = experts[static_cast<std::size_t>(expert_idx)];
    const std::string& name = placement.expert_names[static_cast<std::size_t>(expert_idx)];
    if (expert.is_library()) {
      const io::Library library = io::Library::open(expert.path, true);
      set.add(model::load_library_lora(library, io::entry_at(library, *expert.object).name, config,
                                       base_label, name));
    } else
      set.add(model::load_lora_expert(io::open_peft_adapter(expert.path), base_config, base_label, name));
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
        const model::ModuleId module{
            .layer_idx = static_cast<int>(index) / model::n_module_kind,
            .kind = static_cast<model::ModuleKind>(static_cast<int>(index) % model::n_module_kind)};
        throw InputError(fmt::format(
            "expert '{}' has another rank layout than expert '{}': module {} has rank {} there and {} here "
            "(a router needs experts with the same adapted modules and ranks)",
            other.name, first.name, module.hf_path(), first.module_rank[index],
            other.module_rank[index] == 0 ? std::string("none (not adapted)")
                                          : std::to_string(other.module_rank[index])));
      }
}

std::vector<model::Matrix> gather_arrow_prototypes(const ExpertDispatcher& dispatcher) {
  return dispatcher.gather_module_vectors(route::arrow_prototypes(dispatcher.local()));
}

std::vector<model::Matrix> read_phatgoose_gates(const model::LoraSet& experts,
                                                std::span<const ModelSource> sources) {
  if (sources.size() != static_cast<std::size_t>(experts.n_expert()))
    throw Error(
        fmt::format("read_phatgoose_gates: {} sources for {} experts", sources.size(), experts.n_expert()));
  const model::ModelConfig& config = experts.config();
  const auto n_expert = static_cast<Eigen::Index>(experts.n_expert());
  std::vector<model::Matrix> gates(static_cast<std::size_t>(config.n_layer) * model::n_module_kind);
  // One expert at a time: a set may mix directories and library objects.
  for (Eigen::Index expert_idx = 0; expert_idx < n_expert; ++expert_idx) {
    const ModelSource& source = sources[static_cast<std::size_t>(expert_idx)];
    std::vector<model::Matrix> own;
    if (source.is_library()) {
      const io::Library library = io::Library::open(source.path, true);
      const std::string object_name = io::entry_at(library, *source.object).name;
      own = route::read_library_vectors(library, std::span(&object_name, 1), config,
                                        route::StatsKind::phatgoose);
    } else {
      model::LoraSet one(config);
      one.add(experts.expert(static_cast<int>(expert_idx)));
      const fs::path dir = source.path;
      own = route::read_phatgoose_gates(one, std::span(&dir, 1));
    }
    for (std::size_t index = 0; index < gates.size(); ++index) {
      if (own[index].size() == 0) continue;
      if (gates[index].size() == 0) gates[index] = model::Matrix::Zero(n_expert, own[index].cols());
      gates[index].row(expert_idx) = own[index].row(0);
    }
  }
  return gates;
}

std::vector<model::Matrix> gather_phatgoose_gates(const ExpertDispatcher& dispatcher, const comm::Comm& comm,
                                                  std::span<const ModelSource> experts) {
  std::vector<ModelSource> local_sources;
  for (const int expert_idx : dispatcher.local_experts())
    local_sources.push_back(experts[static_cast<std::size_t>(expert_idx)]);
  std::vector<model::Matrix> local;
  io::run_agreed(comm, [&] { local = read_phatgoose_gates(dispatcher.local(), local_sources); });
  if (local.empty())
    local.resize(static_cast<std::size_t>(dispatcher.local().config().n_layer) * model::n_module_kind);
  return dispatcher.gather_module_vectors(local);
}

}  // namespace moerge::serve
