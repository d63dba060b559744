// The routers' per-expert statistics (see include/moerge/route/stats.hpp).
#include "moerge/route/stats.hpp"

#include <fmt/core.h>

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

/// Observes every module's input rows and sums them, while another hook decides.
class SummingHook : public model::ModuleHook {
 public:
  SummingHook(model::ModuleHook& inner, int n_module) : inner_(inner), sums_(static_cast<std::size_t>(n_module)) {}

  void at_module(const model::ModuleId& module, const Matrix& input, const model::BatchLayout& layout,
                 model::RoutingDecision& decision) override {
    Eigen::VectorXd& sum = sums_[static_cast<std::size_t>(module.index())];
    if (sum.size() == 0) sum = Eigen::VectorXd::Zero(input.cols());
    sum += input.cast<double>().colwise().sum().transpose();
    if (module.index() == 0) n_row_ += input.rows();
    inner_.at_module(module, input, layout, decision);
  }

  const Eigen::VectorXd& sum(int index) const { return sums_[static_cast<std::size_t>(index)]; }
  std::int64_t n_row() const { return n_row_; }

 private:
  model::ModuleHook& inner_;
  std::vector<Eigen::VectorXd> sums_;
  std::int64_t n_row_ = 0;
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
      const ArrowPrototype prototype = arrow_prototype(
          factors->a, factors->b, expert.scale, fmt::format("expert '{}' module {}", expert.name, module.hf_path()));
      vectors.row(expert_idx) = prototype.v.transpose();
    }
  }
  return out;
}

ModuleVectors read_phatgoose_gates(const model::LoraSet& experts, std::span<const fs::path> adapter_dirs) {
  const model::ModelConfig& config = experts.config();
  if (static_cast<int>(adapter_dirs.size()) != experts.n_expert())
    throw Error(fmt::format("read_phatgoose_gates: {} adapter directories for {} experts", adapter_dirs.size(),
                            experts.n_expert()));
  ModuleVectors out(static_cast<std::size_t>(n_module(config)));
  for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
    const model::LoraExpert& expert = experts.expert(expert_idx);
    const fs::path path = adapter_dirs[static_cast<std::size_t>(expert_idx)] / kPhatgooseGatesFile;
    std::error_code error;
    if (!fs::is_regular_file(path, error))
      throw InputError(fmt::format(
          "expert '{}': no PHATGOOSE gates: {} does not exist (the router 'phatgoose' needs a gate per adapted "
          "module, trained by the expert's owner with the expert frozen, e.g. tools/zoo/build_zoo.py; or "
          "choose a router without gates: arrow, centroid)",
          expert.name, path.string()));
    const io::SafetensorsFile file = io::SafetensorsFile::open(path);
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
      if (gates.size() == 0) gates = Matrix::Zero(experts.n_expert(), d_in);
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
  return out;
}

model::TokenBatch window_batch(std::span<const eval::Document> documents, std::span<const eval::Window> windows,
                               const model::ByteVocab& vocab) {
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
    out.row(seq_idx) = hidden.middleRows(batch.seq_offsets[static_cast<std::size_t>(seq_idx)], batch.length(seq_idx))
                           .cast<double>()
                           .colwise()
                           .mean()
                           .cast<float>();
  return out;
}

SampleStats compute_sample_stats(const model::LlamaModel& base, const model::LoraSet& experts,
                                 std::span<const std::vector<eval::Document>> samples, int context,
                                 int n_window_batch) {
  const model::ModelConfig& config = base.config();
  if (static_cast<int>(samples.size()) != experts.n_expert())
    throw Error(fmt::format("compute_sample_stats: {} samples for {} experts", samples.size(), experts.n_expert()));
  if (n_window_batch <= 0) throw ConfigError(fmt::format("windows per batch {} must be positive", n_window_batch));
  const model::ByteVocab vocab = base.byte_vocab();
  SampleStats stats;
  stats.centroids.resize(static_cast<std::size_t>(n_module(config)));
  stats.embeddings = Matrix::Zero(experts.n_expert(), config.d_model);
  std::vector<Matrix> feature_blocks;
  std::int64_t n_feature = 0;
  for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
    const std::vector<eval::Document>& documents = samples[static_cast<std::size_t>(expert_idx)];
    const std::vector<eval::Window> windows = eval::make_windows(documents, context);
    if (windows.empty())
      throw InputError(fmt::format("expert '{}': its data sample holds no byte", experts.expert(expert_idx).name));
    model::SingleExpertHook single(expert_idx);
    SummingHook summing(single, n_module(config));
    Matrix features(static_cast<Eigen::Index>(windows.size()), config.d_model);
    for (std::size_t first = 0; first < windows.size(); first += static_cast<std::size_t>(n_window_batch)) {
      const std::size_t n_take = std::min(windows.size() - first, static_cast<std::size_t>(n_window_batch));
      const model::TokenBatch batch = window_batch(documents, std::span(windows).subspan(first, n_take), vocab);
      base.forward(batch, model::ForwardOptions{.hook = &summing, .experts = &experts});
      features.middleRows(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(n_take)) =
          sequence_embeddings(base, batch);
    }
    for (int index = 0; index < n_module(config); ++index) {
      const Eigen::VectorXd& sum = summing.sum(index);
      Matrix& centroids = stats.centroids[static_cast<std::size_t>(index)];
      if (centroids.size() == 0) centroids = Matrix::Zero(experts.n_expert(), sum.size());
      centroids.row(expert_idx) = (sum / static_cast<double>(summing.n_row())).cast<float>().transpose();
    }
    stats.embeddings.row(expert_idx) = features.cast<double>().colwise().mean().cast<float>();
    n_feature += features.rows();
    feature_blocks.push_back(std::move(features));
    stats.labels.insert(stats.labels.end(), windows.size(), expert_idx);
  }
  stats.features.resize(static_cast<Eigen::Index>(n_feature), config.d_model);
  Eigen::Index row = 0;
  for (const Matrix& block : feature_blocks) {
    stats.features.middleRows(row, block.rows()) = block;
    row += block.rows();
  }
  return stats;
}

}  // namespace moerge::route
