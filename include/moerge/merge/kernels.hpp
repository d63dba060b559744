// Pure math of the merge methods on row blocks of f32 tensors: reducible statistics, then apply.
//
// These kernels know nothing of files, HDF5 or MPI. A sharded engine calls them on ROW BLOCKS of a
// tensor (a block is a contiguous range of the row-major flattened tensor that starts and ends on
// a row boundary); every per-tensor quantity is split into a statistics pass whose partial results
// are integers (histograms, exact fixed-point sums) that the engine adds across blocks and ranks
// (MPI_Allreduce with MPI_UINT64_T / MPI_SUM, or MPI_INT64_T), and an apply pass that takes the
// reduced statistics. Integer reductions are associative, so every output is bitwise identical for
// any split of the tensor into blocks and any rank count.
//
// Typical per-tensor sequence for the task-vector methods (linear, task_arithmetic, ties, dare_*,
// breadcrumbs*, della*), one model i at a time for the statistics:
//   1. magnitude / magnitude_outliers: cuts = magnitude_cut_ranks(params, numel); for each cut a
//      RadixSelect(numel, rank): 3 passes of { every block: histogram_delta(); reduce; narrow() };
//      then per block count_key_delta(cut.key) and an exclusive prefix sum over blocks in element
//      order gives BlockTies (ties with the threshold key that lie before the block).
//   2. RescaleMode::l1: every block add_l1_rescale_stats(); reduce the two ExactSum; the scale is
//      l1_rescale_scale(before, after).
//   3. apply: every block task_vector(), sparsify_block() per model, then combine_block().
// Global TIES (the paper's scope) runs step 1 over the whole flattened task vector of each model
// (all tensors), keeps ties (RankCut::with_all_ties), then reduces ties_global_sign_sum() over the
// whole model before ties_global_block().
//
// Order and ties: element a ranks above element b when |a| > |b|, or |a| == |b| and a has the
// lower element index. Magnitudes compare through magnitude_key() (IEEE bits of |x|), so -0 == +0.
// Inputs are assumed finite (the engine rejects NaN and infinity before merging).
//
// Random draws (DARE, DELLA): Philox4x32-10 (Random123), see philox_key() and uniform_at().
#pragma once
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace moerge::merge {

// ============================================================================================
// Exact, reducible sums
// ============================================================================================

/// An exact sum of f32 values and of products of two f32 values, held as a fixed-point integer
/// (24-bit limbs in uint64 words, two's complement, wrapping). Partial sums from any split add
/// exactly (`merge`, or MPI_Allreduce of limbs() with MPI_UINT64_T / MPI_SUM), so value() is the
/// same bits for any sharding. Exact for up to 2^37 terms.
class ExactSum {
 public:
  static constexpr std::size_t n_limb = 26;
  static constexpr int limb_bits = 24;

  void add(float value) { add_product(value, 1.0f); }
  void add_product(float a, float b);
  /// Adds sum |x| over a block (fast path: exponent-binned, then folded).
  void add_abs(std::span<const float> values);
  /// Adds sum x * x over a block.
  void add_squares(std::span<const float> values);
  /// Adds sum a * b over a block (same lengths).
  void add_dot(std::span<const float> a, std::span<const float> b);
  void merge(const ExactSum& other);
  /// The sum rounded to double (deterministic: a function of the limbs only).
  double value() const;
  std::span<std::uint64_t, n_limb> limbs() { return limbs_; }
  std::span<const std::uint64_t, n_limb> limbs() const { return limbs_; }

 private:
  /// Adds (or subtracts) mantissa * 2^(bit_position - exponent_offset).
  void add_bits(std::uint64_t mantissa, int bit_position, bool negative);
  std::array<std::uint64_t, n_limb> limbs_{};
};

// ============================================================================================
// Random draws: Philox4x32-10
// ============================================================================================

/// Stream ids (counter word 2): one per use, so DARE and DELLA masks never share draws.
enum class RandomStream : std::uint32_t { dare = 0, della = 1 };

struct PhiloxKey {
  std::uint32_t k0 = 0;
  std::uint32_t k1 = 0;
};

/// FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of a byte string.
std::uint64_t fnv1a64(std::string_view bytes);

/// The Philox key of one model's draws on one tensor:
///   h = FNV-1a 64 of ( seed as 8 bytes little-endian || model_index as 4 bytes little-endian ||
///                      the tensor name's UTF-8 bytes );  k0 = low 32 bits of h, k1 = high 32 bits.
PhiloxKey philox_key(std::uint64_t seed, std::uint32_t model_index, std::string_view tensor_name);

/// One Philox4x32-10 block (Random123's philox4x32_R(10, ...)).
std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter, PhiloxKey key);

/// The uniform draw of element `element_index` (global, row-major index within the tensor):
///   q = element_index / 4, counter = {low 32 of q, high 32 of q, stream, 0},
///   w = word (element_index % 4) of Philox4x32-10(counter, key),  u = (w >> 8) * 2^-24 in [0, 1).
/// An element is kept with probability p when u < p. Never depends on rank, thread or block.
float uniform_at(PhiloxKey key, RandomStream stream, std::uint64_t element_index);
/// uniform_at for a block of consecutive elements starting at first_element.
void uniform_block(PhiloxKey key, RandomStream stream, std::uint64_t first_element, std::span<float> out);

// ============================================================================================
// Integer radix select on the IEEE bits of |x|
// ============================================================================================

/// The order key of |x|: the IEEE-754 bits with the sign cleared (monotone in |x| for finite x).
inline std::uint32_t magnitude_key(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits & 0x7fffffffu;
}

/// A cut through the descending order of a set of elements: the elements with rank < c.
/// Element a (key, tie_ordinal = number of elements before a, in element order, with the same key)
/// is inside when key > key_ or (key == key_ and tie_ordinal < n_tie_inside).
struct RankCut {
  std::uint32_t key = 0;
  std::uint64_t n_tie_inside = std::numeric_limits<std::uint64_t>::max();  // default: everything

  static RankCut everything() { return RankCut{}; }
  static RankCut nothing() { return RankCut{0x7fffffffu, 0}; }  // above every finite key
  bool contains(std::uint32_t element_key, std::uint64_t tie_ordinal) const {
    return element_key > key || (element_key == key && tie_ordinal < n_tie_inside);
  }
  /// The same threshold with every tie inside: {key >= key_} (TIES paper, global scope).
  RankCut with_all_ties() const { return RankCut{key, std::numeric_limits<std::uint64_t>::max()}; }
  bool operator==(const RankCut&) const = default;
};

/// Finds the element at descending rank `cut_rank` among n_total keys, three passes of 11, 11 and
/// 10 bits, with uint64 histograms the engine adds across blocks and ranks between passes. The
/// result is the RankCut of the elements with rank < cut_rank. If cut_rank >= n_total the select
/// is done at once and the cut is everything.
class RadixSelect {
 public:
  static constexpr int n_pass = 3;
  RadixSelect(std::uint64_t n_total, std::uint64_t cut_rank);

  bool done() const { return pass_ >= n_pass; }
  int pass() const { return pass_; }
  /// Histogram length of the current pass (2048, 2048, 1024).
  std::size_t n_bin() const;
  /// Adds the keys |x| of a block that share the prefix found so far (hist has n_bin() words).
  void histogram(std::span<const float> values, std::span<std::uint64_t> hist) const;
  /// The same for keys |theta - base| (the task vector, f32 subtraction) without materialising it.
  void histogram_delta(std::span<const float> theta, std::span<const float> base,
                       std::span<std::uint64_t> hist) const;
  /// Consumes the histogram reduced over all blocks; throws moerge::Error if it is inconsistent.
  void narrow(std::span<const std::uint64_t> hist);
  /// The cut, once done().
  RankCut cut() const;

 private:
  std::uint32_t digit_of(std::uint32_t key) const;
  bool matches_prefix(std::uint32_t key) const;

  std::uint64_t n_total_;        // elements matching the prefix found so far
  std::uint64_t rank_left_ = 0;  // 0-based rank of the target among them
  std::uint32_t prefix_ = 0;     // bits found so far (high bits), in place
  int pass_ = 0;
  bool everything_ = false;
};

/// The same select in two passes of 16-bit digits, for the per-tensor engine: pass 0 counts the
/// high half of every key (keys of finite values are below 2^31: 32768 bins), pass 1 the low half
/// of the keys whose high half is the chosen bin (65536 bins). Pass 1's histogram before the
/// reduction also holds this rank's count of elements equal to the cut key (local_ties), which
/// saves the separate tie-counting pass. Counting goes into n_way interleaved 32-bit sub-histograms
/// (consecutive equal keys then do not wait on one counter) that fold() adds into the uint64
/// histogram the engine reduces; the caller folds before any sub-histogram could pass 2^32 - 1.
/// Finds the same RankCut as RadixSelect for the same keys.
class WideRadixSelect {
 public:
  static constexpr int n_pass = 2;
  static constexpr std::size_t n_way = 2;
  WideRadixSelect(std::uint64_t n_total, std::uint64_t cut_rank);

  bool done() const { return pass_ >= n_pass; }
  int pass() const { return pass_; }
  /// Histogram length of the current pass (32768, 65536).
  std::size_t n_bin() const;
  /// Length of the interleaved 32-bit counters of the current pass: n_way * n_bin().
  std::size_t n_counter() const { return n_way * n_bin(); }
  /// Adds the keys |x| of a block that share the prefix found so far to counters (n_counter()).
  void histogram(std::span<const float> values, std::span<std::uint32_t> counters) const;
  /// hist[bin] += the bin's counters over every way; the counters are zeroed.
  void fold(std::span<std::uint32_t> counters, std::span<std::uint64_t> hist) const;
  /// Consumes the histogram reduced over all blocks and ranks; throws moerge::Error if it is
  /// inconsistent.
  void narrow(std::span<const std::uint64_t> hist);
  /// The cut, once done().
  RankCut cut() const;
  /// Once done(): the number of elements equal to the cut key in the blocks that fed
  /// local_pass1_hist, this rank's pass-1 histogram before the reduction (0 when the cut is
  /// everything: no pass ran).
  std::uint64_t local_ties(std::span<const std::uint64_t> local_pass1_hist) const;

 private:
  std::uint64_t n_total_;
  std::uint64_t rank_left_ = 0;
  std::uint32_t prefix_ = 0;
  int pass_ = 0;
  bool everything_ = false;
};

/// Number of keys |x| (or |theta - base|) in a block equal to key: feeds BlockTies.
std::uint64_t count_key(std::span<const float> values, std::uint32_t key);
std::uint64_t count_key_delta(std::span<const float> theta, std::span<const float> base, std::uint32_t key);

/// Serial convenience: the RankCut at cut_rank over one span of values (all passes in-process).
RankCut select_cut(std::span<const float> values, std::uint64_t cut_rank);

// ============================================================================================
// Task-vector methods: sparsify, consensus, combine
// ============================================================================================

enum class SparsifyMethod { none, magnitude, random, magnitude_outliers, della_magprune };
enum class ConsensusMethod { none, sum, count };
/// How a sparsified task vector is rescaled: not at all; divided by the keep probability (DARE
/// paper, PEFT, DELLA paper: density for random, each element's p_keep for della_magprune); or
/// multiplied by L1(original) / L1(masked) over the whole tensor (mergekit's `rescale`).
enum class RescaleMode { none, inverse_density, l1 };

struct SparsifyParams {
  SparsifyMethod method = SparsifyMethod::none;
  double density = 1.0;
  double gamma = 0.01;    // magnitude_outliers
  double epsilon = 0.15;  // della_magprune
  RescaleMode rescale = RescaleMode::none;
};

/// Throws ConfigError naming the parameter and value when params cannot be used.
void validate(const SparsifyParams& params);

/// The kept descending-rank range [upper_begin, upper_end) of a magnitude sparsification of n
/// elements: magnitude keeps [0, int(density * n)); magnitude_outliers keeps
/// [n_top, n_top + int(density * n)) with n_top = int(gamma * n), reduced so the range fits.
/// density >= 1 keeps [0, n). The select needs RadixSelect(n, begin) and RadixSelect(n, end).
struct RankRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};
RankRange magnitude_rank_range(const SparsifyParams& params, std::uint64_t n);

/// What the statistics passes found for one model on one tensor.
struct SparsifyState {
  PhiloxKey key;                         // random, della_magprune
  RankCut upper = RankCut::everything(); // magnitude*: kept = inside upper and not inside lower
  RankCut lower = RankCut::nothing();
  double l1_scale = 1.0;  // RescaleMode::l1 (from l1_rescale_scale)
};

/// Elements of the tensor before this block whose key equals upper.key / lower.key.
struct BlockTies {
  std::uint64_t upper = 0;
  std::uint64_t lower = 0;
};

/// Where a block lies in its tensor: index of its first element, and the row length (della ranks
/// within rows: numel / shape[0] for a matrix, numel for a vector). Blocks hold whole rows.
struct BlockPosition {
  std::uint64_t first_element = 0;
  std::uint64_t row_length = 1;
};

/// out = theta - base (f32), the task vector of a block.
void task_vector(std::span<const float> theta, std::span<const float> base, std::span<float> out);

/// The sparsified task vector of one model on a block (out may alias nothing else):
///   out[e] = f32( tau[e] * keep[e] * scale[e] ), scale from params.rescale.
/// `rescale` false ignores params.rescale (used by the L1 statistics pass).
void sparsify_block(const SparsifyParams& params, const SparsifyState& state, const BlockTies& ties,
                    const BlockPosition& position, std::span<const float> tau, std::span<float> out,
                    bool rescale = true);

/// Statistics for RescaleMode::l1: before += sum |tau|, after += sum |masked tau|.
void add_l1_rescale_stats(const SparsifyParams& params, const SparsifyState& state, const BlockTies& ties,
                          const BlockPosition& position, std::span<const float> tau, ExactSum& before,
                          ExactSum& after);
/// L1(before) / L1(after), or 1 when either is below 1e-7 (mergekit's guard).
double l1_rescale_scale(const ExactSum& before, const ExactSum& after);

struct CombineParams {
  ConsensusMethod consensus = ConsensusMethod::none;
  bool normalize = false;
  double lambda = 1.0;
};

/// base + lambda * mix of the weighted sparsified task vectors, per element in double:
///   W_i = w_i * delta_i; with consensus, elected = +1 where sum_i W_i >= 0 (sum) or
///   sum_i sign(W_i) >= 0 (count), else -1; mask_i = sign(W_i) == elected (zeros never match);
///   mixed = sum W_i mask_i, div = sum w_i mask_i (0 -> 1); without, mixed = sum W_i,
///   div = sum w_i (|div| < 1e-8 -> 1); normalize: mixed /= div; out = f32(base + lambda * mixed).
void combine_block(const CombineParams& params, std::span<const double> weights,
                   std::span<const std::span<const float>> deltas, std::span<const float> base,
                   std::span<float> out);

/// Linear (model soup) on weights theta_i: out = sum w_i theta_i (/ sum w_i if normalize), double.
/// Throws InputError when normalize and |sum w_i| < 1e-8.
void linear_block(std::span<const double> weights, std::span<const std::span<const float>> thetas,
                  bool normalize, std::span<float> out);

/// Global TIES (paper): trimmed_i are the task vectors with |tau| below the model's global
/// threshold zeroed (sparsify_block with RankCut::with_all_ties). Returns sum over the block of
/// elected signs sign(sum_i w_i trimmed_i) in {-1, 0, 1}; the engine sums it over the whole model.
std::int64_t ties_global_sign_sum(std::span<const double> weights,
                                  std::span<const std::span<const float>> trimmed);
/// Applies global TIES: elected = sign(sum_i W_i), or majority_sign (the sign of the reduced sign
/// sum) where that is 0; agreeing_i = elected > 0 ? W_i > 0 : W_i < 0;
/// out = f32(base + lambda * sum agreeing W_i / max(count agreeing, 1)).
void ties_global_block(std::span<const double> weights, std::span<const std::span<const float>> trimmed,
                       int majority_sign, double lambda, std::span<const float> base, std::span<float> out);

// ============================================================================================
// Interpolations: slerp, model_stock, fisher
// ============================================================================================

/// Reducible statistics of slerp between a (the base / first model) and b, whole tensor.
struct SlerpStats {
  ExactSum dot;
  ExactSum norm2_a;
  ExactSum norm2_b;
  void add_block(std::span<const float> a, std::span<const float> b);
  void merge(const SlerpStats& other);
};

/// out = coef_a * a + coef_b * b, per element in double.
struct SlerpCoefficients {
  double coef_a = 1.0;
  double coef_b = 0.0;
  bool lerp = false;  // |cos| > 0.9995: plain linear interpolation
};
/// mergekit's slerp: normalise a and b (norms <= 1e-8 left as is), cos = <a, b> of the normalised
/// vectors; lerp when |cos| > 0.9995, else theta = acos(cos), coef_a = sin((1-t) theta) / sin theta,
/// coef_b = sin(t theta) / sin theta. t = 0 gives a.
SlerpCoefficients slerp_coefficients(double t, const SlerpStats& stats);
void interpolate_block(const SlerpCoefficients& coefficients, std::span<const float> a,
                       std::span<const float> b, std::span<float> out);

/// Reducible statistics of model_stock over one tensor: <tau_i, tau_j> for i <= j, with
/// tau_i = theta_i - base (f32).
class ModelStockStats {
 public:
  explicit ModelStockStats(std::size_t n_model);
  void add_block(std::span<const float> base, std::span<const std::span<const float>> thetas);
  void merge(const ModelStockStats& other);
  std::size_t n_model() const { return n_model_; }
  /// Every ExactSum, for the engine to reduce (each through its limbs()).
  std::span<ExactSum> sums() { return sums_; }
  const ExactSum& dot(std::size_t model_a, std::size_t model_b) const;

 private:
  std::size_t n_model_;
  std::vector<ExactSum> sums_;  // upper triangle incl. diagonal, row by row
};

/// t = N c / (1 + (N - 1) c), c = mean over pairs i < j of clamp(<tau_i, tau_j> /
/// max(|tau_i| |tau_j|, 1e-6), -1, 1) (mergekit). Needs N >= 2.
double model_stock_t(const ModelStockStats& stats);
/// out = t * mean(theta_i) + (1 - t) * base, per element in double.
void model_stock_block(double t, std::span<const float> base, std::span<const std::span<const float>> thetas,
                       std::span<float> out);
/// filter_wise: the same with c and t computed per row of row_length elements (rows are whole in a
/// block, so no statistics pass is needed; dot products in double, element order).
void model_stock_rows_block(std::span<const float> base, std::span<const std::span<const float>> thetas,
                            std::uint64_t row_length, std::span<float> out);

/// Fisher merging: out = sum_i c_i F'_i theta_i / sum_i c_i F'_i with F'_i = max(F_i, floor),
/// c_i = l_i / norm_i (norm_i = 1, or sqrt(sum F_i^2) over the whole model when normalising:
/// reduce an ExactSum::add_squares over every Fisher tensor of the model).
void fisher_block(std::span<const double> coefficients, std::span<const std::span<const float>> thetas,
                  std::span<const std::span<const float>> fishers, double floor, std::span<float> out);

// ============================================================================================
// RegMean (per linear layer, y = x W^T, W is [d_out, d_in] row-major)
// ============================================================================================

/// W = (sum_i W_i G'_i) (sum_i G'_i)^-1 with G'_i = alpha G_i + (1 - alpha) diag(G_i), i.e. each
/// output row is solved independently, so the engine feeds row blocks. The summed Gram matrix is
/// factorised once (Cholesky, double). The Gram spans must outlive the solver.
class RegmeanSolver {
 public:
  /// grams: one [d_in, d_in] row-major symmetric matrix per model. Throws InputError when the
  /// summed matrix is not positive definite.
  RegmeanSolver(std::span<const std::span<const float>> grams, std::size_t d_in, double alpha);
  /// weights: one [n_row, d_in] row-major block per model (the same rows); out: [n_row, d_in].
  void apply(std::span<const std::span<const float>> weights, std::size_t n_row, std::span<float> out) const;
  std::size_t d_in() const { return d_in_; }

 private:
  std::vector<std::span<const float>> grams_;
  std::size_t d_in_;
  double alpha_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
};

// ============================================================================================
// LoRA factor algebra (PEFT: A is [r, d_in], B is [d_out, r], delta W = s B A)
// ============================================================================================

/// One LoRA input: a [rank, d_in], b [d_out, rank], row-major; scale = merge weight * s.
struct LoraInput {
  std::span<const float> a;
  std::span<const float> b;
  std::size_t rank = 0;
  double scale = 1.0;
};

/// A LoRA result: a [rank, d_in], b [d_out, rank], row-major; delta W = b a (scale 1: write
/// lora_alpha = rank, use_rslora false).
struct LoraFactors {
  std::vector<float> a;
  std::vector<float> b;
  std::size_t rank = 0;
  std::size_t d_in = 0;
  std::size_t d_out = 0;
};

/// Rows [n_row, d_in] of delta W for a row block of B (b_rows is [n_row, rank]):
/// out = scale * b_rows a, f32 GEMM. With accumulate, out += instead of out =.
void lora_delta_rows(std::span<const float> b_rows, std::span<const float> a, std::size_t rank,
                     std::size_t d_in, double scale, std::span<float> out, bool accumulate = false);

/// Exact concatenation: a = [a_1; ...; a_N], b = [c_1 b_1, ..., c_N b_N], rank = sum r_i, so that
/// b a = sum_i c_i b_i a_i.
LoraFactors lora_cat(std::span<const LoraInput> inputs, std::size_t d_in, std::size_t d_out);

/// Truncated SVD of sum_i c_i b_i a_i to `rank` (QR of the concatenated factors, SVD of the small
/// core, double): b = U_k S_k, a = V_k^T (PEFT's svd convention), singular vectors signed so the
/// largest-magnitude entry of each column of U (first on ties) is positive. `rank` is capped at
/// sum r_i.
LoraFactors lora_svd(std::span<const LoraInput> inputs, std::size_t d_in, std::size_t d_out, std::size_t rank);

}  // namespace moerge::merge
