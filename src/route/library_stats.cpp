// The routers' statistics of one library expert, computed for `moerge stats` and stored by
// io::store_stats (see include/moerge/route/stats.hpp and docs/library.md).
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "moerge/core/error.hpp"
#include "moerge/model/library_load.hpp"
#include "moerge/route/stats.hpp"

namespace fs = std::filesystem;

namespace moerge::route {

namespace {

template <class T>
std::vector<std::byte> to_bytes(const T* values, std::size_t n) {
  std::vector<std::byte> out(n * sizeof(T));
  std::memcpy(out.data(), values, out.size());
  return out;
}

io::StatsDataset f32_dataset(std::string path, const float* values, std::vector<std::int64_t> shape,
                             std::string key = {}) {
  std::size_t n = 1;
  for (const std::int64_t dim : shape) n *= static_cast<std::size_t>(dim);
  return io::StatsDataset{.path = std::move(path),
                          .dtype = DType::F32,
                          .shape = std::move(shape),
                          .data = to_bytes(values, n),
                          .key = std::move(key)};
}

template <class T>
io::StatsDataset scalar_dataset(std::string path, DType dtype, T value) {
  return io::StatsDataset{
      .path = std::move(path), .dtype = dtype, .shape = {}, .data = to_bytes(&value, 1), .key = {}};
}

int n_module(const model::ModelConfig& config) { return config.n_layer * model::n_module_kind; }

model::ModuleId module_of(int index) {
  return model::ModuleId{.layer_idx = index / model::n_module_kind,
                         .kind = static_cast<model::ModuleKind>(index % model::n_module_kind)};
}

bool needs_sample(StatsKind kind) {
  return kind == StatsKind::centroid || kind == StatsKind::embedding || kind == StatsKind::gram;
}

}  // namespace

io::StatsUpdate compute_library_stats(const io::Library& library, const model::LlamaModel& base,
                                      const StatsRequest& request, std::string& summary) {
  const model::ModelConfig& config = base.config();
  const io::CatalogueEntry& entry = library.entry(request.name);
  const bool lora = entry.kind == io::ObjectKind::lora;
  if (!lora && entry.kind != io::ObjectKind::full)
    throw InputError(fmt::format("{}: '{}' is a {} object; statistics are computed for experts (lora, full)",
                                 library.dir().string(), entry.name, io::kind_name(entry.kind)));
  for (const StatsKind kind : request.kinds) {
    if (!lora && (kind == StatsKind::arrow || kind == StatsKind::phatgoose))
      throw InputError(fmt::format("expert '{}' is a full fine-tune: {} statistics need LoRA factors",
                                   entry.name, stats_kind_name(kind)));
    if (needs_sample(kind) && !request.data)
      throw InputError(fmt::format("expert '{}': --kind {} needs a sample of its data: give --data {}=DIR",
                                   entry.name, stats_kind_name(kind), entry.name));
  }
  io::StatsUpdate update;
  update.name = entry.name;
  update.expected_sha256 = entry.sha256;
  model::LoraSet set(config);
  std::optional<model::LlamaModel> full;
  if (lora) {
    set.add(model::load_library_lora(library, entry.name, base, entry.name));
  } else {
    full = model::load_library_model(library, entry.name);
    if (io::llama_tensor_shapes(full->hf_config()) != io::llama_tensor_shapes(base.hf_config()))
      throw InputError(fmt::format("{}: full fine-tune '{}' does not have the architecture of base {}",
                                   library.object_path(entry.name).string(), entry.name,
                                   base.source().string()));
  }
  std::vector<std::string> parts;
  for (const StatsKind kind : request.kinds) {
    if (needs_sample(kind)) continue;
    const std::string group = fmt::format("/stats/{}", stats_kind_name(kind));
    if (kind == StatsKind::arrow) {
      const model::LoraExpert& expert = set.expert(0);
      int n_adapted = 0;
      for (int index = 0; index < n_module(config); ++index) {
        const model::ModuleId module = module_of(index);
        const model::LoraFactors* factors = expert.find(module);
        if (factors == nullptr) continue;
        const ArrowPrototype prototype =
            arrow_prototype(factors->a, factors->b, expert.scale,
                            fmt::format("expert '{}' module {}", expert.name, module.hf_path()));
        const std::string prefix = fmt::format("{}/{}", group, module.hf_path());
        update.datasets.push_back(f32_dataset(prefix + "/v", prototype.v.data(), {prototype.v.size()}));
        update.datasets.push_back(scalar_dataset(prefix + "/sigma2", DType::F64, prototype.sigma2));
        ++n_adapted;
      }
      update.kinds.emplace_back(stats_kind_name(kind));
      update.attrs[group] = {{"created", request.created}, {"scale", fmt::format("{}", expert.scale)}};
      parts.push_back(fmt::format("arrow ({} modules)", n_adapted));
    } else if (kind == StatsKind::phatgoose) {
      if (!request.gates_file) {
        // No file given: the gates imported with the adapter are checked and kept as they are.
        const std::vector<std::string> names{entry.name};
        try {
          read_library_vectors(library, names, config, StatsKind::phatgoose);
        } catch (const InputError& error) {
          throw InputError(fmt::format(
              "{} (the adapter was imported without phatgoose_gates.safetensors; give the gates with "
              "--phatgoose-gates {}=FILE)",
              error.what(), entry.name));
        }
        parts.push_back("phatgoose (imported gates checked, kept)");
        continue;
      }
      ModuleVectors gates;
      read_phatgoose_gates_file(set.expert(0), config, *request.gates_file, 0, 1, gates);
      int n_gate = 0;
      for (int index = 0; index < n_module(config); ++index) {
        const Matrix& module_gates = gates[static_cast<std::size_t>(index)];
        if (module_gates.size() == 0) continue;
        const std::string module = module_of(index).hf_path();
        update.datasets.push_back(f32_dataset(fmt::format("{}/{}/gate", group, module), module_gates.data(),
                                              {module_gates.cols()},
                                              fmt::format("base_model.model.{}.gate", module)));
        ++n_gate;
      }
      update.kinds.emplace_back(stats_kind_name(kind));
      update.attrs[group] = {{"created", request.created},
                             {"source", fs::absolute(*request.gates_file).lexically_normal().string()}};
      parts.push_back(fmt::format("phatgoose ({} gates from {})", n_gate, request.gates_file->string()));
    }
  }
  if (std::any_of(request.kinds.begin(), request.kinds.end(), needs_sample)) {
    const fs::path& dir = *request.data;
    const std::vector<eval::Document> documents = eval::read_documents(dir);
    std::uint64_t n_byte = 0;
    for (const auto& document : documents) n_byte += document.bytes.size();
    const int context = request.context > 0 ? request.context : config.n_ctx;
    const bool with_gram =
        std::find(request.kinds.begin(), request.kinds.end(), StatsKind::gram) != request.kinds.end();
    const ExpertSampleStats stats =
        full ? compute_expert_sample_stats(base, *full, nullptr, 0, documents, context,
                                           request.n_window_batch, with_gram, entry.name)
             : compute_expert_sample_stats(base, base, &set, 0, documents, context, request.n_window_batch,
                                           with_gram, entry.name);
    const std::map<std::string, std::string> sample_attrs{
        {"created", request.created},
        {"data", fs::absolute(dir).lexically_normal().string()},
        {"n_document", std::to_string(documents.size())},
        {"n_byte", std::to_string(n_byte)},
        {"n_window", std::to_string(stats.features.rows())},
        {"n_row", std::to_string(stats.n_row)},
        {"context", std::to_string(context)}};
    std::vector<std::string_view> sample_kinds;
    for (const StatsKind kind : request.kinds) {
      if (!needs_sample(kind)) continue;
      const std::string group = fmt::format("/stats/{}", stats_kind_name(kind));
      sample_kinds.push_back(stats_kind_name(kind));
      update.kinds.emplace_back(stats_kind_name(kind));
      update.attrs[group] = sample_attrs;
      if (kind == StatsKind::embedding) {
        update.datasets.push_back(f32_dataset(group, stats.embedding.data(), {stats.embedding.size()}));
        continue;
      }
      for (int index = 0; index < n_module(config); ++index) {
        const std::string module = module_of(index).hf_path();
        if (kind == StatsKind::centroid) {
          const Vector& centroid = stats.centroids[static_cast<std::size_t>(index)];
          update.datasets.push_back(
              f32_dataset(fmt::format("{}/{}", group, module), centroid.data(), {centroid.size()}));
        } else {
          const Matrix& gram = stats.grams[static_cast<std::size_t>(index)];
          update.datasets.push_back(f32_dataset(fmt::format("{}/{}/G", group, module), gram.data(),
                                                {gram.rows(), gram.cols()}, module + ".weight"));
          update.datasets.push_back(
              scalar_dataset(fmt::format("{}/{}/n", group, module), DType::I64, stats.n_row));
        }
      }
    }
    parts.push_back(fmt::format("{} from {} windows of {} ({} bytes)", fmt::join(sample_kinds, ", "),
                                stats.features.rows(), dir.string(), n_byte));
  }
  summary = fmt::format("'{}': {}", entry.name, fmt::join(parts, "; "));
  return update;
}

}  // namespace moerge::route
