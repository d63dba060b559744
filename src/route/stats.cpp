// The routers' per-expert statistics (see include/moerge/route/stats.hpp).
#include "moerge/route/stats.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <cmath>

#include "moerge/core/error.hpp"
#include "moerge/io/safetensors.hpp"
#include "moerge/tensor/dtype.hpp"

namespace fs = std::filesystem;

namespace moerge::route {

namespace {

int n_module(const model::ModelConfig& config) { return config.n_layer * model::n_module_kind; }

model::ModuleId module_of(int index) {
  return model::ModuleId{.layer_idx = index / model::n_module_kind,
                         .kind = static_cast<model::ModuleKind>(index % model::n_module_kind)};
}

/// Observes every module's input rows and sums them (and, when asked, their Gram matrices X^T X),
/// while another hook decides.
class SummingHook : public model::ModuleHook {
 public:
  SummingHook(model::ModuleHook& inner, int n_module, bool with_gram)
      : inner_(inner),
        sums_(static_cast<std::size_t>(n_module)),
        grams_(with_gram ? static_cast<std::size_t>(n_module) : 0) {}

  void at_module(const model::ModuleId& module, const Matrix& input, const model::BatchLayout& layout,
                 model::RoutingDecision& decision) override {
    const auto index = static_cast<std::size_t>(module.index());
    Eigen::VectorXd& sum = sums_[index];
    if (sum.size() == 0) sum = Eigen::VectorXd::Zero(input.cols());
    const Eigen::MatrixXd rows = input.cast<double>();
    sum += rows.colwise().sum().transpose();
    if (!grams_.empty()) {
      Eigen::MatrixXd& gram = grams_[index];
      if (gram.size() == 0) gram = Eigen::MatrixXd::Zero(input.cols(), input.cols());
      gram.selfadjointView<Eigen::Lower>().rankUpdate(rows.transpose());
    }
    if (module.index() == 0) n_row_ += input.rows();
    inner_.at_module(module, input, layout, decision);
  }

  const Eigen::VectorXd& sum(int index) const { return sums_[static_cast<std::size_t>(index)]; }
  /// X^T X of module `index` (both triangles filled).
  Eigen::MatrixXd gram(int index) const {
    const Eigen::MatrixXd& lower = grams_[static_cast<std::size_t>(index)];
    return lower.selfadjointView<Eigen::Lower>();
  }
  std::int64_t n_row() const { return n_row_; }

 private:
  model::ModuleHook& inner_;
  std::vector<Eigen::VectorXd> sums_;
  std::vector<Eigen::MatrixXd> grams_;  // lower triangles
  std::int64_t n_row_ = 0;
};

/// Routes nothing: the model alone (a full fine-tune's own activations).
class NoExpertHook : public model::ModuleHook {
 public:
  void at_module(const model::ModuleId&, const Matrix&, const model::BatchLayout&,
                 model::RoutingDecision&) override {}
};

}  // namespace

void check_router_experts(const model::LoraSet& experts) {
  if (experts.n_expert() == 0) throw ConfigError("a router needs at least one LoRA expert");
  const model::LoraExpert& first = experts.expert(0);
  for (int expert_idx = 1; expert_idx < experts.n_expert(); ++expert_idx) {
    const model::LoraExpert& other = experts.expert(expert_idx);
    for (int index = 0; index < n_module(experts.config()); ++index) {
      const model::ModuleId module = module_of(index);
      const model::LoraFactors* mine = first.find(module);
      const model::LoraFactors* theirs = other.find(module);
      const auto rank = [](const model::LoraFactors* factors) {
        return factors == nullptr ? 0 : static_cast<int>(factors->a.rows());
      };
      if (rank(mine) != rank(theirs))
        throw InputError(fmt::format(
            "expert '{}' has another rank layout than expert '{}': module {} has rank {} there and {} here "
            "(a router needs experts with the same adapted modules and ranks)",
            other.name, first.name, module.hf_path(), rank(mine),
            theirs == nullptr ? std::string("none (not adapted)") : std::to_string(rank(theirs))));
    }
  }
}

ModuleVectors arrow_prototypes(const model::LoraSet& experts) {
  const model::ModelConfig& config = experts.config();
  ModuleVectors out(static_cast<std::size_t>(n_module(config)));
  for (int index = 0; index < n_module(config); ++index) {
    const model::ModuleId module = module_of(index);
    Matrix& vectors = out[static_cast<std::size_t>(index)];
    for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
      const model::LoraExpert& expert = experts.expert(expert_idx);
      const model::LoraFactors* factors = expert.find(module);
      if (factors == nullptr) continue;
      if (vectors.size() == 0) vectors = Matrix::Zero(experts.n_expert(), config.d_in(module.kind));
      const ArrowPrototype prototype =
          arrow_prototype(factors->a, factors->b, expert.scale,
                          fmt::format("expert '{}' module {}", expert.name, module.hf_path()));
      vectors.row(expert_idx) = prototype.v.transpose();
    }
  }
  return out;
}

void read_phatgoose_gates_file(const model::LoraExpert& expert, const model::ModelConfig& config,
                               const fs::path& path, int expert_idx, int n_expert, ModuleVectors& out) {
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  out.resize(static_cast<std::size_t>(n_module(config)));
  for (int index = 0; index < n_module(config); ++index) {
    const model::ModuleId module = module_of(index);
    if (expert.find(module) == nullptr) continue;
    const int d_in = config.d_in(module.kind);
    const std::string key = fmt::format("base_model.model.{}.gate", module.hf_path());
    const io::TensorEntry* entry = file.find(key);
    if (entry == nullptr)
      throw InputError(fmt::format("expert '{}': {} has no gate '{}' for adapted module {}", expert.name,
                                   path.string(), key, module.hf_path()));
    if (entry->shape != std::vector<std::int64_t>{d_in} || !dtype_is_numeric(entry->dtype))
      throw InputError(fmt::format("expert '{}': {}: gate '{}' is {} of {} elements, expected a float [{}]",
                                   expert.name, path.string(), key, dtype_name(entry->dtype),
                                   entry->shape.empty() ? 0 : entry->shape.front(), d_in));
    Matrix& gates = out[static_cast<std::size_t>(index)];
    if (gates.size() == 0) gates = Matrix::Zero(n_expert, d_in);
    std::vector<float> values(static_cast<std::size_t>(d_in));
    const TensorView view = file.view(*entry);
    convert_to_f32(view.dtype, view.data, values);
    for (int col = 0; col < d_in; ++col) {
      if (!std::isfinite(values[static_cast<std::size_t>(col)]))
        throw InputError(fmt::format("expert '{}': {}: gate '{}' has a non-finite value at [{}]", expert.name,
                                     path.string(), key, col));
      gates(expert_idx, col) = values[static_cast<std::size_t>(col)];
    }
  }
}

ModuleVectors read_phatgoose_gates(const model::LoraSet& experts, std::span<const fs::path> adapter_dirs) {
  const model::ModelConfig& config = experts.config();
  if (static_cast<int>(adapter_dirs.size()) != experts.n_expert())
    throw Error(fmt::format("read_phatgoose_gates: {} adapter directories for {} experts",
                            adapter_dirs.size(), experts.n_expert()));
  ModuleVectors out(static_cast<std::size_t>(n_module(config)));
  for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
    const model::LoraExpert& expert = experts.expert(expert_idx);
    const fs::path path = adapter_dirs[static_cast<std::size_t>(expert_idx)] / kPhatgooseGatesFile;
    std::error_code error;
    if (!fs::is_regular_file(path, error))
      throw InputError(fmt::format(
          "expert '{}': no PHATGOOSE gates: {} does not exist (the router 'phatgoose' needs a gate per "
          "adapted "
          "module, trained by the expert's owner with the expert frozen, e.g. tools/zoo/build_zoo.py; or "
          "choose a router without gates: arrow, centroid)",
          expert.name, path.string()));
    read_phatgoose_gates_file(expert, config, path, expert_idx, experts.n_expert(), out);
  }
  return out;
}

model::TokenBatch window_batch(std::span<const eval::Document> documents,
                               std::span<const eval::Window> windows, const model::ByteVocab& vocab) {
  model::TokenBatch batch;
  std::vector<model::TokenId> sequence;
  for (const eval::Window& window : windows) {
    const std::string& bytes = documents[static_cast<std::size_t>(window.doc_idx)].bytes;
    sequence.assign(1, vocab.bos);
    for (std::int64_t byte_idx = window.begin; byte_idx < window.begin + window.n_byte - 1; ++byte_idx)
      sequence.push_back(static_cast<unsigned char>(bytes[static_cast<std::size_t>(byte_idx)]));
    batch.add(sequence);
  }
  return batch;
}

Matrix sequence_embeddings(const model::LlamaModel& base, const model::TokenBatch& batch) {
  Matrix hidden;
  base.forward(batch, model::ForwardOptions{.final_hidden = &hidden});
  Matrix out(batch.n_seq(), hidden.cols());
  for (int seq_idx = 0; seq_idx < batch.n_seq(); ++seq_idx)
    out.row(seq_idx) =
        hidden.middleRows(batch.seq_offsets[static_cast<std::size_t>(seq_idx)], batch.length(seq_idx))
            .cast<double>()
            .colwise()
            .mean()
            .cast<float>();
  return out;
}

ExpertSampleStats compute_expert_sample_stats(const model::LlamaModel& base,
                                              const model::LlamaModel& activations,
                                              const model::ExpertApplier* experts, int expert_idx,
                                              std::span<const eval::Document> documents, int context,
                                              int n_window_batch, bool with_gram, std::string_view expert) {
  const model::ModelConfig& config = base.config();
  if (n_window_batch <= 0)
    throw ConfigError(fmt::format("windows per batch {} must be positive", n_window_batch));
  const model::ByteVocab vocab = base.byte_vocab();
  const std::vector<eval::Window> windows = eval::make_windows(documents, context);
  if (windows.empty()) throw InputError(fmt::format("expert '{}': its data sample holds no byte", expert));
  model::SingleExpertHook single(expert_idx);
  NoExpertHook none;
  SummingHook summing(experts != nullptr ? static_cast<model::ModuleHook&>(single) : none, n_module(config),
                      with_gram);
  ExpertSampleStats stats;
  stats.features.resize(static_cast<Eigen::Index>(windows.size()), config.d_model);
  for (std::size_t first = 0; first < windows.size(); first += static_cast<std::size_t>(n_window_batch)) {
    const std::size_t n_take = std::min(windows.size() - first, static_cast<std::size_t>(n_window_batch));
    const model::TokenBatch batch = window_batch(documents, std::span(windows).subspan(first, n_take), vocab);
    activations.forward(batch, model::ForwardOptions{.hook = &summing, .experts = experts});
    stats.features.middleRows(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(n_take)) =
        sequence_embeddings(base, batch);
  }
  stats.n_row = summing.n_row();
  stats.centroids.resize(static_cast<std::size_t>(n_module(config)));
  if (with_gram) stats.grams.resize(static_cast<std::size_t>(n_module(config)));
  for (int index = 0; index < n_module(config); ++index) {
    stats.centroids[static_cast<std::size_t>(index)] =
        (summing.sum(index) / static_cast<double>(summing.n_row())).cast<float>();
    if (with_gram)
      stats.grams[static_cast<std::size_t>(index)] =
          (summing.gram(index) / static_cast<double>(summing.n_row())).cast<float>();
  }
  stats.embedding = stats.features.cast<double>().colwise().mean().cast<float>().transpose();
  return stats;
}

SampleStats compute_sample_stats(const model::LlamaModel& base, const model::ExpertApplier& experts,
                                 std::span<const std::vector<eval::Document>> samples, int context,
                                 int n_window_batch) {
  const model::ModelConfig& config = base.config();
  if (static_cast<int>(samples.size()) != experts.n_expert())
    throw Error(
        fmt::format("compute_sample_stats: {} samples for {} experts", samples.size(), experts.n_expert()));
  SampleStats stats;
  stats.centroids.resize(static_cast<std::size_t>(n_module(config)));
  stats.embeddings = Matrix::Zero(experts.n_expert(), config.d_model);
  std::vector<Matrix> feature_blocks;
  std::int64_t n_feature = 0;
  for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
    ExpertSampleStats one = compute_expert_sample_stats(
        base, base, &experts, expert_idx, samples[static_cast<std::size_t>(expert_idx)], context,
        n_window_batch, false, experts.expert_name(expert_idx));
    for (int index = 0; index < n_module(config); ++index) {
      const Vector& centroid = one.centroids[static_cast<std::size_t>(index)];
      Matrix& centroids = stats.centroids[static_cast<std::size_t>(index)];
      if (centroids.size() == 0) centroids = Matrix::Zero(experts.n_expert(), centroid.size());
      centroids.row(expert_idx) = centroid.transpose();
    }
    stats.embeddings.row(expert_idx) = one.embedding.transpose();
    n_feature += one.features.rows();
    stats.labels.insert(stats.labels.end(), static_cast<std::size_t>(one.features.rows()), expert_idx);
    feature_blocks.push_back(std::move(one.features));
  }
  stats.features.resize(static_cast<Eigen::Index>(n_feature), config.d_model);
  Eigen::Index row = 0;
  for (const Matrix& block : feature_blocks) {
    stats.features.middleRows(row, block.rows()) = block;
    row += block.rows();
  }
  return stats;
}

// --- statistics stored in the library -------------------------------------------------------------

std::string_view stats_kind_name(StatsKind kind) {
  switch (kind) {
    case StatsKind::arrow:
      return "arrow";
    case StatsKind::phatgoose:
      return "phatgoose";
    case StatsKind::centroid:
      return "centroid";
    case StatsKind::embedding:
      return "embedding";
    case StatsKind::gram:
      return "gram";
  }
  return "?";
}

std::optional<StatsKind> stats_kind_from_name(std::string_view name) {
  for (const StatsKind kind : kAllStatsKinds)
    if (stats_kind_name(kind) == name) return kind;
  return std::nullopt;
}

std::string stats_command_hint(const fs::path& library_dir, std::string_view name, StatsKind kind) {
  std::string hint =
      fmt::format("moerge stats {} --expert {} --kind {}", library_dir.string(), name, stats_kind_name(kind));
  switch (kind) {
    case StatsKind::arrow:
      break;
    case StatsKind::phatgoose:
      hint += fmt::format(" --phatgoose-gates {}=FILE", name);
      break;
    case StatsKind::centroid:
    case StatsKind::embedding:
    case StatsKind::gram:
      hint += fmt::format(" --data {}=DIR", name);
      break;
  }
  return hint;
}

namespace {

/// InputError unless expert `file` has /stats/<kind>.
void require_stats(const io::Library& library, const io::ObjectFile& file, StatsKind kind) {
  const std::string group = fmt::format("/stats/{}", stats_kind_name(kind));
  if (!file.exists("/stats") || !file.exists(group))
    throw InputError(fmt::format("expert '{}' has no {} statistics in {}: run `{}`", file.entry().name,
                                 stats_kind_name(kind), file.path().string(),
                                 stats_command_hint(library.dir(), file.entry().name, kind)));
}

/// A stored f32/f16/bf16 vector of `n` finite values (InputError naming the file and dataset otherwise).
Vector read_stored_vector(const io::ObjectFile& file, const std::string& path, int n) {
  const std::string label = fmt::format("{}:{}", file.path().string(), path);
  const io::DatasetInfo info = file.info(path);
  if (info.shape != std::vector<std::int64_t>{n} || !dtype_is_numeric(info.dtype))
    throw InputError(
        fmt::format("{}: {} of shape [{}], expected a float vector of shape [{}] (statistics of "
                    "another base?)",
                    label, dtype_name(info.dtype), fmt::join(info.shape, ", "), n));
  const io::StoredTensor stored = file.read(path);
  Vector out(n);
  convert_to_f32(stored.dtype, stored.data, std::span<float>(out.data(), static_cast<std::size_t>(n)));
  if (!out.allFinite()) throw InputError(fmt::format("{}: holds a non-finite value", label));
  return out;
}

/// The modules an expert file adapts (its /lora/<module> groups); every module for a full fine-tune.
std::vector<bool> adapted_modules(const io::ObjectFile& file, const model::ModelConfig& config) {
  std::vector<bool> adapted(static_cast<std::size_t>(n_module(config)),
                            file.entry().kind == io::ObjectKind::full);
  for (const std::string& path : file.datasets("/lora/")) {
    const std::size_t begin = std::string_view("/lora/").size();
    const std::string module_path = path.substr(begin, path.rfind('/') - begin);
    if (const auto module = model::parse_module_path(module_path, config.n_layer))
      adapted[static_cast<std::size_t>(module->index())] = true;
  }
  return adapted;
}

}  // namespace

ModuleVectors read_library_vectors(const io::Library& library, std::span<const std::string> names,
                                   const model::ModelConfig& config, StatsKind kind) {
  if (kind != StatsKind::arrow && kind != StatsKind::phatgoose && kind != StatsKind::centroid)
    throw Error(
        fmt::format("read_library_vectors: {} statistics are not per-module vectors", stats_kind_name(kind)));
  const auto n_expert = static_cast<Eigen::Index>(names.size());
  ModuleVectors out(static_cast<std::size_t>(n_module(config)));
  for (Eigen::Index expert_idx = 0; expert_idx < n_expert; ++expert_idx) {
    const io::ObjectFile file(library, names[static_cast<std::size_t>(expert_idx)]);
    if (kind != StatsKind::centroid && file.entry().kind != io::ObjectKind::lora)
      throw InputError(fmt::format("expert '{}' ({}) is a {} object: {} statistics belong to LoRA experts",
                                   file.entry().name, file.path().string(), io::kind_name(file.entry().kind),
                                   stats_kind_name(kind)));
    require_stats(library, file, kind);
    const std::vector<bool> adapted = adapted_modules(file, config);
    for (int index = 0; index < n_module(config); ++index) {
      if (kind != StatsKind::centroid && !adapted[static_cast<std::size_t>(index)]) continue;
      const model::ModuleId module = module_of(index);
      const std::string group = fmt::format("/stats/{}/{}", stats_kind_name(kind), module.hf_path());
      const std::string path = kind == StatsKind::arrow       ? group + "/v"
                               : kind == StatsKind::phatgoose ? group + "/gate"
                                                              : group;
      if (!file.exists(path))
        throw InputError(
            fmt::format("expert '{}': {} has {} statistics but none for module {} ({} missing): run `{}`",
                        file.entry().name, file.path().string(), stats_kind_name(kind), module.hf_path(),
                        path, stats_command_hint(library.dir(), file.entry().name, kind)));
      const int d_in = config.d_in(module.kind);
      Matrix& vectors = out[static_cast<std::size_t>(index)];
      if (vectors.size() == 0) vectors = Matrix::Zero(n_expert, d_in);
      vectors.row(expert_idx) = read_stored_vector(file, path, d_in).transpose();
    }
  }
  return out;
}

Matrix read_library_embeddings(const io::Library& library, std::span<const std::string> names,
                               const model::ModelConfig& config) {
  Matrix out(static_cast<Eigen::Index>(names.size()), config.d_model);
  for (std::size_t expert_idx = 0; expert_idx < names.size(); ++expert_idx) {
    const io::ObjectFile file(library, names[expert_idx]);
    require_stats(library, file, StatsKind::embedding);
    out.row(static_cast<Eigen::Index>(expert_idx)) =
        read_stored_vector(file, "/stats/embedding", config.d_model).transpose();
  }
  return out;
}

}  // namespace moerge::route
