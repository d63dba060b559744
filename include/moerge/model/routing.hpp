// The contract between the runtime (model) and the routers (route): at every LoRA-adapted module
// the runtime shows the router the module's input rows and receives, per row, which experts to
// apply with which weights. The runtime then groups rows by expert and applies each expert with
// one GEMM over its rows (never a loop per token).
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace moerge::model {

/// Row-major f32 matrix, the runtime's only matrix type: activations are [n_row, d].
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;

/// The seven LoRA-adaptable linear layers of a Llama block, in HF's order.
enum class ModuleKind : std::uint8_t { q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj };
inline constexpr int n_module_kind = 7;

/// A linear layer of the model: layer_idx * n_module_kind + kind is its dense index.
struct ModuleId {
  int layer_idx = 0;
  ModuleKind kind = ModuleKind::q_proj;
  int index() const { return layer_idx * n_module_kind + static_cast<int>(kind); }
  /// HF module path, e.g. "model.layers.3.mlp.up_proj" (its weight is "<path>.weight").
  std::string hf_path() const;
};

/// Which experts a row uses: up to k (expert_idx, weight) pairs per row, in the order of
/// `row_offsets` (CSR): row r uses entries [row_offsets[r], row_offsets[r+1]). A row with no
/// entries gets the base layer only. y_r = W0 x_r + sum_e weight_e * scale_e * B_e (A_e x_r).
struct RoutingDecision {
  std::vector<std::int32_t> row_offsets;  // [n_row + 1]
  std::vector<std::int32_t> expert_idx;   // [n_entry]
  std::vector<float> weight;              // [n_entry]

  void clear() {
    row_offsets.assign(1, 0);
    expert_idx.clear();
    weight.clear();
  }
};

/// Where a batch's rows come from, so sequence-level routers can give one decision per sequence:
/// row r belongs to sequence seq_of_row[r] at position pos_of_row[r].
struct BatchLayout {
  std::vector<std::int32_t> seq_of_row;
  std::vector<std::int32_t> pos_of_row;
  int n_seq = 0;
};

/// Called by the forward pass at every adapted module, in execution order (layer by layer, q k v
/// o gate up down). `input` is the module's input, [n_row, d_in], row-major. The hook fills
/// `decision` (cleared by the caller) or leaves it empty for "base only". Hooks that only observe
/// (statistics such as average activations) leave it empty.
class ModuleHook {
 public:
  virtual ~ModuleHook() = default;
  virtual void at_module(const ModuleId& module, const Matrix& input, const BatchLayout& layout,
                         RoutingDecision& decision) = 0;
};

/// Where a module's output goes: a column block of the forward pass's stacked output matrix.
using OutputBlock = Eigen::Ref<Matrix, 0, Eigen::OuterStride<>>;

/// One routed module of a group of modules sharing an input (q k v; gate up; o; down).
struct RoutedModule {
  ModuleId module;
  const RoutingDecision* decision;  // non-empty
  OutputBlock output;               // [n_row, d_out]
};

/// Applies the routed experts of a group of modules. The forward pass hands over `base`, the dense
/// product that writes the base outputs into the modules' output blocks; an applier runs it and
/// then adds, to every routed row, sum over its entries of weight * scale_e * B_e (A_e x), experts
/// in index order. In-process (LoraSet) or dispatched to the MPI ranks hosting the experts
/// (serve::ExpertDispatcher, which overlaps the exchange with `base`); both give the same bits.
class ExpertApplier {
 public:
  virtual ~ExpertApplier() = default;
  virtual void apply(std::span<RoutedModule> modules, const Matrix& input,
                     const std::function<void()>& base) const = 0;
  /// The experts decisions may name (expert_idx 0..n_expert()-1) and their names.
  virtual int n_expert() const = 0;
  virtual const std::string& expert_name(int expert_idx) const = 0;
};

}  // namespace moerge::model
